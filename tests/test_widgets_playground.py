"""The playground, pressed from Python: buttons train the right number of steps, views redraw, Reset restores the
initial weights exactly, bad values show the engine's message and the widget goes on working."""

from __future__ import annotations

import dataclasses
import io

import ipywidgets as W
import pytest
import torch
from PIL import Image
from torch import nn

from gancourse.losses import ONE_GENERATOR_LOSSES
from gancourse.widgets.panels import CurvePanels, FieldPanels
from gancourse.widgets.playground import Playground, playground
from gancourse.widgets.scenarios import SCENARIOS
from gancourse.widgets.session import Session, Settings
from gancourse.widgets.view import figure_png

SMALL = Settings(width=16, depth=1, batch_size=32)


def small(**changes) -> Playground:
    pg = playground(dataclasses.replace(SMALL, **changes), steps_per_frame=3)
    pg.min_gap = 0.0  # ticks in a test come back to back; none of them is a queued-up one
    return pg


def weights(session: Session) -> list[torch.Tensor]:
    return [t.detach().clone() for run in session.runs for net in (run.G, run.D) for t in net.state_dict().values()]


def test_build_shows_every_part_and_draws_the_first_view():
    pg = small()
    assert isinstance(pg, W.VBox)
    assert pg.session.step == 0 and pg.field_view.n_draws == 1 and pg.curves_view.n_draws == 1
    assert pg.field_view.png.startswith(b"\x89PNG") and pg.curves_view.png.startswith(b"\x89PNG")
    assert "G step 0" in pg.status.value
    assert set(pg.controls) == {f.name for f in dataclasses.fields(Settings)} - {"z_dim"}
    picture = Image.open(io.BytesIO(pg.picture()))  # the static page's picture: the plane above the curves
    field, curves = (Image.open(io.BytesIO(png)) for png in (pg.field_view.png, pg.curves_view.png))
    assert picture.size == (max(field.width, curves.width), field.height + curves.height)


def test_step_trains_one_frame_of_steps_and_redraws():
    pg = small()
    before = pg.field_view.png
    pg.step_button.click()
    pg.step_button.click()
    assert pg.session.step == 6 and len(pg.session.runs[0].history) == 6
    assert pg.field_view.n_draws == 3 and pg.curves_view.n_draws == 3
    assert pg.field_view.png != before
    assert "G step 6" in pg.status.value
    pg.slow_button.value = True  # slow motion: one G step per frame
    pg.step_button.click()
    assert pg.session.step == 7


def test_play_trains_on_every_tick_until_pause():
    pg = small()
    pg.play_button.click()
    assert pg.playing and pg.ticker.playing
    for _ in range(4):
        pg.ticker.value += 1  # what the front-end ticker sends while playing
    assert pg.session.step == 12 and pg.field_view.n_draws == 5
    pg.pause_button.click()
    assert not pg.playing and not pg.ticker.playing
    pg.ticker.value += 1  # a tick that was already on its way when Pause was pressed
    assert pg.session.step == 12


def test_ticks_that_queued_up_during_a_frame_are_skipped():
    pg = small()
    pg.play_button.click()
    pg.min_gap = 60.0  # as if the last frame ended just now, well within the ticker's interval
    pg.ticker.value += 1
    assert pg.session.step == 0
    pg.min_gap = 0.0
    pg.ticker.value += 1
    assert pg.session.step == 3


def test_reset_restores_the_initial_weights_exactly():
    pg = small(n_seeds=2)
    initial = weights(pg.session)
    for _ in range(3):
        pg.step_button.click()
    assert any(not torch.equal(a, b) for a, b in zip(initial, weights(pg.session), strict=True))
    pg.reset_button.click()
    assert pg.session.step == 0 and len(pg.session.runs[0].history) == 0
    assert all(torch.equal(a, b) for a, b in zip(initial, weights(pg.session), strict=True))
    # the same as a fresh experiment with those settings
    assert all(torch.equal(a, b) for a, b in zip(weights(Session(pg.settings())), initial, strict=True))


@pytest.mark.parametrize("name, value, message", [
    ("lr_d", -1e-3, "TrainConfig.lr_d must be a number > 0"),
    ("n_critic", 0, "TrainConfig.n_critic must be an int >= 1"),
    ("label_smoothing", 1.5, "TrainConfig.label_smoothing must be a number in"),
    ("width", 0, "width >= 1"),
    ("pack", 0, "pack"),
])
def test_a_bad_value_shows_the_engines_message_and_the_widget_goes_on(name, value, message):
    pg = small()
    pg.step_button.click()
    lr_d = pg.session.runs[0].opt_d.param_groups[0]["lr"]
    pg.controls[name].value = value  # no exception reaches the front-end
    assert message in pg.errors.text and "Not applied" in pg.errors.text
    pg.step_button.click()  # the experiment goes on with the previous value
    assert pg.session.step == 6 and pg.session.runs[0].opt_d.param_groups[0]["lr"] == lr_d
    pg.controls[name].value = getattr(SMALL, name)
    assert pg.errors.text == ""


