import math

import pytest
import torch
from torch import nn

from gancourse import diagnostics
from gancourse.losses import get_loss


def _linear(weight, bias):
    layer = nn.Linear(len(weight[0]), len(weight))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias))
    return layer


def _two_layer():
    # no activation, so the gradients have a closed form
    return nn.Sequential(_linear([[1.0, 2.0], [0.5, -1.0]], [0.1, -0.2]), _linear([[3.0, -4.0]], [0.0]))


def _hand_norms(net, x):
    """Gradient norms of loss = sum_i net(x_i), by hand: out = W2 (W1 x + b1) + b2."""
    W1, b1, W2 = net[0].weight.detach(), net[0].bias.detach(), net[1].weight.detach()
    B = len(x)
    h_sum = (x @ W1.T + b1).sum(0)  # sum_i h_i, (2,)
    d_W2, d_b2 = h_sum[None], torch.tensor([float(B)])
    d_W1 = W2.T @ x.sum(0)[None]  # (2, 1) @ (1, 2)
    d_b1 = B * W2[0]
    norm = lambda *gs: torch.cat([g.flatten() for g in gs]).square().sum().sqrt()
    return {"0": norm(d_W1, d_b1), "1": norm(d_W2, d_b2)}, {"0": norm(d_W1), "1": norm(d_W2)}


def test_layer_grad_norms_match_hand_computed_two_layer_linear_model():
    net, x = _two_layer(), torch.tensor([[1.0, 0.0], [2.0, -1.0], [0.5, 0.5]])
    both, weights = _hand_norms(net, x)
    net(x).sum().backward()
    norms = diagnostics.layer_grad_norms(net)
    assert list(norms) == ["0", "1"]
    torch.testing.assert_close(norms, both)
    torch.testing.assert_close(diagnostics.layer_grad_norms(net, weights_only=True), weights)


def test_grad_norms_of_equals_backward_and_leaves_grad_alone():
    net, x = _two_layer(), torch.tensor([[1.0, 0.0], [2.0, -1.0], [0.5, 0.5]])
    both, _ = _hand_norms(net, x)
    norms = diagnostics.grad_norms_of(net(x).sum(), net)
    torch.testing.assert_close(norms, both)
    assert all(p.grad is None for p in net.parameters())


def test_bare_layer_is_named_by_its_class_and_unused_layers_count_as_zero():
    layer = _linear([[2.0, 3.0]], [1.0])
    norms = diagnostics.grad_norms_of(layer(torch.tensor([[1.0, 1.0]])).sum(), layer)
    torch.testing.assert_close(norms, {"Linear": torch.tensor([1.0, 1.0, 1.0]).norm()})
    net = nn.ModuleDict({"used": nn.Linear(2, 1), "unused": nn.Linear(2, 1)})
    norms = diagnostics.grad_norms_of(net["used"](torch.ones(1, 2)).sum(), net)
    torch.testing.assert_close(norms["unused"], torch.tensor(0.0))
    assert norms["used"] > 0


def test_layer_grad_norms_without_backward_says_what_to_do():
    with pytest.raises(ValueError, match="backward"):
        diagnostics.layer_grad_norms(_two_layer())
    with pytest.raises(ValueError, match="scalar"):
        net = _two_layer()
        diagnostics.grad_norms_of(net(torch.ones(3, 2)), net)


def _g_and_d():
    """Linear G(z) = A z + c and linear D(x) = w.x + b whose bias makes it reject G's samples."""
    G = _linear([[1.0, 0.5, -0.5], [0.2, -1.0, 0.3]], [0.5, -0.5])
    D = _linear([[2.0, -1.0]], [-8.0])
    return G, D


@pytest.mark.parametrize("loss, dl_dt", [
    ("minimax", lambda t: -torch.sigmoid(t)),  # d/dt -softplus(t)
    ("non_saturating", lambda t: torch.sigmoid(t) - 1.0),  # d/dt softplus(-t)
])
def test_generator_grad_norm_matches_closed_form(loss, dl_dt):
    G, D = _g_and_d()
    z = torch.randn(16, 3, generator=torch.Generator().manual_seed(0))
    t = D(G(z)).detach()[:, 0]  # (B,)
    w = D.weight.detach()[0]  # (2,)
    coef = dl_dt(t) / len(z)  # d(mean loss)/dt_i
    d_A = (coef[:, None, None] * w[None, :, None] * z[:, None, :]).sum(0)  # sum_i coef_i w z_i^T
    d_c = coef.sum() * w
    expected = torch.cat([d_A.flatten(), d_c]).norm()
    torch.testing.assert_close(diagnostics.generator_grad_norm(G, D, z, loss), expected)
    assert all(p.grad is None for p in [*G.parameters(), *D.parameters()])


def test_saturating_loss_starves_g_when_d_is_confident():
    G, D = _g_and_d()
    with torch.no_grad():
        D.bias.fill_(-20.0)
    z = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
    assert torch.sigmoid(D(G(z))).max() < 0.05  # D confidently rejects every fake
    sat = diagnostics.generator_grad_norm(G, D, z, "minimax")
    ns = diagnostics.generator_grad_norm(G, D, z, "non_saturating")
    assert ns > 100 * sat > 0


