"""Chapter 07's widget, pressed from Python: each setting trains once, redraws, and shows what critics.fit_d makes."""

import torch

from gancourse.diagnostics import lipschitz
from gancourse.models import mlp
from gancourse.theory.critics import ShiftGenerator, fit_d
from gancourse.training.seeds import init_models
from gancourse.widgets.critic import CriticExplorer


def _explorer(**kwargs):
    return CriticExplorer(steps=20, width=16, depth=2, batch_size=64, lr=1e-3, device="cpu", **kwargs)


def test_the_first_view_is_a_clipped_critic_with_its_weights_at_the_bounds():
    explorer = _explorer(c=0.01)
    assert explorer.view.n_draws == 1 and explorer.view.png
    assert set(explorer.states) == {("clipping", 0.01)}
    state = explorer.state()
    assert max(p.abs().max().item() for p in state.D.parameters()) <= 0.01 + 1e-7
    assert state.share_at_c == lipschitz.share_at_bounds(state.D, 0.01).item() and state.share_at_c > 0.5
    assert "clipping, c = 0.01" in explorer.message.text and f"{state.w_estimate:.3f}" in explorer.message.text


def test_the_critic_shown_is_the_one_fit_d_trains_for_that_setting():
    explorer = _explorer(constraint="penalty", gp_weight=10.0)
    _, D = init_models(0, torch.nn.Identity, lambda: mlp.MLPDiscriminator(width=16, depth=2, activation="relu"))
    fit_d(ShiftGenerator(torch.eye(2), torch.zeros(2)), D, lambda n, g: explorer.grid.sample(n, g),
          lambda n, g: explorer.grid.sample(n, g) + torch.randn(n, 2, generator=g), 20, gp_weight=10.0, lr=1e-3,
          batch_size=64, device="cpu")
    for a, b in zip(explorer.state().D.parameters(), D.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert explorer.state().share_at_c is None and "penalty, lambda = 10" in explorer.message.text


def test_switching_and_moving_train_new_settings_and_going_back_costs_nothing():
    explorer = _explorer(c=0.01)
    first = explorer.view.png
    explorer.constraint.value = "penalty"
    assert explorer.setting() == ("penalty", 10.0) and explorer.view.n_draws == 2 and explorer.view.png != first
    explorer.c.value = 0.1  # the clipping slider while the penalty is shown: redraws the same critic
    assert explorer.view.n_draws == 3 and set(explorer.states) == {("clipping", 0.01), ("penalty", 10.0)}
    explorer.constraint.value = "clipping"
    assert explorer.setting() == ("clipping", 0.1) and len(explorer.states) == 3
    kept = explorer.states[("clipping", 0.01)]
    explorer.c.value = 0.01
    assert explorer.states[("clipping", 0.01)] is kept and explorer.view.n_draws == 5
    # a wider box lets the weights grow: fewer of them sit at the bound than at c = 0.01
    assert explorer.states[("clipping", 0.1)].share_at_c < kept.share_at_c


def test_a_bad_setting_shows_gancourses_message_and_the_widget_keeps_working():
    explorer = _explorer(c=0.01)
    draws = explorer.view.n_draws
    explorer.steps = 0  # an impossible run: fit_d refuses it
    explorer.constraint.value = "penalty"
    assert "steps must be an int >= 1" in explorer.message.text and explorer.view.n_draws == draws
    explorer.steps = 20
    explorer.gp_weight.value = 1.0
    assert explorer.view.n_draws == draws + 1 and "lambda = 1" in explorer.message.text
