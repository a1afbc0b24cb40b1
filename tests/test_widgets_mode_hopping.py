"""Chapter 03's widget, pressed from Python: the scrubber redraws what the chosen snapshot holds, the live run
trains the chosen unroll depth chunk by chunk, and a bad value shows a message instead of a traceback."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from gancourse import datasets
from gancourse.diagnostics.snapshots import Snapshots
from gancourse.metrics.hopping import mode_shares_over_time
from gancourse.models import mlp
from gancourse.training import TrainConfig, train
from gancourse.training.seeds import init_models
from gancourse.widgets.mode_hopping import Film, LiveRun, film_from, mode_hopping_widget

RING = datasets.ring(radius=2.0, std=0.02)


def hopping_film() -> Film:
    """Two seeds, four snapshots: seed 0 sits on mode t at snapshot t, seed 1 covers every mode."""
    gen = torch.Generator().manual_seed(0)
    samples = torch.stack([torch.stack([RING.centers[t].expand(40, 2) + 0.01 * torch.randn(40, 2, generator=gen),
                                        RING.centers.repeat(5, 1)]) for t in range(4)])  # (4, 2, 40, 2)
    shares = mode_shares_over_time(samples, RING.centers, RING.std, within=None)
    return Film("plain GAN", torch.tensor([0, 10, 20, 30]), samples, shares)


def make_live(k: int, order: int) -> LiveRun:
    config = TrainConfig(steps=1, batch_size=16, unrolled_steps=k, unroll_order=order, seed=3, lr_d=1e-3,
                         lr_g=1e-3, progress=False)
    return LiveRun(lambda: mlp.MLPGenerator(z_dim=4, width=16, depth=1),
                   lambda: mlp.MLPDiscriminator(width=16, depth=1), RING.sample, config,
                   torch.randn(50, 4, generator=torch.Generator().manual_seed(1)), every=2)


def test_the_scrubber_shows_the_chosen_snapshot_and_seed():
    widget = mode_hopping_widget([hopping_film()], RING.centers)
    assert widget.view.n_draws == 1 and widget.view.png.startswith(b"\x89PNG")
    assert widget.step.max == 3 and widget.play.max == 3
    first = widget.view.png
    widget.step.value = 2
    assert widget.view.n_draws == 2 and widget.view.png != first
    fig = widget.figure()
    assert "step 20" in fig.axes[0].get_title() and "mode 2 holds half" in fig.axes[0].get_title()
    fig.clf()
    widget.seed.value = 1
    fig = widget.figure()
    assert "8 modes hold >= 5%" in fig.axes[0].get_title() and "no mode holds half" in fig.axes[0].get_title()
    # the orange points drawn are that seed's samples at that snapshot
    assert torch.equal(torch.as_tensor(fig.axes[0].collections[1].get_offsets()).float(),
                       hopping_film().samples[2, 1])
    fig.clf()


def test_the_live_run_trains_the_chosen_depth_in_chunks():
    widget = mode_hopping_widget([hopping_film()], RING.centers, make_live=make_live, live_steps=4)
    widget.depth.value, widget.order.value = 2, 2
    draws = widget.view.n_draws
    widget.train_button.click()
    assert widget.live.step == 4 and widget.live.config.unrolled_steps == 2 and widget.live.config.unroll_order == 2
    assert widget.run.value == "live: k=2, order 2" and widget.step.value == 2  # snapshots at steps 0, 2, 4
    assert widget.view.n_draws > draws and "4 G steps trained" in widget.message.text
    weights = [p.detach().clone() for p in widget.live.G.parameters()]
    widget.train_button.click()
    assert widget.live.step == 8 and widget.film.steps.tolist() == [0, 2, 4, 6, 8]
    assert any(not torch.equal(a, b) for a, b in zip(weights, widget.live.G.parameters(), strict=True))
    # the recorded run is still there to compare with
    assert set(widget.run.options) == {"plain GAN", "live: k=2, order 2"}
    # reset with another depth: a fresh run, from the same initial weights
    widget.depth.value, widget.order.value = 0, 1
    widget.reset_button.click()
    assert widget.live.step == 0 and widget.run.value == "live: plain GAN"
    assert set(widget.run.options) == {"plain GAN", "live: plain GAN"}
    fresh = make_live(0, 1)
    assert all(torch.equal(a, b) for a, b in zip(fresh.G.parameters(), widget.live.G.parameters(), strict=True))


def test_a_bad_value_shows_a_message_and_the_widget_keeps_working():
    widget = mode_hopping_widget([hopping_film()], RING.centers, make_live=make_live, live_steps=4)
    widget.chunk.value = 0
    widget.train_button.click()
    assert "steps per click must be an int >= 1" in widget.message.text
    widget.chunk.value = 2
    widget.train_button.click()
    assert widget.live.step == 2 and "2 G steps trained" in widget.message.text


def test_live_run_matches_snapshots_and_checks_its_input():
    run = make_live(0, 1)
    run.advance(4)
    assert run.snapshots.steps.tolist() == [0, 2, 4]
    with torch.no_grad():
        assert torch.equal(run.snapshots.samples()[-1], run.G.eval()(run.snapshots.z))
    # the reference: one uninterrupted train() of the same seed and config, recorded at the same steps
    reference = Snapshots(run.snapshots.z)
    G, D = init_models(3, lambda: mlp.MLPGenerator(z_dim=4, width=16, depth=1),
                       lambda: mlp.MLPDiscriminator(width=16, depth=1))
    reference.record(0, G)
    train(G, D, RING.sample, replace(run.config, steps=4, log_every=2), seeds=[3], callback=reference, device="cpu")
    assert reference.steps.tolist() == [0, 2, 4]
    torch.testing.assert_close(run.snapshots.samples(), reference.samples())
    with pytest.raises(ValueError, match="every"):
        LiveRun(mlp.MLPGenerator, mlp.MLPDiscriminator, RING.sample, TrainConfig(), torch.randn(3, 2), every=0)
    with pytest.raises(ValueError, match="at least one"):
        mode_hopping_widget([], RING.centers)


def test_film_from_snapshots_and_film_checks():
    snaps = Snapshots(torch.randn(2, 30, 2))
    G = mlp.MLPGenerator.stack([mlp.MLPGenerator(), mlp.MLPGenerator()])
    snaps.record(0, G)
    snaps.record(5, G)
    film = film_from("x", snaps, RING.centers)
    assert film.samples.shape == (2, 2, 30, 2) and film.shares.shape == (2, 2, 8)
    torch.testing.assert_close(film.shares.sum(-1), torch.ones(2, 2))  # every sample counts for its nearest mode
    assert film.seed_names == ["seed 0", "seed 1"]
    with pytest.raises(ValueError, match="disagree"):
        Film("bad", torch.tensor([0]), film.samples, film.shares)
