"""CPU threads chosen per workload: one for small nets, set inside the course's functions and restored after;
an explicit choice (environment variable, torch.set_num_threads, threads.fixed) always wins.

The test process itself runs with OMP_NUM_THREADS=1 (the developers' rule on a shared machine),
so each test removes the variables with monkeypatch and puts torch back to its default count.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from gancourse import datasets
from gancourse.metrics import FIDScorer
from gancourse.models import dcgan, mlp
from gancourse.training import TrainConfig, threads, train
from gancourse.training.seeds import init_models

MANY = threads.default_threads()
needs_cores = pytest.mark.skipif(MANY < 2, reason="a machine with one core has nothing to choose")


@pytest.fixture
def torch_default(monkeypatch):
    """The process as a learner's: no thread variables, torch at its default count; restored afterwards."""
    for name in threads.THREAD_ENV:
        monkeypatch.delenv(name, raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(MANY)
    yield
    torch.set_num_threads(before)


def test_default_threads_is_what_torch_picks_when_nobody_chose():
    # threads.default_threads reads torch's inter-op count; a fresh process without the variables must agree
    env = {k: v for k, v in os.environ.items() if k not in threads.THREAD_ENV}
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads(), "
                          "torch.get_num_interop_threads())"], env=env, capture_output=True, text=True, check=True)
    intra, inter = map(int, out.stdout.split())
    assert intra == inter == MANY


def test_threads_for_small_and_large_work():
    assert threads.threads_for(0.0) == threads.threads_for(threads.PARALLEL_MFLOP - 1) == 1
    assert threads.threads_for(threads.PARALLEL_MFLOP) == max(1, MANY - 1)  # every core but one


@needs_cores
def test_for_work_sets_one_thread_for_small_work_and_restores_the_count(torch_default):
    assert threads.explicit_threads() is None
    with threads.for_work(1.0) as n:
        assert n == 1 == torch.get_num_threads()
        with threads.for_work(1e6):  # nested (FID inside a training callback): decides on its own
            assert torch.get_num_threads() == max(1, MANY - 1)
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == MANY
    with pytest.raises(KeyError), threads.for_work(1.0):  # restored when the block raises too
        raise KeyError
    assert torch.get_num_threads() == MANY


@needs_cores
@pytest.mark.parametrize("variable", ["OMP_NUM_THREADS", "MKL_NUM_THREADS"])
def test_a_thread_variable_in_the_environment_wins(torch_default, monkeypatch, variable):
    monkeypatch.setenv(variable, str(MANY))
    with threads.for_work(1.0) as n:
        assert n == MANY == torch.get_num_threads()
    assert threads.explicit_threads() == MANY


@needs_cores
def test_set_num_threads_before_the_call_wins(torch_default):
    torch.set_num_threads(MANY - 1 if MANY > 2 else 1)
    chosen = torch.get_num_threads()
    if chosen == MANY:
        pytest.skip("no count other than the default to choose")
    with threads.for_work(1e6) as n:  # large work would pick another count; the user's stays
        assert n == chosen == torch.get_num_threads()


@needs_cores
def test_fixed_overrides_the_choice_even_at_the_default_count(torch_default):
    with threads.fixed(MANY):
        with threads.for_work(1.0) as n:
            assert n == MANY == torch.get_num_threads()
    assert torch.get_num_threads() == MANY
    with pytest.raises(ValueError, match="int >= 1"):
        with threads.fixed(0):
            pass


@needs_cores
def test_other_devices_are_left_alone(torch_default):
    with threads.for_work(1.0, device="meta") as n:
        assert n == MANY == torch.get_num_threads()


@needs_cores
def test_train_runs_a_2d_gan_on_one_thread_and_restores_the_count(torch_default):
    seen = []
    G, D = init_models(0, lambda: mlp.MLPGenerator(width=16), lambda: mlp.MLPDiscriminator(width=16))
    config = TrainConfig(steps=4, batch_size=8, log_every=2, progress=False)
    train(G, D, datasets.ring().sample, config, callback=lambda *_: seen.append(torch.get_num_threads()),
          device="cpu")
    assert seen == [1, 1] and torch.get_num_threads() == MANY


@needs_cores
def test_a_function_that_uses_threads_for_is_restored_when_training_fails(torch_default):
    G, D = init_models(0, lambda: mlp.MLPGenerator(width=16), lambda: mlp.MLPDiscriminator(width=16))

    def stop(*_):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        train(G, D, datasets.ring().sample, TrainConfig(steps=4, batch_size=8, log_every=2, progress=False),
              callback=stop, device="cpu")
    assert torch.get_num_threads() == MANY


def test_gan_mflop_counts_the_matmuls_of_g_and_d_against_a_hand_count():
    # MLP of depth 1: G is z(2) -> 8 -> 2, D is x(2) -> 8 -> 1; 2 FLOPs per multiply-add, batch 10
    G, D = mlp.MLPGenerator(width=8, depth=1), mlp.MLPDiscriminator(width=8, depth=1)
    hand = 2 * 10 * (2 * 8 + 8 * 2) + 2 * 10 * (2 * 8)  # D's one-output layer is a multiply-and-sum, not a matmul
    assert threads.gan_mflop(G, D, torch.zeros(10, 2)) * 1e6 == pytest.approx(hand)
    # the DCGAN at width 32 and batch 64 is above the threshold, the 2-D GAN far below
    Gc, Dc = dcgan.DCGANGenerator(width=32), dcgan.DCGANDiscriminator(width=32)
    assert threads.gan_mflop(Gc, Dc, torch.zeros(64, 64)) > threads.PARALLEL_MFLOP
    assert threads.gan_mflop(mlp.MLPGenerator(), mlp.MLPDiscriminator(), torch.zeros(256, 2)) < threads.PARALLEL_MFLOP


def test_gan_mflop_changes_no_batch_norm_statistics():
    G, D = dcgan.DCGANGenerator(width=4), dcgan.DCGANDiscriminator(width=4)
    before = [b.clone() for b in (*G.buffers(), *D.buffers())]
    threads.gan_mflop(G, D, torch.randn(8, 64))
    assert all(torch.equal(a, b) for a, b in zip(before, (*G.buffers(), *D.buffers()), strict=True))
    assert G.training and D.training


@needs_cores
def test_fid_scores_with_more_threads_and_restores_the_count(torch_default, monkeypatch):
    seen = []
    original = threads.for_work

    def spy(mflop, device="cpu"):
        seen.append(mflop() if callable(mflop) else mflop)
        return original(mflop, device)

    monkeypatch.setattr(threads, "for_work", spy)
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    FIDScorer(x, batch_size=32)(x.flip(0))
    # a batch of 32 images through the classifier (4 MFLOP each) is large work; the 128x128 eigenproblem small
    assert len(seen) == 3 and seen[0] == seen[1] == pytest.approx(32 * 3.986, rel=0.01) and seen[2] == 0
    assert torch.get_num_threads() == MANY
