"""Checkpoint scoring: FID, class histogram, fixed-noise grid and losses per checkpoint, recomputed independently."""

import math

import pytest
import torch

from gancourse.metrics import FIDScorer, class_histogram, kl_to_uniform, load_classifier
from gancourse.metrics.scoring import (
    CheckpointScorer,
    make_fid_scorer,
    sample_images,
    stack_runs,
    train_scored,
    train_scored_seeds,
)
from gancourse.models.fashion_dcgan import fashion_dcgan
from gancourse.training.history import History


@pytest.fixture(scope="module")
def real_and_scorer():
    g = torch.Generator().manual_seed(0)
    # a stand-in "data set": blurred noise in [-1, 1] (the scorer only needs images of the right shape)
    real = torch.nn.functional.avg_pool2d(torch.rand(300, 1, 28, 28, generator=g) * 2 - 1, 3, 1, 1)
    return real, FIDScorer(real[:200])


def _setup(real, seed, steps=20):
    return fashion_dcgan(seed=seed, width=8, data=real, device="cpu", steps=steps, log_every=5)


def test_checkpoints_fall_every_k_steps_and_at_the_end(real_and_scorer):
    real, fid_scorer = real_and_scorer
    setup = _setup(real, seed=1, steps=23)
    scorer = CheckpointScorer(fid_scorer, every=10, z_dim=64, n_samples=50, n_fixed=8, seed=1)
    run = train_scored(setup, scorer, device="cpu")
    assert scorer.steps.tolist() == [0, 10, 20, 23]
    assert run.images_seen == 23 * 64 and run.train_seconds > 0 and run.images_per_s > 0
    assert setup.config.log_every == 5  # the caller's config is not changed


def test_scores_equal_an_independent_recomputation(real_and_scorer):
    real, fid_scorer = real_and_scorer
    scorer = CheckpointScorer(fid_scorer, every=10, z_dim=64, n_samples=60, n_fixed=16, seed=2)
    run = train_scored(_setup(real, seed=2), scorer, device="cpu")
    G = run.result.G
    z = torch.randn(60, 64, generator=torch.Generator().manual_seed(2))  # the scorer's z, drawn the same way
    torch.testing.assert_close(scorer.fixed_noise, z[:16])
    with torch.no_grad():
        x = G.eval()(z)  # the last checkpoint is the trained G
    G.train()
    torch.testing.assert_close(scorer.grids[-1], x[:16])
    reference = FIDScorer(real[:200])(x)
    assert scorer.fid[-1].item() == pytest.approx(reference, rel=1e-4)
    hist = class_histogram(x, load_classifier())
    torch.testing.assert_close(scorer.histograms[-1], hist)
    assert scorer.class_kl[-1].item() == pytest.approx(kl_to_uniform(hist))
    # losses: the mean of the history rows of each window (0, 10] and (10, 20]; none before step 0
    history = run.result.history
    for key in ("g_loss", "d_loss", "d_real"):
        series = scorer.losses[key]
        assert math.isnan(series[0])
        assert series[1].item() == pytest.approx(history[key][:10].double().mean().item())
        assert series[2].item() == pytest.approx(history[key][10:20].double().mean().item())
    # the grids change between checkpoints (G learns) but use the same z
    assert not torch.equal(scorer.grids[0], scorer.grids[-1])
    table = scorer.to_dict()
    assert table["grid"].shape == (3, 16, 1, 28, 28) and table["histogram"].shape == (3, 10)
    assert set(table) >= {"step", "fid", "class_kl", "g_loss", "d_loss"}


def test_checkpoint_taken_at_the_first_flush_past_it():
    scorer = CheckpointScorer.__new__(CheckpointScorer)  # only the schedule is tested here
    scorer.every, scorer.final_step, scorer.checkpoints = 10, 35, []
    due = []
    for step in range(3, 36, 3):  # flushes every 3 steps: 3, 6, ..., 33, then the end
        if scorer.due(step):
            due.append(step)
            scorer.checkpoints.append(type("C", (), {"step": step})())
    if scorer.due(35):
        due.append(35)
    assert due == [12, 21, 30, 35]


def test_seeds_are_separate_runs_and_stack(real_and_scorer):
    real, fid_scorer = real_and_scorer
    runs = train_scored_seeds([3, 4], lambda s: _setup(real, s, steps=10), fid_scorer, every=5,
                              device="cpu", n_samples=40, n_fixed=4)
    assert [r.seed for r in runs] == [3, 4]
    fid = stack_runs(runs, "fid")
    assert fid.shape == (2, 3) and torch.isfinite(fid).all()
    assert not torch.equal(runs[0].scores.grids, runs[1].scores.grids)
    assert stack_runs(runs, "g_loss").shape == (2, 3)


def test_sample_images_restores_training_mode_and_chunks():
    G = fashion_dcgan(seed=0, width=8, data=torch.zeros(4, 1, 28, 28), device="cpu").G.train()
    z = torch.randn(7, 64)
    x = sample_images(G, z, chunk=3)
    assert G.training and x.shape == (7, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(x, G.eval()(z))


def test_bad_arguments_are_refused(real_and_scorer):
    _, fid_scorer = real_and_scorer
    with pytest.raises(TypeError, match="FIDScorer"):
        CheckpointScorer(torch.zeros(3), every=5, z_dim=8)
    with pytest.raises(ValueError, match="every"):
        CheckpointScorer(fid_scorer, every=0, z_dim=8)
    with pytest.raises(ValueError, match="n_fixed"):
        CheckpointScorer(fid_scorer, every=5, z_dim=8, n_samples=10, n_fixed=20)


def test_a_diverged_generator_is_reported(real_and_scorer):
    _, fid_scorer = real_and_scorer
    scorer = CheckpointScorer(fid_scorer, every=5, z_dim=8, n_samples=10, n_fixed=2)

    class NaNGenerator(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, z):
            return torch.full((len(z), 1, 28, 28), float("nan"))

    with pytest.raises(FloatingPointError, match="step 5"):
        scorer.score(5, NaNGenerator(), History())


def test_fast_fid_scorer_gives_the_default_numbers(real_and_scorer):
    real, fid_scorer = real_and_scorer
    fast = make_fid_scorer(real[:200])
    x = real[200:] * 0.8
    assert fast(x) == pytest.approx(fid_scorer(x), rel=1e-3)
    assert fast(x) > 1.0  # not a trivially equal pair of numbers


def test_a_second_callback_sees_every_flush_after_the_scorer(real_and_scorer):
    real, fid_scorer = real_and_scorer
    scorer = CheckpointScorer(fid_scorer, every=10, z_dim=64, n_samples=40, n_fixed=4, seed=5)
    calls = []

    def also(step, history, G, D):  # what a probe such as CovariateShiftProbe receives
        calls.append((step, len(history), len(scorer)))

    train_scored(_setup(real, seed=5, steps=20), scorer, device="cpu", also=also)
    # log_every 5 divides every=10, so the flushes fall at 5, 10, 15, 20; the scorer has already run at each
    assert [c[0] for c in calls] == [5, 10, 15, 20]
    assert [c[1] for c in calls] == [5, 10, 15, 20]  # the history up to that step
    assert [c[2] for c in calls] == [1, 2, 2, 3]  # step 0, then the checkpoints at 10 and 20
    assert scorer.steps.tolist() == [0, 10, 20]
