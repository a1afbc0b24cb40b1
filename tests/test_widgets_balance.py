"""Chapter 04's widget, driven from Python: sliders reach the optimizers, Train advances and redraws, errors show."""

import math

import pytest
import torch

from gancourse.widgets.balance import TRACK_EVERY, BalanceLab, BalanceSession


def _adam_steps(opt):
    return {int(state["step"]) for state in opt.state.values()}


def test_a_session_trains_in_chunks_with_settings_changed_between_them():
    session = BalanceSession(seed=0, d_depth=1)
    session.advance(20)
    assert session.steps == 20 and _adam_steps(session.opt_d) == {20} and _adam_steps(session.opt_g) == {20}
    session.set(lr_d=4e-3, n_critic=3)
    session.advance(10)
    assert _adam_steps(session.opt_d) == {20 + 3 * 10} and _adam_steps(session.opt_g) == {30}  # k D steps per G step
    assert all(group["lr"] == 4e-3 for group in session.opt_d.param_groups)
    assert all(group["lr"] == 1e-3 for group in session.opt_g.param_groups)  # lr_g kept its value
    h = session.history()
    assert all(len(h[k]) == 30 for k in ("d_loss", "g_loss", "d_real", "d_fake"))
    assert h["centre"].shape == (30 // TRACK_EVERY, 2)
    with torch.no_grad():  # the centre is the mean of G's samples on the fixed z batch, as now
        torch.testing.assert_close(h["centre"][-1], session.G(session.z_fixed).mean(0))
    with pytest.raises(ValueError, match="TrainConfig.n_critic must be an int >= 1"):
        session.set(n_critic=0)
    with pytest.raises(ValueError, match="n_steps must be an int >= 1"):
        session.advance(0)
    with pytest.raises(ValueError, match="D's depth must be 1 or 3"):
        BalanceSession(d_depth=2)


def test_the_same_seed_and_settings_give_the_same_run_however_it_is_chunked():
    a, b = BalanceSession(seed=3), BalanceSession(seed=3)
    a.advance(30)
    for _ in range(3):
        b.advance(10)
    torch.testing.assert_close(a.history()["g_loss"], b.history()["g_loss"], rtol=0, atol=0)


def test_the_widget_trains_on_click_redraws_and_reports():
    lab = BalanceLab(seed=1)
    first_png, draws = lab.view.png, lab.view.n_draws
    assert lab.session.steps == 0 and "untrained" in lab.message.text
    lab.chunk.value = 50
    lab.lr_g.value = 2.5e-4
    lab.n_critic.value = 2
    lab.train_button.click()
    assert lab.session.steps == 50 and lab.view.n_draws == draws + 1 and lab.view.png != first_png
    assert lab.session.config.n_critic == 2 and lab.session.config.lr_g == pytest.approx(2.5e-4)
    assert _adam_steps(lab.session.opt_d) == {100}
    assert lab.message.text.startswith("step 50:") and "modes covered" in lab.message.text
    assert "swung by" in lab.message.text  # 50 steps give 10 centres: enough to measure a swing
    lab.train_button.click()
    assert lab.session.steps == 100
    lab.reset_button.click()
    assert lab.session.steps == 0 and lab.view.n_draws == draws + 3
    lab.d_depth.value = list(lab.d_depth.options)[1]  # a deeper D: a new GAN
    assert lab.session.d_depth == 3 and lab.session.steps == 0


def test_a_bad_value_and_a_diverged_run_show_as_messages():
    lab = BalanceLab(seed=2)
    lab.message.guard(lab.train)(0)
    assert lab.message.text.startswith("ValueError: n_steps must be an int >= 1")
    with torch.no_grad():
        next(lab.session.D.parameters()).fill_(math.nan)
    lab.chunk.value = 50
    lab.train_button.click()
    assert lab.message.text.startswith("TrainingDiverged: training diverged")
    assert "lower the learning rates" in lab.message.text
    lab.reset_button.click()  # the widget keeps working
    lab.train_button.click()
    assert lab.session.steps == 50 and "modes covered" in lab.message.text