def test_discriminator_output_stats_against_a_naive_loop():
    D = _linear([[1.0, -1.0]], [0.0])
    gen = torch.Generator().manual_seed(2)
    x_real, x_fake = torch.randn(10, 2, generator=gen) + 1.0, torch.randn(6, 2, generator=gen)
    stats = diagnostics.discriminator_output_stats(D, x_real, x_fake)
    sigmoid = lambda t: 1.0 / (1.0 + math.exp(-t))  # D(x) = sigmoid(x_0 - x_1)
    p_real = [sigmoid(a - b) for a, b in x_real.tolist()]
    p_fake = [sigmoid(a - b) for a, b in x_fake.tolist()]
    mean = lambda v: sum(v) / len(v)
    std = lambda v: (sum((u - mean(v)) ** 2 for u in v) / len(v)) ** 0.5
    correct = sum(p > 0.5 for p in p_real) + sum(p < 0.5 for p in p_fake)
    expected = {"d_real_mean": mean(p_real), "d_real_std": std(p_real), "d_fake_mean": mean(p_fake),
                "d_fake_std": std(p_fake), "accuracy": correct / 16}
    for key, value in expected.items():
        torch.testing.assert_close(stats[key], torch.tensor(value), msg=key)
    torch.testing.assert_close(stats["d_fake"], torch.tensor(p_fake))
    assert 0 < stats["accuracy"] < 1  # the mixed case, not a trivial 0 or 1


@pytest.mark.parametrize("loss, dl_dt", [
    ("minimax", lambda t: -torch.sigmoid(t)),
    ("non_saturating", lambda t: torch.sigmoid(t) - 1.0),
    ("wasserstein", lambda t: -torch.ones_like(t)),
])
def test_input_gradient_field_is_per_sample_dl_dt_times_w(loss, dl_dt):
    D = _linear([[2.0, -1.0]], [0.5])
    points = torch.tensor([[0.0, 0.0], [1.0, 2.0], [-3.0, 1.0]])
    t = points @ torch.tensor([2.0, -1.0]) + 0.5
    expected = dl_dt(t)[:, None] * torch.tensor([2.0, -1.0])
    torch.testing.assert_close(diagnostics.input_gradient_field(D, points, loss), expected)
    with torch.no_grad():  # still works: the function turns gradients back on
        torch.testing.assert_close(diagnostics.input_gradient_field(D, points, loss), expected)


def test_input_gradient_field_rejects_bad_shapes_and_loss_names():
    D = nn.Linear(2, 1)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        diagnostics.input_gradient_field(D, torch.zeros(2))
    with pytest.raises(ValueError, match="non_saturating"):
        diagnostics.input_gradient_field(D, torch.zeros(3, 2), "nope")


def test_mean_pairwise_distance_against_a_double_loop():
    x = torch.randn(3, 7, 2, generator=torch.Generator().manual_seed(3))

    def naive(batch):
        d = [(batch[i] - batch[j]).norm() for i in range(len(batch)) for j in range(len(batch)) if i != j]
        return torch.stack(d).mean()

    torch.testing.assert_close(diagnostics.mean_pairwise_distance(x[0]), naive(x[0]))
    torch.testing.assert_close(diagnostics.mean_pairwise_distance(x, batch_dims=2),
                               torch.stack([naive(b) for b in x]))
    torch.testing.assert_close(diagnostics.mean_pairwise_distance(torch.ones(5, 2)), torch.tensor(0.0))
    with pytest.raises(ValueError, match="B >= 2"):
        diagnostics.mean_pairwise_distance(torch.ones(1, 2))



def _stacked_pair(n_models=3):
    from gancourse.models.mlp import MLPDiscriminator, MLPGenerator

    torch.manual_seed(0)
    Gs = [MLPGenerator(z_dim=2, width=8, depth=2) for _ in range(n_models)]
    Ds = [MLPDiscriminator(width=8, depth=2) for _ in range(n_models)]
    return Gs, Ds, MLPGenerator.stack(Gs), MLPDiscriminator.stack(Ds)


def test_stacked_seeds_give_each_seed_its_own_norms_and_stats():
    Gs, Ds, G, D = _stacked_pair()
    z = torch.randn(3, 16, 2, generator=torch.Generator().manual_seed(4))  # (S, B, z_dim)
    per_seed = [diagnostics.generator_grad_norm(g, d, zs) for g, d, zs in zip(Gs, Ds, z, strict=True)]
    torch.testing.assert_close(diagnostics.generator_grad_norm(G, D, z), torch.stack(per_seed))
    # the sum of the seeds' losses keeps their gradients apart, layer by layer
    stacked = diagnostics.grad_norms_of(G(z).square().sum(), G)
    single = [diagnostics.grad_norms_of(g(zs).square().sum(), g) for g, zs in zip(Gs, z, strict=True)]
    assert list(stacked) == list(single[0]) == ["net.0", "net.2", "net.4"]
    for name, norms in stacked.items():
        torch.testing.assert_close(norms, torch.stack([s[name] for s in single]))
    x_real = torch.randn(3, 10, 2, generator=torch.Generator().manual_seed(5))
    stats = diagnostics.discriminator_output_stats(D, x_real, G(z).detach())
    for s in range(3):
        one = diagnostics.discriminator_output_stats(Ds[s], x_real[s], Gs[s](z[s]).detach())
        for key in one:
            torch.testing.assert_close(stats[key][s], one[key], msg=key)


