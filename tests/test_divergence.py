"""Training that explodes without NaN is stopped by the engine as "diverging" and named by the health monitor;
healthy runs (several seeds, several losses, WGAN-GP) are never flagged.

Before issue 11 a run at lr=10 ended with G's loss near 1e10 and no word; the NaN check only
caught values that had already overflowed. Both sides of the rule are tested: the runs built to
fail are stopped, and the healthy runs' largest values stay far below the limits
(:data:`gancourse.diagnostics.health.EXPLODE_LIMITS`), so the margin is visible, not only the verdict.
"""

from __future__ import annotations

import pytest
import torch

from gancourse import datasets
from gancourse.diagnostics.health import EXPLODE_LIMITS, EXPLODE_ROWS, HealthMonitor, explosion
from gancourse.models import mlp
from gancourse.training import TrainConfig, TrainingDiverged, train, train_seeds
from gancourse.training.history import History
from gancourse.training.seeds import init_models

RING = datasets.ring()


def _largest_medians(history: History) -> dict[str, float]:
    """Per watched record, the largest median |value| over any EXPLODE_ROWS consecutive steps, over all seeds."""
    out = {}
    for key in EXPLODE_LIMITS:
        values = history[key].abs()
        values = values[:, None] if values.dim() == 1 else values
        out[key] = float(values.unfold(0, EXPLODE_ROWS, 1).median(-1).values.max())
    return out


HEALTHY = {
    "non_saturating": dict(loss="non_saturating", lr_d=1e-3, lr_g=1e-3),
    "minimax": dict(loss="minimax", lr_d=1e-3, lr_g=1e-3),
    "hinge": dict(loss="hinge", lr_d=1e-3, lr_g=1e-3),
    "least_squares": dict(loss="least_squares", lr_d=1e-3, lr_g=1e-3),
    "wgan_gp": dict(loss="wasserstein", n_critic=5, gp_weight=10.0, lr_d=1e-4, lr_g=1e-4, betas=(0.5, 0.9)),
    "wgan_clip": dict(loss="wasserstein", n_critic=5, clip_value=0.01, lr_d=5e-5, lr_g=5e-5),
}


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_runs_over_four_seeds_are_never_flagged(name):
    options = HEALTHY[name]
    steps = 150 if options.get("n_critic", 1) > 1 else 500
    monitor = HealthMonitor(verbose=False)
    config = TrainConfig(steps=steps, batch_size=64, log_every=100, progress=False, **options)
    result = train_seeds([0, 1, 2, 3], lambda: mlp.MLPGenerator(width=64), lambda: mlp.MLPDiscriminator(width=64),
                         RING.sample, config, callback=monitor, device="cpu")  # would raise if flagged
    assert "diverging" not in {s.name for s in monitor.symptoms}
    largest = _largest_medians(result.history)
    for key, value in largest.items():  # the margin: healthy values stay 30x or more below every limit
        assert value < EXPLODE_LIMITS[key] / 30, (key, value)


@pytest.mark.parametrize("setup, options", [
    ("chapter 00's GAN at lr=10", dict(batch_size=256, lr_d=10.0, lr_g=10.0)),
    ("the same at lr=1", dict(batch_size=256, lr_d=1.0, lr_g=1.0)),
    ("clipped WGAN at lr=1e3", dict(batch_size=256, loss="wasserstein", n_critic=5, clip_value=0.01, lr_d=1e3,
                                    lr_g=1e3)),
])
def test_runs_built_to_fail_are_stopped_as_diverging_and_named_by_the_monitor(setup, options):
    G, D = init_models(0, lambda: mlp.MLPGenerator(), lambda: mlp.MLPDiscriminator())
    monitor = HealthMonitor(verbose=False)
    with pytest.raises(TrainingDiverged) as info:
        train(G, D, RING.sample, TrainConfig(steps=1000, log_every=100, progress=False, **options),
              callback=monitor, device="cpu")
    message = str(info.value)
    assert info.value.step < 1000, setup
    if "non-finite" in message:  # overflowed to Inf/NaN within a flush: the NaN check's case
        pytest.fail(f"{setup}: expected an explosion without NaN, got: {message}")
    assert "training is diverging" in message and "lower the learning rates" in message, message
    assert info.value.key in EXPLODE_LIMITS
    names = [s.name for s in monitor.symptoms]
    assert names == ["diverging"], (setup, names)
    assert "lower the learning rates" in monitor.symptoms[0].message and "chapter 04" in monitor.symptoms[0].message


def test_a_sustained_explosion_counts_even_if_it_comes_back_down_a_spike_does_not():
    rows, seeds = 60, 4
    records = {k: torch.ones(rows, seeds) for k in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm",
                                                       "g_grad_norm")}
    records["d_grad_norm"][30, 0] = 1e9  # seed 0: one spike
    records["d_loss"][20:26, 1] = 5e3  # seed 1: 6 steps in a row above 1e3, then back to 1 (a clipped WGAN at lr=1e3)
    records["d_loss"][20:24, 2] = 5e3  # seed 2: 4 steps in a row: fewer than half of a 10-step window
    records["g_grad_norm"][50:, 3] = 2e5  # seed 3: the last 10 steps, above G's gradient-norm limit of 1e5
    found = explosion(History.from_dict(records))
    assert found.exploding.tolist() == [False, True, False, True]
    assert (found.keys[1], float(found.peak[1]), float(found.start[1]), int(found.step[1])) == ("d_loss", 5e3, 1.0, 25)
    # torch's median of 10 values is the 5th smallest: a window counts once 6 of its 10 steps are above
    assert (found.keys[3], int(found.step[3])) == ("g_grad_norm", 55)
    # the engine looks only at windows that end in the rows new since its last check
    assert explosion(History.from_dict(records), since=40).exploding.tolist() == [False, False, False, True]
    symptoms = HealthMonitor(window=60).check(History.from_dict(records))
    assert [(s.name, s.seeds, s.step) for s in symptoms] == [("diverging", (1, 3), 25)]
    assert "seed 1: D's loss (d_loss) reached 5e+03" in symptoms[0].message


def test_the_explosion_check_reads_flushed_rows_only_so_a_flush_every_100_steps_catches_it_at_step_100():
    G, D = init_models(0, lambda: mlp.MLPGenerator(), lambda: mlp.MLPDiscriminator())
    with pytest.raises(TrainingDiverged) as info:
        train(G, D, RING.sample, TrainConfig(steps=1000, batch_size=256, lr_d=10.0, lr_g=10.0, log_every=100,
                                             progress=False), device="cpu")
    assert info.value.step < 100  # found at the first flush (step 100); before it nothing is read on the host
