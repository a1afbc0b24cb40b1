import math

import pytest
import torch
from torch import nn

from gancourse import datasets
from gancourse.diagnostics import saturation
from gancourse.losses import g_non_saturating_loss, g_saturating_loss
from gancourse.models import mlp
from gancourse.models.mlp import StackedLinear
from gancourse.training import TrainingDiverged


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
    norms = saturation.layer_grad_norms_per_seed(stack, x, metric="batch_mean")
    per_sample = saturation.layer_grad_norms_per_seed(stack, x)  # the default metric
    assert norms.shape == per_sample.shape == (2, 3)
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
        # per sample: one backward pass per sample of this seed, root mean square over the samples
        rows = [torch.stack([g.norm() for g in torch.autograd.grad(net(x[s][i : i + 1]).sum(),
                                                                   [net[j].weight for j in (0, 2, 4)])])
                for i in range(5)]
        torch.testing.assert_close(per_sample[s], torch.stack(rows).square().mean(0).sqrt())
    assert all(p.grad is None for p in stack.parameters())
    with pytest.raises(ValueError, match="x must be"):
        saturation.layer_grad_norms_per_seed(stack, torch.randn(3, 5, 6))
    with pytest.raises(ValueError, match="metric"):
        saturation.layer_grad_norms_per_seed(stack, x, metric="median")


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
    stack, x = saturation.random_stack("sigmoid", depth=8, width=32, n_models=3, batch_size=64, device="cpu")
    torch.testing.assert_close(saturation.layer_grad_norms_per_seed(stack, x), sig)
    # same seed, same numbers; the global random state is left alone
    state = torch.get_rng_state()
    again = saturation.depth_profile("sigmoid", depth=8, width=32, n_models=3, batch_size=64, device="cpu")
    torch.testing.assert_close(again, sig)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize(("activation", "slope"), [("relu", 0.0), ("leaky_relu", 0.2), ("prelu", 0.25)])
def test_kaiming_gain_of_rectifiers_and_the_gain_option(activation, slope):
    assert saturation.kaiming_gain(activation) == pytest.approx(math.sqrt(2 / (1 + slope**2)))
    assert saturation.kaiming_gain("sigmoid") == 1.0 and saturation.kaiming_gain("tanh") == pytest.approx(5 / 3)
    torch.manual_seed(0)
    wide = saturation.deep_stack(depth=2, width=400, activation="sigmoid", init="kaiming", gain=10.0, n_models=2)
    assert abs(wide[2].weight.std().item() - 10 / 20) < 0.01  # std = gain / sqrt(width)
    with pytest.raises(ValueError, match="gain"):
        saturation.deep_stack(2, 4, "sigmoid", gain=3.0)  # a gain needs init="kaiming"
    with pytest.raises(ValueError, match="gain"):
        saturation.deep_stack(2, 4, "sigmoid", init="kaiming", gain=-1.0)


def _naive_factors(stack, x, s):
    """Seed s of a deep_stack without batch norm, layer by layer with explicit loops over layers and samples."""
    linears = [m for m in stack if isinstance(m, StackedLinear)]
    act = stack[1]
    if isinstance(act, mlp.StackedPReLU):  # seed s's own slope
        slope_s = act.weight[s, 0, 0].detach()
        phi = lambda h: torch.where(h >= 0, h, slope_s * h)
    else:
        phi = act
    dphi = lambda h: torch.func.vmap(torch.func.grad(lambda u: phi(u[None]).sum()))(h.reshape(-1)).reshape(h.shape)
    W = [m.weight[s].detach() for m in linears]
    b = [m.bias[s, 0].detach() for m in linears]
    a, hs = x[s], []
    for k in range(len(W) - 1):
        hs.append(a @ W[k] + b[k])
        a = phi(hs[-1])
    deltas = []
    for i in range(x.shape[1]):  # per sample: backprop by hand, delta_k = phi'(h_k) * (W_{k+1} delta_{k+1})
        delta = dphi(hs[-1][i]) * W[-1][:, 0]
        row = [delta]
        for k in range(len(hs) - 2, -1, -1):
            delta = dphi(hs[k][i]) * (W[k + 1] @ delta)
            row.insert(0, delta)
        deltas.append(torch.stack([d.norm() for d in row]))
    delta_rms = torch.stack(deltas).square().mean(0).sqrt()
    measured = delta_rms[:-1] / delta_rms[1:]
    n_var_w = torch.stack([W[k + 1].shape[0] * W[k + 1].square().mean() for k in range(len(hs) - 1)])
    slope_power = torch.stack([dphi(h).square().mean() for h in hs[:-1]])
    flat = torch.stack([(dphi(h).abs() < 0.01).float().mean() for h in hs[:-1]])
    return n_var_w, slope_power, (n_var_w * slope_power).sqrt(), measured, flat


@pytest.mark.parametrize("activation", ["sigmoid", "leaky_relu", "prelu"])
def test_backprop_factors_against_a_layer_by_layer_loop(activation):
    torch.manual_seed(3)
    # gain 6 puts some sigmoid units in their flat tails, so that flat_share is tested above 0 too
    gain = 6.0 if activation == "sigmoid" else None
    stack = saturation.deep_stack(depth=4, width=5, activation=activation, init="kaiming", n_models=2, gain=gain)
    x = torch.randn(2, 6, 5)
    factors = saturation.backprop_factors(stack, x)
    assert factors.predicted.shape == (2, 3)
    for s in range(2):
        for got, want in zip(factors, _naive_factors(stack, x, s), strict=True):
            torch.testing.assert_close(got[s], want)
    if activation == "sigmoid":
        assert factors.flat_share.max() > 0
    with pytest.raises(ValueError, match="batch norm"):
        saturation.backprop_factors(saturation.deep_stack(3, 5, "tanh", norm="batch", n_models=2), x)