def test_generator_motion_matches_a_small_sgd_step():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)).double()
    D = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    z = torch.randn(32, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    motion = diagnostics.generator_motion(G, D, z, "non_saturating")
    x_before, lr = G(z).detach(), 1e-5
    opt_g = torch.optim.SGD(G.parameters(), lr)
    get_loss("non_saturating").g(D(G(z))).backward()
    opt_g.step()
    torch.testing.assert_close(motion, (G(z).detach() - x_before) / lr, rtol=1e-3, atol=1e-6)
    # where the samples would go alone is another field: shared parameters move them together
    wish = -diagnostics.input_gradient_field(D, x_before) / len(z)
    assert not torch.allclose(motion, wish, rtol=0.1)


def test_generator_motion_leaves_batch_norm_statistics_alone():
    G = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    before = {k: v.clone() for k, v in G.state_dict().items()}
    motion = diagnostics.generator_motion(G, nn.Linear(2, 1), torch.randn(16, 2))
    assert motion.shape == (16, 2) and motion.abs().sum() > 0
    torch.testing.assert_close(G.state_dict(), before)


# ---------------------------------------------------------------- per-sample gradient norms


def _naive_per_sample_rms(net, x, weights, n=None):
    """RMS over samples i of ||d net(x)[i] / dW||, one autograd call per sample (the definition)."""
    logits = net(x)
    n = n or x.shape[-2]
    rows = []
    for i in range(n):
        grads = torch.autograd.grad(logits[..., i, 0].sum(), weights, retain_graph=True)
        rows.append(torch.stack([g.flatten(1).norm(dim=1) if g.dim() == 3 else g.norm() for g in grads]))
    return torch.stack(rows).square().mean(dim=0).sqrt()  # (L,) or (L, S)


def test_per_sample_grad_norms_match_one_backward_per_sample():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
    x = torch.randn(7, 3)
    norms = diagnostics.per_sample_grad_norms(net, x)
    expected = _naive_per_sample_rms(net, x, [net[0].weight, net[2].weight, net[4].weight])
    torch.testing.assert_close(torch.stack([norms["0"], norms["2"], norms["4"]]), expected)
    # each sample's own gradient is at least as large as the gradient of the batch mean, per layer
    mean_norms = diagnostics.grad_norms_of(net(x).mean(), net, weights_only=True)
    assert all(norms[k] >= mean_norms[k] - 1e-7 for k in norms)


def test_per_sample_grad_norms_of_stacked_seeds_and_of_a_batch_norm_stack():
    from gancourse.diagnostics import saturation

    torch.manual_seed(1)
    stack = saturation.deep_stack(depth=3, width=6, activation="sigmoid", n_models=2)
    x = torch.randn(2, 9, 6)
    weights = [m.weight for m in stack if hasattr(m, "weight")]
    norms = diagnostics.per_sample_grad_norms(stack, x)
    torch.testing.assert_close(torch.stack([norms[str(i)] for i in (0, 2, 4, 6)]),
                               _naive_per_sample_rms(stack, x, weights))
    # batch norm couples the samples: the first n_samples logits are differentiated through the whole batch
    bn = saturation.deep_stack(depth=2, width=5, activation="tanh", norm="batch", n_models=2)
    x = torch.randn(2, 8, 5)
    weights = [m.weight for m in bn if type(m).__name__ == "StackedLinear"]
    norms = diagnostics.per_sample_grad_norms(bn, x, n_samples=3)
    torch.testing.assert_close(torch.stack([norms[str(i)] for i in (0, 3, 6)]),
                               _naive_per_sample_rms(bn, x, weights, n=3))
    with pytest.raises(ValueError, match="n_samples"):
        diagnostics.per_sample_grad_norms(bn, x, n_samples=0)


def test_backprop_signals_are_each_samples_input_and_output_gradient():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1))
    x = torch.randn(5, 2)
    logits, signals = diagnostics.backprop_signals(net, x)
    torch.testing.assert_close(logits, net(x).detach())
    a0, delta0 = signals["0"]
    torch.testing.assert_close(a0, x)
    for i in range(5):  # sample i alone: its logit's gradient w.r.t. its own first-layer output
        h = net[0](x[i : i + 1]).detach().requires_grad_(True)
        (expected,) = torch.autograd.grad(net[2](net[1](h)).sum(), h)
        torch.testing.assert_close(delta0[i : i + 1], expected)
    torch.testing.assert_close(signals["2"][1], torch.ones(5, 1))  # d logit / d logit
    with pytest.raises(ValueError, match="couples the samples"):
        diagnostics.backprop_signals(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1)), x)
    with pytest.raises(ValueError, match="one logit per sample"):
        diagnostics.per_sample_grad_norms(nn.Linear(2, 3), x)
