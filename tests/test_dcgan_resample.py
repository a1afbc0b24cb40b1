"""DCGAN's ``resample="pool"`` option (chapter 06's ablation of strided convs), against functional references."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator, LatentProjection


def _convs(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


@pytest.mark.parametrize("image_size", [28, 32])
def test_pool_variant_has_no_strided_conv_and_same_shapes(image_size):
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=8, image_size=image_size, width=8, resample="pool")
    D = DCGANDiscriminator(image_size=image_size, width=8, resample="pool")
    # G's first layer projects z to a (c, start, start) image, as in every variant; all later convs keep the side
    assert isinstance(_convs(G)[0], LatentProjection)
    assert all(m.stride == (1, 1) and not isinstance(m, nn.ConvTranspose2d) for m in _convs(G)[1:] + _convs(D))
    n_doublings = 2 if image_size == 28 else 3
    assert sum(isinstance(m, nn.Upsample) for m in G.modules()) == n_doublings
    assert sum(isinstance(m, nn.MaxPool2d) for m in D.modules()) == n_doublings
    x = G(torch.randn(5, 8))
    assert x.shape == (5, 1, image_size, image_size) and x.abs().max() <= 1
    assert D(x).shape == (5, 1)
    # the default is DCGAN's: every side change by a stride-2 conv, no pooling
    strided = DCGANDiscriminator(image_size=image_size, width=8)
    assert not any(isinstance(m, nn.MaxPool2d) for m in strided.modules())
    assert sum(m.stride == (2, 2) for m in _convs(strided)) == n_doublings


def test_pool_discriminator_matches_a_functional_reference():
    torch.manual_seed(1)
    D = DCGANDiscriminator(width=4, resample="pool").train()
    x = torch.randn(6, 1, 28, 28)
    conv1, conv2 = _convs(D)
    bn = next(m for m in D.modules() if isinstance(m, nn.BatchNorm2d))
    linear = next(m for m in D.modules() if isinstance(m, nn.Linear))
    h = F.leaky_relu(F.max_pool2d(F.conv2d(x, conv1.weight, conv1.bias, padding=1), 2), 0.2)  # (6, 4, 14, 14)
    h = F.conv2d(h, conv2.weight, None, padding=1)  # batch norm makes a bias redundant: none
    h = F.max_pool2d(h, 2)  # (6, 8, 7, 7)
    h = F.batch_norm(h, None, None, bn.weight, bn.bias, training=True, eps=bn.eps)
    expected = F.linear(F.leaky_relu(h, 0.2).flatten(1), linear.weight, linear.bias)
    torch.testing.assert_close(D(x), expected, rtol=1e-5, atol=1e-5)


def test_pool_generator_matches_a_functional_reference():
    torch.manual_seed(2)
    G = DCGANGenerator(z_dim=8, width=4, norm="none", activation="leaky_relu", resample="pool")
    z = torch.randn(3, 8)
    project, conv1, conv2 = _convs(G)
    h = F.conv_transpose2d(z[:, :, None, None], project.weight, project.bias)  # (3, 8, 7, 7)
    h = F.leaky_relu(h, 0.2)
    h = F.leaky_relu(F.conv2d(F.interpolate(h, scale_factor=2, mode="nearest"), conv1.weight, conv1.bias,
                              padding=1), 0.2)  # (3, 4, 14, 14)
    expected = torch.tanh(F.conv2d(F.interpolate(h, scale_factor=2, mode="nearest"), conv2.weight, conv2.bias,
                                   padding=1))  # (3, 1, 28, 28)
    torch.testing.assert_close(G(z), expected, rtol=1e-5, atol=1e-5)


def test_pool_variant_gets_dcgan_init_and_trains_channels_last():
    torch.manual_seed(3)
    G = DCGANGenerator(z_dim=8, width=16, resample="pool")
    D = DCGANDiscriminator(width=16, resample="pool")
    for conv in _convs(G)[1:] + _convs(D):
        assert abs(conv.weight.std().item() - 0.02) < 0.005  # N(0, 0.02), as the strided layers
    G.to(memory_format=torch.channels_last)
    D.to(memory_format=torch.channels_last)
    x = G(torch.randn(4, 8))
    D(x).sum().backward()
    assert all(p.grad is not None for p in D.parameters())


def test_unknown_resample_is_refused_with_the_allowed_values():
    with pytest.raises(ValueError, match="strided, pool"):
        DCGANGenerator(resample="bilinear")
    with pytest.raises(ValueError, match="strided, pool"):
        DCGANDiscriminator(resample="avg")
