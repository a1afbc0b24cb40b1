"""The MLPs (ordinary and stacked), DCGAN and the minibatch layers, against naive references."""

import itertools

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from gancourse.losses import LOSSES, ONE_GENERATOR_LOSSES
from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator, Flatten, LatentProjection, ToImage, dcgan_init_
from gancourse.models.minibatch import MinibatchDiscrimination, MinibatchStdDev, pack
from gancourse.models.mlp import MLPDiscriminator, MLPGenerator, ScalarLinear, StackedLinear, stack_models

S = 3  # seeds


# ---------------------------------------------------------------- minibatch layers


def naive_minibatch_discrimination(f, T):
    """The definition in COURSE.md, one pair (i, j) at a time."""
    N, (A, B, C) = f.shape[0], T.shape
    M = [(f[i] @ T.reshape(A, B * C)).reshape(B, C) for i in range(N)]
    o = torch.zeros(N, B, dtype=f.dtype)
    for i, j in itertools.product(range(N), range(N)):
        o[i] += torch.exp(-(M[i] - M[j]).abs().sum(dim=1))
    return torch.cat([f, o], dim=1)


def test_minibatch_discrimination_matches_the_definition():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, n_kernels=4, kernel_dim=3, init_std=0.5).double()
    f = torch.randn(5, 6, dtype=torch.float64)
    expected = naive_minibatch_discrimination(f, layer.T.detach())
    assert_close(layer(f), expected)
    layer.include_self = False  # the reference code's variant: j = i left out
    assert_close(layer(f), expected - torch.cat([torch.zeros(5, 6), torch.ones(5, 4)], 1).double())
    # a collapsed batch (all rows equal) gets the largest possible o = N
    assert_close(layer(f[:1].expand(5, 6))[:, 6:].double(), torch.full((5, 4), 4.0, dtype=torch.float64))


def test_stacked_minibatch_discrimination_is_per_seed():
    torch.manual_seed(1)
    layer = MinibatchDiscrimination(6, n_kernels=4, kernel_dim=3, n_models=S, init_std=0.5)
    f = torch.randn(S, 5, 6)
    out = layer(f)
    for s in range(S):
        assert_close(out[s], naive_minibatch_discrimination(f[s], layer.T[s].detach()))
    with pytest.raises(ValueError, match=r"\(S, N, A\)"):
        layer(f[0])


