import math

import pytest
import torch
from torch import nn

from gancourse import datasets, mlp, saturation
from gancourse.losses import g_non_saturating_loss, g_saturating_loss
from gancourse.mlp import StackedLinear


def test_logit_slope_matches_the_analytic_derivatives():
    logits = torch.linspace(-12.0, 12.0, 97, dtype=torch.float64)
    torch.testing.assert_close(saturation.logit_slope(g_saturating_loss, logits), -torch.sigmoid(logits))
    torch.testing.assert_close(saturation.logit_slope(g_non_saturating_loss, logits), -(1 - torch.sigmoid(logits)))
    # the two sides of the story: at l = -10 one slope has vanished, the other has not
    far = torch.tensor([-10.0])
    assert 0 > saturation.logit_slope(g_saturating_loss, far).item() > -1e-4
    assert -1.0 <= saturation.logit_slope(g_non_saturating_loss, far).item() < -0.999
    with pytest.raises(ValueError, match="empty"):
        saturation.logit_slope(g_saturating_loss, torch.empty(0))


def _tiny_g():
    return mlp.MLPGenerator(width=8, depth=1)


def _tiny_d():
    return mlp.MLPDiscriminator(width=8, depth=1)


def test_grad_norms_at_the_untrained_d_match_a_separate_naive_computation():
    run = saturation.train_d_against_fixed_g([3, 4], _tiny_g, _tiny_d, datasets.ring().sample, [0],
                                             n_eval=64, device="cpu")
    assert run.d_steps.tolist() == [0] and run.grad_saturating.shape == (1, 2)
    # reference: seed 4 alone, built as the function builds it, on the z its generator draws first
    torch.manual_seed(4)
    G, D = _tiny_g(), _tiny_d()
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(4))
    for loss, measured in ((g_saturating_loss, run.grad_saturating), (g_non_saturating_loss, run.grad_non_saturating)):
        grads = torch.autograd.grad(loss(D(G(z))), list(G.parameters()))
        expected = torch.cat([g.flatten() for g in grads]).norm()
        torch.testing.assert_close(measured[0, 1], expected, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(run.d_fake[0, 1], torch.sigmoid(D(G(z))).mean(), rtol=1e-5, atol=1e-6)
    assert all(p.grad is None for p in run.G.parameters())  # G frozen and left clean


def test_instance_noise_measurements_match_a_naive_computation_on_the_same_draws():
    run = saturation.train_d_against_fixed_g([3, 4], _tiny_g, _tiny_d, datasets.ring().sample, [0], noise_std=0.3,
                                             n_eval=64, device="cpu")
    assert run.noise_std == 0.3
    # reference: seed 4 alone; its generator draws z, the real batch, then the real and the fake noise
    torch.manual_seed(4)
    G, D = _tiny_g(), _tiny_d()
    gen = torch.Generator().manual_seed(4)
    z = torch.randn(64, 2, generator=gen)
    x_real = datasets.ring().sample(64, gen)
    eps_real, eps_fake = torch.randn(64, 2, generator=gen), torch.randn(64, 2, generator=gen)
    with torch.no_grad():
        torch.testing.assert_close(run.d_real[0, 1], torch.sigmoid(D(x_real + 0.3 * eps_real)).mean())
    fake_logits = D(G(z) + 0.3 * eps_fake)  # G is measured against the noisy inputs D sees
    torch.testing.assert_close(run.d_fake[0, 1], torch.sigmoid(fake_logits).mean().detach())
    for loss, measured in ((g_saturating_loss, run.grad_saturating), (g_non_saturating_loss, run.grad_non_saturating)):
        grads = torch.autograd.grad(loss(fake_logits), list(G.parameters()), retain_graph=True)
        torch.testing.assert_close(measured[0, 1], torch.cat([g.flatten() for g in grads]).norm(), rtol=1e-4,
                                   atol=1e-7)
    with torch.no_grad():  # without the noise the numbers differ: the noise is really there
        assert abs(float(torch.sigmoid(D(x_real)).mean() - run.d_real[0, 1])) > 1e-4
        assert abs(float(torch.sigmoid(D(G(z))).mean() - run.d_fake[0, 1])) > 1e-4


def test_instance_noise_keeps_a_trained_d_from_certainty():
    kwargs = dict(seeds=[0, 3], make_G=_tiny_g, make_D=lambda: mlp.MLPDiscriminator(width=32, depth=2),
                  sample_real=datasets.ring().sample, checkpoints=[0, 150], lr_d=1e-2, batch_size=64, n_eval=128,
                  device="cpu")
    clean = saturation.train_d_against_fixed_g(**kwargs)
    noisy = saturation.train_d_against_fixed_g(**kwargs, noise_std=0.3)  # measured: D(G(z)) 0.20, 0.27
    assert (clean.d_fake[-1] < 0.02).all() and (clean.d_real[-1] > 0.98).all()
    assert (noisy.d_fake[-1] > 0.1).all() and (noisy.d_real[-1] < 0.95).all()


def test_a_trained_d_starves_the_saturating_loss_but_not_the_non_saturating_one():
    # seeds whose tiny G starts off the ring, so that D can separate the two
    run = saturation.train_d_against_fixed_g([0, 3], _tiny_g, lambda: mlp.MLPDiscriminator(width=32, depth=2),
                                             datasets.ring().sample, [0, 150], lr_d=1e-2, batch_size=64,
                                             n_eval=128, device="cpu")
    assert run.d_fake.shape == (2, 2) and run.d_steps.tolist() == [0, 150]
    assert (run.d_fake[-1] < 0.02).all() and (run.d_real[-1] > 0.98).all()  # D grew confident
    # per sample the slopes' ratio is (1 - D)/D, large for every sample D rejects
    ratio = run.grad_non_saturating[-1] / run.grad_saturating[-1]
    assert (ratio > 10).all() and (ratio < 1e6).all()
    # at the untrained D (outputs near 1/2) both losses give nearly the same gradient
    start = run.grad_non_saturating[0] / run.grad_saturating[0]
    assert ((start > 0.5) & (start < 2.0)).all()


def test_train_d_against_fixed_g_rejects_bad_input():
    sample = datasets.ring().sample
    with pytest.raises(ValueError, match="checkpoints"):
        saturation.train_d_against_fixed_g([0], _tiny_g, _tiny_d, sample, [], device="cpu")
    with pytest.raises(ValueError, match="noise_std"):
        saturation.train_d_against_fixed_g([0], _tiny_g, _tiny_d, sample, [0], noise_std=-1.0, device="cpu")
    with pytest.raises(ValueError, match="distinct"):
        saturation.train_d_against_fixed_g([1, 1], _tiny_g, _tiny_d, sample, [0], device="cpu")


def test_deep_stack_layout_and_inits():
    stack = saturation.deep_stack(depth=3, width=16, activation="tanh", norm="batch", n_models=2)
    kinds = [type(m).__name__ for m in stack]
    assert kinds == ["StackedLinear", "StackedBatchNorm1d", "Tanh"] * 3 + ["StackedLinear"]
    assert stack(torch.randn(2, 5, 16)).shape == (2, 5, 1)
    torch.manual_seed(0)
    wide = saturation.deep_stack(depth=2, width=400, activation="relu", init="kaiming", n_models=3)
    std = wide[0].weight.std().item()
    assert abs(std - math.sqrt(2 / 400)) < 0.02 * math.sqrt(2 / 400)  # He et al.: std = gain / sqrt(fan_in)
    assert (wide[0].bias == 0).all()
    with pytest.raises(ValueError, match="activation"):
        saturation.deep_stack(2, 4, "swish")
    with pytest.raises(ValueError, match="init"):
        saturation.deep_stack(2, 4, "relu", init="xavier")
    with pytest.raises(ValueError, match="norm"):
        saturation.deep_stack(2, 4, "relu", norm="layer")


def test_layer_grad_norms_per_seed_match_each_seed_computed_alone():
    torch.manual_seed(1)
    stack = saturation.deep_stack(depth=3, width=6, activation="sigmoid", n_models=2)
    x = torch.randn(2, 5, 6)
    norms = saturation.layer_grad_norms_per_seed(stack, x)
    assert norms.shape == (2, 3)
    for s in range(2):  # naive reference: seed s as an ordinary nn.Linear stack
        layers = []
        for m in stack:
            if isinstance(m, StackedLinear):
                linear = nn.Linear(m.in_features, m.out_features)
                with torch.no_grad():
                    linear.weight.copy_(m.weight[s].T)
                    linear.bias.copy_(m.bias[s, 0])
                layers.append(linear)
            else:
                layers.append(nn.Sigmoid())
        net = nn.Sequential(*layers)
        net(x[s]).mean().backward()
        expected = torch.stack([net[i].weight.grad.norm() for i in (0, 2, 4)])
        torch.testing.assert_close(norms[s], expected)
    assert all(p.grad is None for p in stack.parameters())
    with pytest.raises(ValueError, match="x must be"):
        saturation.layer_grad_norms_per_seed(stack, torch.randn(3, 5, 6))


def test_depth_profile_sigmoid_vanishes_and_batch_norm_keeps_the_range_narrow():
    sig = saturation.depth_profile("sigmoid", depth=8, width=32, n_models=3, batch_size=64, device="cpu")
    leaky = saturation.depth_profile("leaky_relu", depth=8, width=32, n_models=3, batch_size=64, device="cpu",
                                     init="kaiming")
    bn = saturation.depth_profile("sigmoid", depth=8, width=32, norm="batch", n_models=3, batch_size=64,
                                  device="cpu")
    ratio = lambda n: n[:, 0] / n[:, -1]
    # sigmoid' <= 1/4 and |W| ~ 1/sqrt(3): each layer costs at least ~7x, so 7 layers cost > 1e4
    assert (ratio(sig) < 1e-4).all() and (ratio(sig) > 1e-12).all()
    assert ((ratio(leaky) > 1e-2) & (ratio(leaky) < 1e2)).all()
    spread = bn.max(dim=1).values / bn.min(dim=1).values
    assert ((spread >= 1) & (spread < 10)).all()
    # same seed, same numbers; the global random state is left alone
    state = torch.get_rng_state()
    again = saturation.depth_profile("sigmoid", depth=8, width=32, n_models=3, batch_size=64, device="cpu")
    torch.testing.assert_close(again, sig)
    assert torch.equal(state, torch.get_rng_state())
