"""PacGAN's networks, the maxout layer and simultaneous updates, each against a naive reference."""

import copy

import pytest
import torch
import torch.nn.functional as F

from gancourse import datasets
from gancourse.models.maxout import Maxout
from gancourse.models.minibatch import pack
from gancourse.models.pacgan import BN_EPSILON, PacGANDiscriminator, PacGANGenerator, PackedBatchNorm, n_parameters
from gancourse.training import TrainConfig, train, train_seeds
from gancourse.training.seeds import stacked_models
from gancourse.training.simultaneous import simultaneous_step
from gancourse.training.steps import make_optimizer


def naive_maxout(x, weight, bias, out_features, pieces):
    """Unit j is the max over pieces p of the affine map in column j * pieces + p, by explicit loops."""
    out = torch.empty(len(x), out_features)
    for i in range(len(x)):
        for j in range(out_features):
            values = [x[i] @ weight[:, j * pieces + p] + bias[j * pieces + p] for p in range(pieces)]
            out[i, j] = max(values)
    return out


def test_maxout_matches_a_loop_over_units_and_pieces():
    torch.manual_seed(0)
    layer = Maxout(3, 4, pieces=5)
    x = torch.randn(6, 3)
    torch.testing.assert_close(layer(x), naive_maxout(x, layer.weight.detach(), layer.bias.detach(), 4, 5))
    assert layer(x).shape == (6, 4)


def test_stacked_maxout_computes_each_seed_like_a_single_layer():
    torch.manual_seed(1)
    stacked = Maxout(3, 2, pieces=4, n_models=3)
    x = torch.randn(3, 5, 3)
    y = stacked(x)
    for s in range(3):
        expected = naive_maxout(x[s], stacked.weight[s].detach(), stacked.bias[s, 0].detach(), 2, 4)
        torch.testing.assert_close(y[s], expected)


def test_maxout_gradient_goes_to_the_winning_piece_only():
    layer = Maxout(1, 1, pieces=3)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0, -1.0]]))
        layer.bias.zero_()
    layer(torch.tensor([[1.0]])).sum().backward()  # pieces 1, 2, -1: the middle one wins
    torch.testing.assert_close(layer.weight.grad, torch.tensor([[0.0, 1.0, 0.0]]))