def naive_minibatch_stddev(x, group_size):
    B = x.shape[0]
    M = B // group_size
    stats = torch.empty(B)
    for b in range(B):
        members = x[b % M :: M]  # sample b's group, as in the reference code's reshape
        stats[b] = (members.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
    return torch.cat([x, stats.view(B, 1, *[1] * (x.dim() - 2)).expand(B, 1, *x.shape[2:])], dim=1)


@pytest.mark.parametrize("shape", [(8, 5), (8, 3, 4, 4)])
def test_minibatch_stddev_matches_naive(shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(2))
    assert_close(MinibatchStdDev(4)(x), naive_minibatch_stddev(x, 4))
    stacked = torch.stack([x, 2 * x])  # (S, B, ...) per seed
    out = MinibatchStdDev(4, batch_dims=2)(stacked)
    assert_close(out[1], naive_minibatch_stddev(2 * x, 4))
    with pytest.raises(ValueError, match="multiple of group_size"):
        MinibatchStdDev(3)(x)


def test_minibatch_stddev_with_a_batch_smaller_than_its_group_takes_the_whole_batch_as_the_group():
    x = torch.randn(3, 2, 4, 4, generator=torch.Generator().manual_seed(16))
    out = MinibatchStdDev(group_size=4)(x)  # B = 3 < 4: one group of 3
    by_hand = (x.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()  # one number for the whole batch
    assert out.shape == (3, 3, 4, 4)
    assert_close(out[:, :2], x)
    assert_close(out[:, 2], by_hand.expand(3, 4, 4))
    stacked = MinibatchStdDev(group_size=8, batch_dims=2)(torch.stack([x.flatten(1), 3 * x.flatten(1)]))
    assert_close(stacked[1, :, -1], 3 * (x.flatten(1).var(dim=0, unbiased=False) + 1e-8 / 9).sqrt().mean().expand(3))


def test_pack_puts_consecutive_samples_in_a_row():
    x = torch.arange(12.0).view(6, 2)
    packed = pack(x, 3)
    assert packed.shape == (2, 6)
    for k in range(2):
        assert_close(packed[k], torch.cat([x[3 * k], x[3 * k + 1], x[3 * k + 2]]))
    images = torch.randn(6, 2, 3, 3)
    packed_images = pack(images, 2)
    assert packed_images.shape == (3, 4, 3, 3)
    assert_close(packed_images[1], torch.cat([images[2], images[3]], dim=0))
    assert_close(pack(torch.stack([x, -x]), 3, batch_dims=2)[1], pack(-x, 3))
    with pytest.raises(ValueError, match="not divisible"):
        pack(x, 4)


# ---------------------------------------------------------------- MLPs, stacked seeds


def mlp_pairs():
    torch.manual_seed(3)
    Gs = [MLPGenerator(z_dim=3, width=16, depth=2, norm="batch") for _ in range(S)]
    Ds = [
        MLPDiscriminator(width=16, depth=2, minibatch_discrimination=True, minibatch_stddev=True, pack=2,
                         n_kernels=8)
        for _ in range(S)
    ]
    return Gs, Ds


def test_stacked_seed_computes_what_its_model_computes():
    Gs, Ds = mlp_pairs()
    G, D = MLPGenerator.stack(Gs), stack_models(Ds)
    assert (G.n_models, D.n_models, Gs[0].n_models) == (S, S, 1)
    z = torch.randn(S, 8, 3)
    x_fake = G(z)  # train mode: batch norm uses each seed's own batch statistics
    logits = D(pack(x_fake, 2, batch_dims=2))
    assert x_fake.shape == (S, 8, 2) and logits.shape == (S, 4, 1)
    for s in range(S):
        x_fake_s = Gs[s](z[s])
        assert_close(x_fake[s], x_fake_s)
        assert_close(logits[s], Ds[s](pack(x_fake_s, 2)))
        # running statistics were updated per seed as well
        assert_close(G.net[1].running_mean.view(S, -1)[s], Gs[s].net[1].running_mean)
    G.eval()
    assert_close(G.unstack(1).eval()(z[1]), Gs[1].eval()(z[1]))
    assert_close(D.unstack(2)(pack(x_fake[2], 2)), logits[2])


def test_stacked_gradients_are_independent_per_seed():
    Gs, Ds = mlp_pairs()
    G, D = MLPGenerator.stack(Gs), MLPDiscriminator.stack(Ds)
    z = torch.randn(S, 8, 3)
    loss = LOSSES["non_saturating"].g(D(pack(G(z), 2, batch_dims=2))) * S  # mean over seeds -> sum
    loss.backward()
    for s in range(S):
        LOSSES["non_saturating"].g(Ds[s](pack(Gs[s](z[s]), 2))).backward()
        assert_close(G.net[0].weight.grad[s], Gs[s].net[0].weight.grad.T)
        assert_close(G.net[-1].bias.grad[s, 0], Gs[s].net[-1].bias.grad)
        assert_close(D.net[0].weight.grad[s], Ds[s].net[0].weight.grad.T)
        assert_close(D.net[4].T.grad[s], Ds[s].net[4].T.grad)  # minibatch discrimination's T


def test_mlp_errors_say_what_is_expected():
    D = MLPDiscriminator(in_dim=2)
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        D(torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"\(S, B, 2\) with S=3"):
        MLPGenerator(n_models=3)(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="leaky_relu"):
        MLPGenerator(activation="elu")
    with pytest.raises(ValueError, match="batch"):
        MLPGenerator(norm="layer")
    with pytest.raises(ValueError, match="different settings"):
        MLPGenerator.stack([MLPGenerator(width=8), MLPGenerator(width=16)])
    with pytest.raises(ValueError, match="ordinary"):
        MLPDiscriminator.stack([MLPGenerator()])


# ---------------------------------------------------------------- DCGAN


@pytest.mark.parametrize("image_size", [28, 32, 64])
def test_dcgan_shapes_and_range(image_size):
    torch.manual_seed(4)
    G = DCGANGenerator(z_dim=8, image_size=image_size, channels=3, width=8)
    D = DCGANDiscriminator(image_size=image_size, channels=3, width=8, minibatch_stddev=True)
    x_fake = G(torch.randn(4, 8))
    assert x_fake.shape == (4, 3, image_size, image_size)
    assert -1 <= x_fake.min() and x_fake.max() <= 1
    assert D(x_fake).shape == (4, 1)


def test_dcgan_init_and_guidelines():
    torch.manual_seed(5)
    G, D = DCGANGenerator(width=16), DCGANDiscriminator(width=16)
    big = G.net[3].weight  # ConvTranspose2d(32, 16, 4, 4): 8192 weights
    assert 0.018 < big.std() < 0.022 and abs(big.mean()) < 0.002
    bn = G.net[1].weight
    assert 0.9 < bn.min() and bn.max() < 1.1 and bn.std() > 0
    # no norm right after D's first conv; LeakyReLU(0.2); tanh output in G
    assert isinstance(D.net[1], nn.LeakyReLU) and D.net[1].negative_slope == 0.2
    assert isinstance(G.net[-1], nn.Tanh)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in DCGANDiscriminator(norm="spectral").modules())


def _conv_and_linear_layers(model):
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]


