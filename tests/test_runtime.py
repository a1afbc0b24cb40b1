import random

import numpy as np
import pytest
import torch

from gancourse import runtime


@pytest.mark.parametrize("value, expected", [(None, "default"), ("", "default"), ("smoke", "smoke"),
                                             ("FULL", "full"), ("default", "default")])
def test_budget_reads_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(runtime.BUDGET_ENV, raising=False)
    else:
        monkeypatch.setenv(runtime.BUDGET_ENV, value)
    assert runtime.budget() == expected


def test_unknown_budget_is_refused_naming_the_allowed_values(monkeypatch):
    monkeypatch.setenv(runtime.BUDGET_ENV, "quick")
    with pytest.raises(ValueError, match="'quick'.*smoke, default, full"):
        runtime.budget()


def test_by_budget_picks_the_value_of_the_current_budget(monkeypatch):
    monkeypatch.setenv(runtime.BUDGET_ENV, "smoke")
    assert runtime.by_budget(smoke=1, default=2, full=3) == 1
    monkeypatch.setenv(runtime.BUDGET_ENV, "full")
    assert runtime.by_budget(smoke=1, default=2) == 2  # full falls back to default
    monkeypatch.delenv(runtime.BUDGET_ENV)
    assert runtime.by_budget(smoke=1, default=2, full=3) == 2


def test_seed_everything_makes_every_generator_repeat():
    gen = runtime.seed_everything(123)
    first = (random.random(), torch.rand(3), torch.rand(3, generator=gen), np.random.rand(3))
    gen = runtime.seed_everything(123)
    second = (random.random(), torch.rand(3), torch.rand(3, generator=gen), np.random.rand(3))
    assert first[0] == second[0]
    torch.testing.assert_close(first[1], second[1])
    torch.testing.assert_close(first[2], second[2])
    np.testing.assert_array_equal(first[3], second[3])
    # each generator is seeded with the seed itself: the streams of fresh generators seeded by hand
    assert first[0] == random.Random(123).random()
    assert torch.equal(first[1], torch.rand(3, generator=torch.Generator().manual_seed(123)))
    assert torch.equal(first[2], first[1])
    np.testing.assert_array_equal(first[3], np.random.RandomState(123).rand(3))
    # NumPy takes seeds below 2**32 only: larger seeds wrap around
    runtime.seed_everything(2**32 + 7)
    np.testing.assert_array_equal(np.random.rand(2), np.random.RandomState(7).rand(2))
    with pytest.raises(ValueError, match="non-negative int"):
        runtime.seed_everything(-1)


def test_default_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert runtime.default_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert runtime.default_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.default_device() == torch.device("cuda")


def test_seeds_derive_from_the_base_seed(monkeypatch):
    monkeypatch.delenv(runtime.SEED_ENV, raising=False)
    assert runtime.base_seed() == 0
    assert runtime.seed(7) == 7 and runtime.seeds(3, start=4) == [4, 5, 6]  # unset: the committed seeds
    monkeypatch.setenv(runtime.SEED_ENV, "2")
    assert runtime.seed(7) == 2007 and runtime.seeds(2) == [2000, 2001]
    for bad in ("-1", "one", "1.5"):
        monkeypatch.setenv(runtime.SEED_ENV, bad)
        with pytest.raises(ValueError, match="GANCOURSE_SEED.*non-negative integer"):
            runtime.seed(0)
    monkeypatch.delenv(runtime.SEED_ENV)
    for bad_k in (-1, 1000, 2.0, True):
        with pytest.raises(ValueError, match="seed offset"):
            runtime.seed(bad_k)
