"""Feature matching: the loss against hand-computed values and its gradient, D's features against the layers
written out, G's step against the written-out objective, and stacked seeds against separate runs."""

from __future__ import annotations

import copy

import pytest
import torch
from test_seeds import assert_close_up_to_adam_on_zero_gradients
from torch import nn
from torch.testing import assert_close

from gancourse import datasets
from gancourse.feature_matching import d_features, feature_matching_loss
from gancourse.models import dcgan, mlp
from gancourse.training import TrainConfig, g_step, train, train_seeds
from gancourse.training.seeds import init_models

CPU = torch.device("cpu")


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"steps": 4, "batch_size": 8, "lr_d": 1e-3, "lr_g": 1e-3, "progress": False,
                          "log_every": 2, "feature_matching": True, **kw})


def test_loss_is_the_squared_distance_of_the_feature_means_by_hand():
    f_real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    f_fake = torch.tensor([[0.0, 0.0], [2.0, 2.0], [1.0, 1.0]])  # mean (1, 1): another batch size
    assert_close(feature_matching_loss(f_real, f_fake), torch.tensor(1.0 + 4.0))
    assert_close(feature_matching_loss(f_real, f_real.flip(0)), torch.tensor(0.0))  # same mean, any order


def test_gradient_pulls_every_fake_feature_towards_the_real_mean():
    """d/d f_fake[j] of ||m_r - m_f||^2 is -2 (m_r - m_f) / B_fake for every j (analytic)."""
    f_real, f_fake = torch.randn(5, 3), torch.randn(4, 3, requires_grad=True)
    (grad,) = torch.autograd.grad(feature_matching_loss(f_real, f_fake), f_fake)
    expected = -2 * (f_real.mean(0) - f_fake.detach().mean(0)) / 4
    assert_close(grad, expected.expand(4, 3))


def test_per_seed_loss_is_each_seeds_own():
    f_real, f_fake = torch.randn(3, 6, 4), torch.randn(3, 5, 4)
    per_seed = feature_matching_loss(f_real, f_fake, per_seed=True)
    assert per_seed.shape == (3,)
    for s in range(3):
        assert_close(per_seed[s], feature_matching_loss(f_real[s], f_fake[s]))


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"\(B, F\)"):
        feature_matching_loss(torch.randn(4), torch.randn(4))
    with pytest.raises(ValueError, match=r"expects features of shape \(S, B, F\)"):
        feature_matching_loss(torch.randn(4, 3), torch.randn(4, 3), per_seed=True)
    with pytest.raises(ValueError, match="same seeds and features"):
        feature_matching_loss(torch.randn(2, 4, 3), torch.randn(3, 4, 3), per_seed=True)
    with pytest.raises(ValueError, match="same seeds and features"):
        feature_matching_loss(torch.randn(4, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="D.features"):
        d_features(nn.Linear(2, 1), torch.randn(3, 2))


def test_mlp_features_are_the_last_hidden_layer_written_out():
    D = mlp.MLPDiscriminator(width=6, depth=2, minibatch_discrimination=True, n_kernels=3, kernel_dim=2)
    x = torch.randn(5, 2)
    first, second = D.net[0], D.net[2]
    hidden = nn.functional.leaky_relu(nn.functional.leaky_relu(x @ first.weight.T + first.bias, 0.2)
                                      @ second.weight.T + second.bias, 0.2)
    assert_close(D.features(x), hidden)
    # the minibatch layer and the output layer read exactly these features
    assert_close(D(x), D.net[-1](D.net[-2](hidden)))


def test_stacked_mlp_features_are_each_seeds_own():
    Ds = [init_models(s, lambda: nn.Identity(), lambda: mlp.MLPDiscriminator(width=6, depth=2))[1] for s in range(3)]
    stacked = mlp.MLPDiscriminator.stack(Ds)
    x = torch.randn(3, 4, 2)
    features = stacked.features(x)
    assert features.shape == (3, 4, 6)
    for s in range(3):
        assert_close(features[s], Ds[s].features(x[s]))


def test_dcgan_features_feed_the_output_layer():
    D = dcgan.DCGANDiscriminator(width=4, norm="none")
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    features = D.features(x)
    assert features.shape == (3, 8 * 7 * 7)
    assert_close(D(x), D.net[-1](features))
    with pytest.raises(ValueError, match="expects x of shape"):
        D.features(torch.zeros(3, 2, 28, 28))


def test_g_step_with_feature_matching_follows_the_written_out_objective_and_leaves_D_alone():
    G, D = init_models(0, lambda: mlp.MLPGenerator(width=8, depth=2), lambda: mlp.MLPDiscriminator(width=8, depth=2))
    G_ref, d_before = copy.deepcopy(G), [p.detach().clone() for p in D.parameters()]
    z, x_real = torch.randn(8, 2), torch.randn(8, 2)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
    stats = g_step(G, D, opt_g, z, cfg(), x_real=x_real)
    objective = (D.features(x_real).mean(0) - D.features(G_ref(z)).mean(0)).square().sum()
    grads = torch.autograd.grad(objective, list(G_ref.parameters()))
    assert_close(stats.g_loss, objective.detach())
    for g, p in zip(grads, G.parameters(), strict=True):
        assert_close(p.grad, g)
    assert all(torch.equal(a, b) for a, b in zip(d_before, D.parameters(), strict=True))
    with pytest.raises(ValueError, match="pass x_real"):
        g_step(G, D, opt_g, z, cfg())


def test_feature_matching_trains_the_dcgan_and_changes_what_G_learns():
    setup = init_models(0, lambda: dcgan.DCGANGenerator(z_dim=8, width=4), lambda: dcgan.DCGANDiscriminator(width=4))
    images = torch.rand(32, 1, 28, 28) * 2 - 1
    matched = train(*copy.deepcopy(setup), images, cfg(steps=2), device=CPU)
    plain = train(*copy.deepcopy(setup), images, cfg(steps=2, feature_matching=False), device=CPU)
    assert torch.isfinite(matched.history["g_loss"]).all()
    assert (matched.history["g_loss"] >= 0).all()  # a squared distance, not a log-loss
    assert not torch.equal(next(matched.G.parameters()), next(plain.G.parameters()))


def test_train_seeds_with_feature_matching_equals_separate_runs():
    make_G, make_D = lambda: mlp.MLPGenerator(width=8, depth=2), lambda: mlp.MLPDiscriminator(width=8, depth=2)
    config = cfg(steps=4)
    seeds = [2, 7]
    batched = train_seeds(seeds, make_G, make_D, datasets.grid().sample, config, device=CPU)
    for i, s in enumerate(seeds):
        alone = train(*init_models(s, make_G, make_D), datasets.grid().sample,
                      TrainConfig(**{**config.to_dict(), "seed": s}), device=CPU)
        for a, b in zip(batched.G.unstack(i).parameters(), alone.G.parameters(), strict=True):
            assert_close_up_to_adam_on_zero_gradients(a, b, lr=config.lr_g)
        assert_close(batched.history["g_loss"][:, i], alone.history["g_loss"], rtol=1e-3, atol=1e-4)