def test_spectral_norm_dcgan_d_has_every_layer_at_largest_singular_value_one():
    torch.manual_seed(12)
    D = DCGANDiscriminator(width=8, norm="spectral").train()
    layers = _conv_and_linear_layers(D)
    assert len(layers) == 3 and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    x = torch.randn(16, 1, 28, 28)
    for _ in range(30):  # each forward pass in train mode is one power iteration
        D(x)
    D.eval()
    for m in layers:
        raw = m.parametrizations.weight.original  # (out, in, k, k) or (out, in)
        sigma_raw = torch.linalg.matrix_norm(raw.detach().reshape(len(raw), -1), ord=2)
        sigma = torch.linalg.matrix_norm(m.weight.detach().reshape(len(raw), -1), ord=2)  # by SVD, independent
        assert sigma == pytest.approx(1.0, abs=0.03)
        assert sigma_raw < 0.9  # N(0, 0.02) weights: the raw largest singular value is far from 1
    # the same net without the constraint keeps its raw weights
    torch.manual_seed(12)
    plain = DCGANDiscriminator(width=8, norm="none")
    assert not any(nn.utils.parametrize.is_parametrized(m, "weight") for m in _conv_and_linear_layers(plain))


@pytest.mark.parametrize("norm", ["none", "batch", "instance", "spectral"])
def test_dcgan_init_zeroes_biases_and_draws_weights_from_n_0_002(norm):
    torch.manual_seed(13)
    for model in (DCGANGenerator(z_dim=8, width=8, norm=norm), DCGANDiscriminator(width=8, norm=norm)):
        biases = [m.bias for m in model.modules() if getattr(m, "bias", None) is not None]
        assert biases and all(torch.equal(b, torch.zeros_like(b)) for b in biases)
    # a naive reference: N(0, 0.02) drawn layer by layer, in module order, from the same generator
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Linear(4, 5))
    dcgan_init_(net, generator=torch.Generator().manual_seed(14))
    gen = torch.Generator().manual_seed(14)
    conv_w = torch.empty(3, 2, 3, 3).normal_(0.0, 0.02, generator=gen)
    bn_w = torch.empty(3).normal_(1.0, 0.02, generator=gen)
    lin_w = torch.empty(5, 4).normal_(0.0, 0.02, generator=gen)
    assert torch.equal(net[0].weight, conv_w) and torch.equal(net[1].weight, bn_w)
    assert torch.equal(net[2].weight, lin_w)
    for m in net:
        assert torch.equal(m.bias, torch.zeros_like(m.bias))


