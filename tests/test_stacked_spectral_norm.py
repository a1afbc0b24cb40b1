"""Spectral norm over stacked seeds: seed s follows torch's own parametrization exactly, forward after forward,
and a batched run with spectral norm equals separate runs (chapter 08 compares it over seeds)."""

from __future__ import annotations

import pytest
import torch
from test_seeds import assert_close_up_to_adam_on_zero_gradients
from torch.testing import assert_close

from gancourse import datasets
from gancourse.models import mlp
from gancourse.models.stacked_spectral_norm import StackedSpectralNorm
from gancourse.training import TrainConfig, train, train_seeds
from gancourse.training.seeds import init_models

CPU = torch.device("cpu")


def make_D(**kw):
    return mlp.MLPDiscriminator(width=8, depth=2, spectral_norm=True, **kw)


def test_a_stacked_spectral_norm_D_follows_each_seeds_torch_parametrization():
    singles = [init_models(s, torch.nn.Identity, make_D)[1] for s in range(3)]
    stacked = mlp.MLPDiscriminator.stack(singles).train()
    for single in singles:
        single.train()
    for _ in range(4):  # every train-mode forward makes one power iteration, in both
        x = torch.randn(3, 5, 2)
        out = stacked(x)
        for s, single in enumerate(singles):
            assert_close(out[s], single(x[s]))
    # the vectors u, v and the raw weights come back unchanged
    for s, single in enumerate(singles):
        back = stacked.unstack(s)
        for (key, a), b in zip(back.state_dict().items(), single.state_dict().values(), strict=True):
            assert_close(a, b, msg=key)


def test_sigma_is_the_largest_singular_value_after_enough_iterations():
    torch.manual_seed(0)
    weight = torch.randn(4, 7, 5)
    sn = StackedSpectralNorm(weight)
    for _ in range(100):
        normalised = sn(weight)
    assert_close(torch.linalg.matrix_norm(normalised, ord=2), torch.ones(4), rtol=1e-4, atol=1e-4)
    sn.eval()
    u_before = sn._u.clone()
    sn(weight)
    assert torch.equal(sn._u, u_before)  # eval mode: no power iteration


def test_spectral_norm_gradient_treats_u_and_v_as_constants_like_torch():
    torch.manual_seed(1)
    single = mlp.MLPDiscriminator(width=6, depth=1, spectral_norm=True)
    stacked = mlp.MLPDiscriminator.stack([single, mlp.MLPDiscriminator(width=6, depth=1, spectral_norm=True)])
    x = torch.randn(2, 4, 2)
    stacked(x)[0].sum().backward()
    single(x[0]).sum().backward()
    raw_single = single.net[0].parametrizations.weight.original
    raw_stacked = stacked.net[0].parametrizations.weight.original
    assert_close(raw_stacked.grad[0], raw_single.grad.T)
    assert torch.count_nonzero(raw_stacked.grad[1]) == 0  # seed 1's loss was not taken


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match=r"\(S, in, out\)"):
        StackedSpectralNorm(torch.randn(3, 3))


def test_train_seeds_with_spectral_norm_equals_separate_runs():
    make_G = lambda: mlp.MLPGenerator(width=8, depth=2)  # noqa: E731
    config = TrainConfig(steps=4, batch_size=8, lr_d=1e-3, lr_g=1e-3, progress=False, log_every=2)
    seeds = [1, 6]
    batched = train_seeds(seeds, make_G, make_D, datasets.grid().sample, config, device=CPU)
    for i, s in enumerate(seeds):
        alone = train(*init_models(s, make_G, make_D), datasets.grid().sample,
                      TrainConfig(**{**config.to_dict(), "seed": s}), device=CPU)
        for a, b in zip(batched.D.unstack(i).parameters(), alone.D.parameters(), strict=True):
            assert_close_up_to_adam_on_zero_gradients(a, b, lr=config.lr_d)
        assert_close(batched.history["d_loss"][:, i], alone.history["d_loss"], rtol=1e-3, atol=1e-4)
