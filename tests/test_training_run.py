"""Run: the training loop advanced in chunks (chapter 00's playground) gives exactly the numbers of one train() call."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.testing import assert_close

from gancourse import datasets
from gancourse.models import mlp
from gancourse.training import Run, TrainConfig, TrainingDiverged, train
from gancourse.training.seeds import init_models, stacked_models

CPU = torch.device("cpu")


def tiny(seed: int = 0):
    return init_models(seed, lambda: mlp.MLPGenerator(width=16, depth=2),
                       lambda: mlp.MLPDiscriminator(width=16, depth=2))


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"steps": 12, "batch_size": 8, "progress": False, "log_every": 5, "lr_d": 1e-3,
                          "lr_g": 1e-3, **kw})


@pytest.mark.parametrize("options", [{}, {"instance_noise": 0.3, "n_critic": 2}, {"unrolled_steps": 2}],
                         ids=["plain", "noise+n_critic", "unrolled"])
def test_any_split_into_chunks_gives_the_numbers_of_one_train_call(options):
    config = cfg(**options)
    whole = train(*tiny(), datasets.ring().sample, config, device=CPU)
    run = Run(*tiny(), datasets.ring().sample, config, device=CPU)
    for chunk in (1, 4, 0, 3, 4):  # 12 steps in uneven chunks, one of them empty
        run.advance(chunk)
    assert run.step == whole.steps == 12
    for p, q in zip(run.G.parameters(), whole.G.parameters(), strict=True):
        assert torch.equal(p, q)
    for p, q in zip(run.D.parameters(), whole.D.parameters(), strict=True):
        assert torch.equal(p, q)
    for key in whole.history.keys:
        assert torch.equal(run.history[key], whole.history[key]), key
    assert run.history.steps.tolist() == list(range(12))


def test_stacked_seeds_advance_in_chunks_too():
    make_G, make_D = lambda: mlp.MLPGenerator(width=8, depth=1), lambda: mlp.MLPDiscriminator(width=8, depth=1)
    whole = train(*stacked_models([3, 4], make_G, make_D), datasets.grid().sample, cfg(steps=6), device=CPU,
                  seeds=[3, 4])
    run = Run(*stacked_models([3, 4], make_G, make_D), datasets.grid().sample, cfg(steps=6), device=CPU, seeds=[3, 4])
    run.advance(2)
    run.advance(4)
    assert_close(run.history["g_loss"], whole.history["g_loss"], rtol=0, atol=0)
    assert run.history["g_loss"].shape == (6, 2)


def test_the_callback_also_runs_at_the_end_of_each_chunk():
    calls = []
    run = Run(*tiny(), datasets.ring().sample, cfg(), device=CPU,
              callback=lambda step, history, G, D: calls.append((step, len(history))))
    run.advance(3)
    run.advance(4)
    assert calls == [(3, 3), (5, 5), (7, 7)]


def test_a_run_goes_on_past_config_steps():
    run = Run(*tiny(), datasets.ring().sample, cfg(steps=2), device=CPU)
    assert run.advance(5) == 5 and len(run.history) == 5
    assert run.result().steps == 5


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_advance_refuses_a_bad_number_of_steps(bad):
    run = Run(*tiny(), datasets.ring().sample, cfg(), device=CPU)
    with pytest.raises(ValueError, match="n_steps must be an int >= 0"):
        run.advance(bad)


def test_reconfigure_sets_the_optimizers_learning_rates_from_the_next_step_on():
    run = Run(*tiny(), datasets.ring().sample, cfg(), device=CPU)
    run.advance(2)
    run.reconfigure(dataclasses.replace(run.config, lr_d=5e-4, lr_g=2e-3, betas=(0.0, 0.9), n_critic=3))
    assert [g["lr"] for g in run.opt_d.param_groups] == [5e-4] and [g["lr"] for g in run.opt_g.param_groups] == [2e-3]
    assert run.opt_d.param_groups[0]["betas"] == (0.0, 0.9)
    d_steps_before = {float(s["step"]) for s in run.opt_d.state.values()}
    run.advance(1)
    assert {float(s["step"]) for s in run.opt_d.state.values()} == {d + 3 for d in d_steps_before}  # n_critic=3 now


def test_reconfigure_refuses_what_a_running_run_cannot_change():
    run = Run(*tiny(), datasets.ring().sample, cfg(), device=CPU)
    with pytest.raises(ValueError, match="cannot change pack, seed of a running run"):
        run.reconfigure(dataclasses.replace(run.config, pack=2, seed=3))
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        run.reconfigure({"lr_d": 1e-3})


def test_a_chunk_that_diverges_raises_and_the_run_can_be_inspected():
    run = Run(*tiny(), datasets.ring().sample, cfg(lr_d=1e30, lr_g=1e30, log_every=50), device=CPU)
    with pytest.raises(TrainingDiverged, match="lower the learning rates"):
        run.advance(20)  # the chunk's end flushes: the NaN is found within this chunk, not 50 steps later
    assert 0 < run.step <= 20