def test_instance_norm_dcgan_layers_learn_a_scale_and_shift_per_channel():
    torch.manual_seed(15)
    G = DCGANGenerator(z_dim=8, width=8, norm="instance")
    D = DCGANDiscriminator(width=8, norm="instance")
    norms = [m for model in (G, D) for m in model.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 3  # after G's two hidden layers and after D's second conv (none after D's first)
    for m in norms:
        assert m.affine and m.weight.shape == m.bias.shape == (m.num_features,)
        assert 0.9 < m.weight.min() and m.weight.max() < 1.1 and m.weight.std() > 0  # DCGAN init: N(1, 0.02)
        assert {id(m.weight), id(m.bias)} <= {id(p) for p in (*G.parameters(), *D.parameters())}
    # what the layer computes, by hand: each sample's channel normalised over its pixels, then scaled and shifted
    m = norms[-1]
    with torch.no_grad():
        m.weight.uniform_(0.5, 2.0)
        m.bias.uniform_(-1.0, 1.0)
    x = torch.randn(3, m.num_features, 5, 5)
    mean, var = x.mean(dim=(2, 3), keepdim=True), x.var(dim=(2, 3), unbiased=False, keepdim=True)
    by_hand = (x - mean) / torch.sqrt(var + m.eps) * m.weight.view(1, -1, 1, 1) + m.bias.view(1, -1, 1, 1)
    assert_close(m(x), by_hand, rtol=1e-4, atol=1e-5)


def test_dcgan_errors_say_what_is_expected():
    with pytest.raises(ValueError, match="28, 32, 64"):
        DCGANGenerator(image_size=48)
    with pytest.raises(ValueError, match=r"\(B, 2, 28, 28\)"):
        DCGANDiscriminator(width=8, pack=2)(torch.zeros(4, 1, 28, 28))
    with pytest.raises(ValueError, match=r"\(B, 64\)"):
        DCGANGenerator(width=8)(torch.zeros(4, 32))
    with pytest.raises(ValueError, match="spectral"):
        DCGANDiscriminator(norm="group")


def _library_copy(layer: nn.ConvTranspose2d) -> nn.ConvTranspose2d:
    """The plain nn.ConvTranspose2d with ``layer``'s arguments and weights: the reference."""
    ref = nn.ConvTranspose2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                             bias=layer.bias is not None)
    ref.load_state_dict(layer.state_dict())
    return ref


def _assert_same_function(layer: nn.Module, ref: nn.Module, x: torch.Tensor, memory_format) -> torch.Tensor:
    """``layer`` (in ``memory_format``) and the library layer ``ref`` agree on ``x``: output, input and weight grads."""
    x = x.contiguous(memory_format=memory_format).requires_grad_(True)
    x_ref = x.detach().contiguous().requires_grad_(True)
    out, expected = layer(x), ref(x_ref)
    assert_close(out, expected)
    assert out.is_contiguous(memory_format=memory_format)  # no reorder for the next layer
    grad_out = torch.randn_like(expected)
    out.backward(grad_out)
    expected.backward(grad_out)
    assert_close(x.grad, x_ref.grad)
    for p, q in zip(layer.parameters(), ref.parameters(), strict=True):
        assert_close(p.grad, q.grad)
    return out


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("bias", [False, True])
def test_latent_projection_is_the_transposed_conv_on_a_1x1_input(memory_format, bias):
    torch.manual_seed(8)
    layer = LatentProjection(6, 5, 7, bias=bias)
    if bias:
        nn.init.normal_(layer.bias)
    ref = _library_copy(layer)
    layer.to(memory_format=memory_format)
    out = _assert_same_function(layer, ref, torch.randn(4, 6, 1, 1), memory_format)
    assert out.shape == (4, 5, 7, 7)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("channels, side", [(1, 7), (3, 8)])