def test_learning_rates_and_loss_apply_to_the_running_experiment_other_settings_start_a_new_one():
    pg = small()
    pg.step_button.click()
    pg.controls["lr_g"].value = 1e-4
    pg.controls["loss"].value = "hinge"
    assert pg.session.step == 3  # the same experiment, going on
    assert pg.session.runs[0].opt_g.param_groups[0]["lr"] == 1e-4 and pg.session.runs[0].config.loss == "hinge"
    pg.controls["data"].value = "grid"
    assert pg.session.step == 0 and pg.session.data.name == "grid"
    assert pg.field_view.n_draws == 3  # the new experiment's first view


def test_seeds_side_by_side_stacked_or_one_run_each():
    pg = small(n_seeds=3)
    assert pg.session.seeds == [0, 1, 2] and len(pg.session.runs) == 1  # one stacked run
    pg.step_button.click()
    assert pg.session.history("d_loss").shape == (3, 3)
    pg.controls["spectral_norm"].value = True  # spectral norm cannot be stacked: one run per seed
    assert len(pg.session.runs) == 3
    pg.step_button.click()
    assert pg.session.history("d_loss").shape == (3, 3) and pg.session.samples(10).shape == (3, 10, 2)


@pytest.mark.parametrize("changes", [{"loss": loss} for loss in ONE_GENERATOR_LOSSES] + [
    {"gp_weight": 10.0}, {"r1_weight": 1.0}, {"clip_value": 0.01, "loss": "wasserstein"}, {"instance_noise": 0.2},
    {"label_smoothing": 0.1}, {"pack": 2}, {"unrolled_steps": 2}, {"minibatch_discrimination": True},
    {"spectral_norm": True}, {"data": "two_lines"}],
    ids=lambda changes: "-".join(f"{k}={v}" for k, v in changes.items()))
def test_every_loss_and_fix_trains_and_the_drawing_copes(changes):
    session = Session(dataclasses.replace(SMALL, n_seeds=2, **changes))
    session.advance(3)
    assert session.step == 3 and len(session.measurements.steps) == 2
    field, curves = FieldPanels(session), CurvePanels(session)
    assert figure_png(field.update()).startswith(b"\x89PNG") and figure_png(curves.update()).startswith(b"\x89PNG")


def test_a_diverged_run_stops_playing_and_shows_the_engines_message():
    pg = small(lr_d=1e30, lr_g=1e30)
    pg.steps_per_frame.value = 20
    pg.play_button.click()
    for _ in range(3):
        pg.ticker.value += 1
    assert "TrainingDiverged" in pg.errors.text and "lower the learning rates" in pg.errors.text
    assert not pg.playing and not pg.ticker.playing
    assert "diverged" in pg.health.text.lower()
    pg.controls["lr_d"].value = 1e-3
    pg.controls["lr_g"].value = 1e-3
    pg.reset_button.click()  # and after Reset it trains again
    pg.step_button.click()
    assert pg.session.step == 20 and pg.errors.text == ""


def test_a_learners_own_G_and_D_train_and_the_width_controls_step_aside():
    def make_G():
        return nn.Sequential(nn.Linear(2, 16), nn.ELU(), nn.Linear(16, 2))

    def make_D(width=16):  # a default argument is not the settings: make_D() is called
        return nn.Sequential(nn.Linear(2, width), nn.ELU(), nn.Linear(width, 1))

    pg = playground(dataclasses.replace(SMALL, n_seeds=2), make_G=make_G, make_D=make_D, steps_per_frame=2)
    assert pg.controls["width"].disabled and pg.controls["g_activation"].disabled
    assert len(pg.session.runs) == 2  # nn.Sequential has no stack(): one run per seed
    pg.step_button.click()
    assert pg.session.step == 2 and isinstance(pg.session.runs[0].G, nn.Sequential)
    with pytest.raises(TypeError, match="make_G / make_D must be functions"):
        playground(make_G=nn.Linear(2, 2))


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_a_scenario_sets_the_controls_and_starts_from_its_settings(key):
    pg = small()
    pg.step_button.click()
    pg.scenario.value = key
    expected = SCENARIOS[key].settings
    assert pg.settings() == dataclasses.replace(expected, z_dim=pg.settings().z_dim)
    assert pg.session.step == 0 and pg.session.settings == expected
    assert "Watch:" in pg.scenario_text.value