@pytest.mark.parametrize("bad", [{"pieces": 0}, {"out_features": -1}, {"n_models": 0}])
def test_maxout_refuses_bad_sizes(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Maxout(**{"in_features": 2, "out_features": 3, "pieces": 2, **bad})


def test_maxout_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        Maxout(3, 2)(torch.zeros(4, 2))


def test_packed_batch_norm_normalises_each_pack_position_alone():
    torch.manual_seed(2)
    bn = PackedBatchNorm(4, groups=3)
    x = torch.randn(12, 4) * 3 + 1
    y = bn(x)
    expected = torch.empty_like(x)
    for j in range(3):  # samples j, j+3, j+6, ...: one G pass of PacGAN's code each
        expected[j::3] = F.batch_norm(x[j::3], None, None, training=True, eps=BN_EPSILON)
    torch.testing.assert_close(y, expected)
    # population statistics: the groups' average mean and std, weight 0.05 on the new batch
    group_mean = torch.stack([x[j::3].mean(0) for j in range(3)]).mean(0)
    group_std = torch.stack([(x[j::3].var(0, unbiased=False) + BN_EPSILON).sqrt() for j in range(3)]).mean(0)
    torch.testing.assert_close(bn.running_mean, 0.05 * group_mean)
    torch.testing.assert_close(bn.running_std, 0.95 + 0.05 * group_std)
    bn.eval()
    torch.testing.assert_close(bn(x), (x - bn.running_mean) / bn.running_std)
    with pytest.raises(ValueError, match="multiple of pack=3"):
        bn.train()(torch.zeros(10, 4))


def test_pacgan_networks_are_built_as_their_code_builds_them():
    torch.manual_seed(3)
    G, D = PacGANGenerator(), PacGANDiscriminator()
    linears = [m for m in G.modules() if type(m).__name__ == "_Linear"]
    assert [(m.in_features, m.out_features, m.bias is not None) for m in linears] == [
        (2, 400, False), (400, 400, False), (400, 400, False), (400, 400, False), (400, 2, True)]
    assert sum(isinstance(m, PackedBatchNorm) for m in G.modules()) == 4
    maxouts = [m for m in D.modules() if isinstance(m, Maxout)]
    assert [(m.in_features, m.out_features, m.pieces) for m in maxouts] == [(2, 200, 5), (200, 200, 5), (200, 200, 5)]
    # parameters counted by hand: G 2*400 + 3*400*400 + 4*(400 + 400) + 400*2 + 2; D 3*1000 + 2*201000 + 201
    assert n_parameters(G) == 484_802 and n_parameters(D) == 405_201
    assert n_parameters(PacGANDiscriminator(pack=4)) == 405_201 + 6 * 1000  # 8 inputs instead of 2
    weights = torch.cat([m.weight.flatten() for m in (*linears, *maxouts)])
    assert 0.019 < weights.std() < 0.021 and abs(weights.mean()) < 1e-3
    assert all((m.bias == 0).all() for m in (*linears, *maxouts) if m.bias is not None)


def test_stacked_pacgan_nets_compute_each_seed_like_the_seed_alone():
    make_G = lambda: PacGANGenerator(width=16, depth=2, pack=2)  # noqa: E731
    make_D = lambda: PacGANDiscriminator(width=8, depth=2, pack=2)  # noqa: E731
    G, D = stacked_models([5, 6, 7], make_G, make_D)
    assert G.n_models == 3 and G.stacked
    z = torch.randn(3, 10, 2)
    for s, seed in enumerate([5, 6, 7]):
        G_s, D_s = stacked_models([seed], make_G, make_D)
        torch.testing.assert_close(G(z)[s], G_s(z[s]))  # train mode: batch statistics
        torch.testing.assert_close(D(pack(G(z), 2, 2))[s], D_s(pack(G_s(z[s]), 2)))
        torch.testing.assert_close(G.unstack(s)(z[s]), G_s(z[s]))
    G.eval()
    torch.testing.assert_close(G(z)[1], G.unstack(1).eval()(z[1]))  # population statistics too


def test_stacked_pacgan_training_matches_each_seed_trained_alone():
    make_G = lambda: PacGANGenerator(width=16, depth=2, pack=2)  # noqa: E731
    make_D = lambda: PacGANDiscriminator(width=8, depth=2, pieces=3, pack=2)  # noqa: E731
    config = TrainConfig(steps=6, batch_size=10, pack=2, lr_d=1e-3, lr_g=1e-3, betas=(0.8, 0.999),
                         simultaneous=True, log_every=3, progress=False)
    ring = datasets.ring()
    both = train_seeds([0, 1], make_G, make_D, ring.sample, config, device="cpu")
    alone = train_seeds([1], make_G, make_D, ring.sample, config, device="cpu")
    z = torch.randn(20, 2)
    torch.testing.assert_close(both.G.unstack(1).eval()(z), alone.G.eval()(z), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(both.history["d_loss"][:, 1], alone.history["d_loss"], rtol=1e-4, atol=1e-5)


def _naive_simultaneous(G, D, x_real, z, lr, betas):
    """Both gradients from one pass by plain autograd, then plain Adam steps on copies."""
    G, D = copy.deepcopy(G), copy.deepcopy(D)
    x_fake = G(z)
    real_logits, fake_logits = D(x_real), D(x_fake)
    d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    g_loss = F.softplus(-fake_logits).mean()
    d_grads = torch.autograd.grad(d_loss, list(D.parameters()), retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, list(G.parameters()))
    for net, grads in ((D, d_grads), (G, g_grads)):
        for p, g in zip(net.parameters(), grads, strict=True):
            p.grad = g
        torch.optim.Adam(net.parameters(), lr=lr, betas=betas).step()
    return G, D, d_loss, g_loss


def test_simultaneous_step_uses_one_pass_for_both_players():
    torch.manual_seed(4)
    G, D = PacGANGenerator(width=8, depth=1), PacGANDiscriminator(width=8, depth=1, pieces=2)
    x_real, z = datasets.ring().sample(16, torch.Generator().manual_seed(0)), torch.randn(16, 2)
    G_ref, D_ref, d_loss, g_loss = _naive_simultaneous(G, D, x_real, z, 1e-2, (0.8, 0.999))
    opt_g = make_optimizer(G.parameters(), 1e-2, (0.8, 0.999))
    opt_d = make_optimizer(D.parameters(), 1e-2, (0.8, 0.999))
    config = TrainConfig(simultaneous=True, lr_d=1e-2, lr_g=1e-2)
    d_stats, g_stats = simultaneous_step(G, D, opt_g, opt_d, x_real, z, config)
    torch.testing.assert_close(d_stats.d_loss, d_loss.detach())
    torch.testing.assert_close(g_stats.g_loss, g_loss.detach())
    for a, b in zip((*G.parameters(), *D.parameters()), (*G_ref.parameters(), *D_ref.parameters()), strict=True):
        torch.testing.assert_close(a, b)


def test_simultaneous_needs_one_d_step_and_no_unrolling():
    with pytest.raises(ValueError, match="n_critic=1"):
        TrainConfig(simultaneous=True, n_critic=5)
    with pytest.raises(ValueError, match="unrolled_steps=0"):
        TrainConfig(simultaneous=True, unrolled_steps=3)
    with pytest.raises(ValueError, match="simultaneous must be True or False"):
        TrainConfig(simultaneous="yes")


def test_simultaneous_training_records_every_step_and_differs_from_alternating():
    make = lambda: (PacGANGenerator(width=8, depth=1), PacGANDiscriminator(width=8, depth=1, pieces=2))  # noqa: E731
    runs = {}
    for simultaneous in (True, False):
        torch.manual_seed(0)
        G, D = make()
        config = TrainConfig(steps=5, batch_size=8, simultaneous=simultaneous, log_every=5, progress=False)
        runs[simultaneous] = train(G, D, datasets.ring().sample, config, device="cpu")
    assert len(runs[True].history) == 5 and torch.isfinite(runs[True].history["g_grad_norm"]).all()
    assert not torch.equal(runs[True].history["g_loss"], runs[False].history["g_loss"])