def test_to_image_is_the_transposed_conv(memory_format, channels, side):
    torch.manual_seed(9)
    layer = ToImage(6, channels, 4, 2, 1)
    nn.init.normal_(layer.bias)
    ref = _library_copy(layer)
    layer.to(memory_format=memory_format)
    out = _assert_same_function(layer, ref, torch.randn(4, 6, side, side), memory_format)
    assert out.shape == (4, channels, 2 * side, 2 * side)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_flatten_equals_nn_flatten_and_hands_back_the_gradient_in_the_input_format(memory_format):
    torch.manual_seed(11)
    head = nn.Linear(3 * 4 * 4, 1)
    seen = []

    def D(flatten, x):  # a critic whose input gradient passes through the flatten's backward
        features = torch.nn.functional.leaky_relu(x, 0.2)
        features.register_hook(seen.append)  # the gradient the flatten hands back
        return head(flatten(features))

    x = torch.randn(5, 3, 4, 4).contiguous(memory_format=memory_format)
    assert torch.equal(Flatten()(x), nn.Flatten()(x))
    # R1-style double backward: the penalty on the input gradient, backpropagated into D's weights
    penalties = []
    for flatten in (Flatten(), nn.Flatten()):
        x_in = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(D(flatten, x_in).sum(), x_in, create_graph=True)
        penalties.append(grad.square().sum())
    assert seen[0].is_contiguous(memory_format=memory_format)
    assert_close(seen[0], seen[1])
    assert_close(penalties[0], penalties[1])
    (w_ours,) = torch.autograd.grad(penalties[0], head.weight)
    (w_ref,) = torch.autograd.grad(penalties[1], head.weight)
    assert_close(w_ours, w_ref)


def test_dcgan_generator_layers_keep_the_transposed_conv_init_and_spectral_norm():
    """Both fast layers are ConvTranspose2d subclasses: DCGAN's init and spectral norm treat them as before."""
    torch.manual_seed(10)
    G = DCGANGenerator(z_dim=16, width=32)
    first, last = G.net[0], G.net[-2]
    assert isinstance(first, LatentProjection) and isinstance(last, ToImage)
    assert first.weight.shape == (16, 64, 7, 7) and last.weight.shape == (32, 1, 4, 4)
    assert 0.018 < first.weight.std() < 0.022
    G_sn = DCGANGenerator(z_dim=16, width=32, norm="spectral")
    assert nn.utils.parametrize.is_parametrized(G_sn.net[0], "weight")
    assert nn.utils.parametrize.is_parametrized(G_sn.net[-2], "weight")
    assert G_sn(torch.randn(4, 16)).shape == (4, 1, 28, 28)


def test_dcgan_channels_last_and_autocast():
    torch.manual_seed(6)
    G = DCGANGenerator(z_dim=8, width=8).eval()
    D = DCGANDiscriminator(width=8, minibatch_discrimination=True, n_kernels=4).eval()
    z = torch.randn(4, 8)
    x = G(z)
    expected = D(x)
    G_cl, D_cl = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    assert_close(G_cl(z), x)
    assert_close(D_cl(x.contiguous(memory_format=torch.channels_last)), expected)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = D(G(z))
    assert torch.isfinite(logits).all()
    assert_close(logits.float(), expected, atol=0.05, rtol=0.05)


# ---------------------------------------------------------------- one training step, every model x loss


def tiny_models(kind):
    torch.manual_seed(7)
    if kind == "mlp":
        return MLPGenerator(width=8, depth=2), MLPDiscriminator(width=8, depth=2), torch.randn(8, 2), (8, 2)
    if kind == "mlp_stacked":
        G = MLPGenerator(width=8, depth=2, n_models=2, norm="batch")
        D = MLPDiscriminator(width=8, depth=2, n_models=2, minibatch_discrimination=True, n_kernels=4)
        return G, D, torch.randn(2, 8, 2), (2, 8, 2)
    if kind == "dcgan":
        return DCGANGenerator(z_dim=8, width=8), DCGANDiscriminator(width=8), torch.rand(4, 1, 28, 28), (4, 8)
    G = DCGANGenerator(z_dim=8, width=8, norm="none")
    D = DCGANDiscriminator(width=8, norm="spectral", minibatch_stddev=True)
    return G, D, torch.rand(4, 1, 28, 28), (4, 8)