def test_backprop_factors_match_the_analytic_values_of_kaiming_leaky_relu_and_default_sigmoid():
    torch.manual_seed(4)
    x = torch.randn(3, 512, 256)
    leaky = saturation.backprop_factors(saturation.deep_stack(6, 256, "leaky_relu", init="kaiming", n_models=3), x)
    # symmetric pre-activations: E[phi'^2] = (1 + a^2) / 2; Kaiming: n Var(W) = 2 / (1 + a^2); product 1
    # (exact for the first layer, whose input is symmetric; deeper units share a little of their sign balance)
    assert ((leaky.mean_sq_slope[:, 0] - 0.52).abs() < 0.005).all()
    assert ((leaky.mean_sq_slope - 0.52).abs() < 0.04).all()
    assert ((leaky.n_var_w - 2 / 1.04).abs() < 0.05).all()
    geometric_mean = lambda t: t.log().mean(dim=1).exp()  # (S,): the factor per layer over the whole stack
    assert ((geometric_mean(leaky.predicted) - 1).abs() < 0.02).all()
    assert ((geometric_mean(leaky.measured) / geometric_mean(leaky.predicted) - 1).abs() < 0.05).all()
    assert (leaky.flat_share == 0).all()  # LeakyReLU's slope is 0.2 or 1, never flat
    sigmoid = saturation.backprop_factors(saturation.deep_stack(6, 256, "sigmoid", n_models=3), x)
    # nn.Linear's default: n Var(W) = 1/3; sigmoid' <= 1/4 caps the factor at sqrt(1/48) = 0.144
    assert ((sigmoid.n_var_w - 1 / 3).abs() < 0.01).all() and (sigmoid.mean_sq_slope <= 1 / 16).all()
    assert ((sigmoid.predicted > 0.1) & (sigmoid.predicted <= math.sqrt(1 / 48) + 1e-3)).all()
    assert ((geometric_mean(sigmoid.measured) / geometric_mean(sigmoid.predicted) - 1).abs() < 0.05).all()


def test_frozen_g_experiment_in_chunks_equals_the_one_shot_run():
    sample = datasets.ring().sample
    run = saturation.train_d_against_fixed_g([5, 6], _tiny_g, _tiny_d, sample, [0, 7], n_eval=32, batch_size=16,
                                             device="cpu")
    experiment = saturation.FrozenGExperiment([5, 6], _tiny_g, _tiny_d, sample, n_eval=32, batch_size=16,
                                              device="cpu")
    for chunk in (3, 0, 4):
        experiment.train_d(chunk)
    assert experiment.d_steps == 7
    measured = experiment.measure()
    for row, record in enumerate((run.d_real, run.d_fake, run.grad_saturating, run.grad_non_saturating)):
        torch.testing.assert_close(measured[row], record[-1])
    assert experiment.fake_points().shape == (2, 32, 2)
    with pytest.raises(ValueError, match="steps"):
        experiment.train_d(-1)


def test_train_from_sgd_saturating_stalls_and_non_saturating_moves():
    sample = datasets.ring().sample
    make_D = lambda: mlp.MLPDiscriminator(width=32, depth=2)
    start = saturation.train_d_against_fixed_g([0, 3], _tiny_g, make_D, sample, [150], lr_d=1e-2, batch_size=64,
                                               n_eval=64, device="cpu")
    before = [p.detach().clone() for p in (*start.G.parameters(), *start.D.parameters())]
    runs = {loss: saturation.train_from(start.G, start.D, sample, [10, 11], [0, 20], loss=loss, lr_g=1e-3,
                                        batch_size=64, n_eval=64, device="cpu")
            for loss in saturation.LOSS_NAMES}
    # the start was copied, not trained
    assert all(torch.equal(a, b) for a, b in zip(before, (*start.G.parameters(), *start.D.parameters()),
                                                  strict=True))
    sat, ns = runs["minimax"], runs["non_saturating"]
    assert sat.x_fake.shape == (2, 2, 64, 2) and sat.steps.tolist() == [0, 20]
    torch.testing.assert_close(sat.x_fake[0], ns.x_fake[0])  # the same start
    assert (sat.grad_g[0] < ns.grad_g[0] / 10).all()  # D is confident: the saturating gradient has vanished
    moved = {loss: (run.x_fake[-1] - run.x_fake[0]).norm(dim=-1).mean(dim=-1) for loss, run in runs.items()}
    assert (moved["non_saturating"] > 30 * moved["minimax"]).all()  # measured: 90x or more
    with pytest.raises(ValueError, match="loss"):
        saturation.train_from(start.G, start.D, sample, [0, 1], [1], loss="wasserstein", device="cpu")
    with pytest.raises(ValueError, match="g_optimizer"):
        saturation.train_from(start.G, start.D, sample, [0, 1], [1], g_optimizer="rmsprop", device="cpu")
    with pytest.raises(ValueError, match="one seed per stacked model"):
        saturation.train_from(start.G, start.D, sample, [0], [1], device="cpu")


def test_train_from_stops_with_a_clear_error_when_g_explodes():
    sample = datasets.ring().sample
    G, D = _tiny_g(), _tiny_d()
    with pytest.raises(TrainingDiverged, match="lr_g"):
        saturation.train_from(G, D, sample, [0], [0, 50], lr_g=1e8, batch_size=16, n_eval=16, device="cpu")
