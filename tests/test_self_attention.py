"""SAGAN's self-attention against the paper's equations written one position at a time, and as D's option."""

import pytest
import torch
from torch.testing import assert_close

from gancourse.models.dcgan import DCGANDiscriminator
from gancourse.models.self_attention import SelfAttention2d


def naive_self_attention(layer: SelfAttention2d, x: torch.Tensor) -> torch.Tensor:
    """Zhang et al. (2019), eq. 1-3, with explicit sums over channels and positions."""
    B, C, H, W = x.shape
    N = H * W

    def conv1x1(conv, features):  # features (C_in,) at one position -> (C_out,)
        return conv.weight[:, :, 0, 0] @ features + conv.bias

    out = torch.empty_like(x)
    for b in range(B):
        xs = [x[b, :, n // W, n % W] for n in range(N)]  # position n = (row, column) in raster order
        f = [conv1x1(layer.f, xi) for xi in xs]
        g = [conv1x1(layer.g, xi) for xi in xs]
        h = [conv1x1(layer.h, xi) for xi in xs]
        for j in range(N):
            s = torch.stack([torch.dot(f[i], g[j]) for i in range(N)])  # s_ij = f(x_i)^T g(x_j)
            beta = torch.exp(s) / torch.exp(s).sum()  # beta_{j,i}, a softmax over i
            o_j = conv1x1(layer.v, sum(beta[i] * h[i] for i in range(N)))
            out[b, :, j // W, j % W] = layer.gamma * o_j + xs[j]
    return out


def test_matches_the_equations():
    torch.manual_seed(0)
    layer = SelfAttention2d(16).double()
    assert layer.key_channels == 2  # C / 8
    with torch.no_grad():
        for conv in (layer.f, layer.g, layer.h, layer.v):  # weights large enough for a peaked softmax
            conv.weight.normal_(0, 0.7)
            conv.bias.normal_(0, 0.3)
        layer.gamma.fill_(0.8)
    x = torch.randn(2, 16, 3, 4, dtype=torch.float64)
    assert_close(layer(x), naive_self_attention(layer, x))
    channels_last = x.contiguous(memory_format=torch.channels_last)
    assert_close(layer(channels_last), naive_self_attention(layer, x))


def test_attention_is_global_and_starts_as_identity():
    torch.manual_seed(1)
    layer = SelfAttention2d(8, key_channels=4)
    x = torch.randn(1, 8, 5, 5)
    assert_close(layer(x), x)  # gamma = 0 at the start: the identity
    with torch.no_grad():
        layer.gamma.fill_(1.0)
    x = x.requires_grad_()
    layer(x)[0, :, 0, 0].sum().backward()  # the top-left output ...
    reach = x.grad[0].abs().sum(dim=0)
    assert (reach > 0).all()  # ... depends on every input position, the far corner included
    conv = torch.nn.Conv2d(8, 8, 3, padding=1)
    x.grad = None
    conv(x)[0, :, 0, 0].sum().backward()
    assert int((x.grad[0].abs().sum(dim=0) > 0).sum()) == 4  # a 3x3 conv at a corner sees 2x2 inputs


def test_discriminator_option():
    torch.manual_seed(2)
    plain = DCGANDiscriminator(width=8, channels=3)
    attending = DCGANDiscriminator(width=8, channels=3, self_attention=True)
    layers = [m for m in attending.modules() if isinstance(m, SelfAttention2d)]
    assert len(layers) == 1 and layers[0].channels == 16  # after the second conv: 16 channels at 7x7
    assert not any(isinstance(m, SelfAttention2d) for m in plain.modules())
    x = torch.randn(4, 3, 28, 28)
    seen = []
    layers[0].register_forward_hook(lambda module, inputs, output: seen.append(tuple(output.shape)))
    logits = attending(x)
    assert seen == [(4, 16, 7, 7)]
    assert logits.shape == (4, 1)
    logits.sum().backward()
    assert layers[0].gamma.grad is not None and layers[0].f.weight.grad is not None
    spectral = DCGANDiscriminator(width=8, self_attention=True, norm="spectral", image_size=32)
    assert spectral(torch.randn(2, 1, 32, 32)).shape == (2, 1)


def test_bad_input():
    with pytest.raises(ValueError, match="channels"):
        SelfAttention2d(0)
    with pytest.raises(ValueError, match=r"\(B, 8, H, W\)"):
        SelfAttention2d(8)(torch.zeros(2, 4, 3, 3))