@pytest.mark.parametrize("kind", ["mlp", "mlp_stacked", "dcgan", "dcgan_spectral"])
# MAD-GAN's loss needs a (k+1)-way D and k generators: tests/test_multi_generator.py steps it
@pytest.mark.parametrize("loss_name", ONE_GENERATOR_LOSSES)
def test_one_step_gives_finite_gradients(kind, loss_name):
    G, D, x_real, z_shape = tiny_models(kind)
    loss = LOSSES[loss_name]
    z = torch.randn(z_shape)
    d_loss = loss.d(D(x_real), D(G(z).detach()))
    d_loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in D.parameters())
    assert all(p.grad is None for p in G.parameters())  # x_fake was detached for the D step
    D.zero_grad()
    loss.g(D(G(z))).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in G.parameters())
    assert any(p.grad.abs().sum() > 0 for p in G.parameters())


def test_D_output_layers_are_linear_layers_with_one_output():
    """ScalarLinear (one seed) and StackedLinear with one output compute nn.Linear's logit as a dot product."""
    layer = ScalarLinear(6)
    x = torch.randn(5, 6)
    assert_close(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias))
    assert set(layer.state_dict()) == {"weight", "bias"} and layer.weight.shape == (1, 6)
    stacked = StackedLinear(6, 1, n_models=3)
    xs = torch.randn(3, 5, 6)
    assert_close(stacked(xs), torch.baddbmm(stacked.bias, xs, stacked.weight))


# ---------------------------------------------------------------- PReLU


def test_prelu_is_max_plus_learned_slope_times_min_and_stacks_per_seed():
    from gancourse.models import mlp

    x = torch.linspace(-3, 3, 13)
    assert_close(mlp.make_activation("prelu")(x), torch.where(x >= 0, x, 0.25 * x))  # He et al. 2015's init
    assert mlp.negative_slope("prelu") == 0.25 and mlp.negative_slope("tanh") is None
    Ds = []
    for s in range(S):
        torch.manual_seed(s)
        D = MLPDiscriminator(width=6, depth=2, activation="prelu")
        with torch.no_grad():  # give every seed its own learned slopes
            D.net[1].weight.fill_(0.1 * (s + 1))
            D.net[3].weight.fill_(-0.3 * s)
        Ds.append(D)
    D = MLPDiscriminator.stack(Ds)
    assert isinstance(D.net[1], mlp.StackedPReLU) and D.net[1].weight.shape == (S, 1, 1)
    x = torch.randn(S, 5, 2)
    logits = D(x)
    logits.sum().backward()
    for s in range(S):
        assert_close(logits[s], Ds[s](x[s]))
        Ds[s](x[s]).sum().backward()
        assert_close(D.net[1].weight.grad[s].view(1), Ds[s].net[1].weight.grad)  # each seed's own slope gradient
    assert_close(D.unstack(2).net[3].weight, Ds[2].net[3].weight)
    # stacked models of any width: one slope per seed, so seeds never share a parameter
    G = MLPGenerator(activation="prelu", n_models=4)
    assert sum(p.numel() for m in G.modules() if isinstance(m, mlp.StackedPReLU) for p in m.parameters()) == 4 * 3


def test_dcgan_and_the_batch_norm_discriminator_accept_the_new_options():
    from gancourse.models import mlp

    D = DCGANDiscriminator(image_size=28, channels=1, width=8, activation="prelu")
    assert D(torch.randn(2, 1, 28, 28)).shape == (2, 1)
    assert any(isinstance(m, nn.PReLU) for m in D.modules())
    Ds = [MLPDiscriminator(width=6, depth=2, activation="sigmoid", norm="batch") for _ in range(S)]
    D = MLPDiscriminator.stack(Ds)
    assert any(isinstance(m, mlp.StackedBatchNorm1d) for m in D.modules())
    x = torch.randn(S, 7, 2)
    logits = D(x)
    for s in range(S):
        assert_close(logits[s], Ds[s](x[s]))
    with pytest.raises(ValueError, match="norm"):
        MLPDiscriminator(norm="layer")
