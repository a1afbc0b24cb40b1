"""DCGAN generator and discriminator for 28x28, 32x32 and 64x64 images (Radford et al. 2016).

The architecture guidelines that chapter 06 tests one by one: strided (transposed)
convolutions instead of pooling, batch norm in both nets except D's first layer and
G's output layer, ReLU in G with a tanh output, LeakyReLU (0.2) in D, weights drawn
from N(0, 0.02). Chapter 06 ablates ``norm`` and ``activation``; chapters 03 and 08
reuse the nets, chapter 08 with ``norm="spectral"``, minibatch layers and packing.

Sizes: 28 = 7 -> 14 -> 28, 32 = 4 -> 8 -> 16 -> 32, 64 = 4 -> ... -> 64. The channel count
halves at every doubling of the side and ends at ``width`` next to the image.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gancourse.minibatch import MinibatchDiscrimination, MinibatchStdDev
from gancourse.mlp import ACTIVATIONS, make_activation
from gancourse.regularizers import spectral_norm

IMAGE_SIZES = (28, 32, 64)
NORMS = ("batch", "none", "spectral", "instance")


def _n_doublings(image_size: int) -> tuple[int, int]:
    """(start side, number of stride-2 layers) for a supported image size."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size must be one of {IMAGE_SIZES}, got {image_size}")
    start = 7 if image_size == 28 else 4
    return start, int(math.log2(image_size // start))


def _check_options(norm: str, activation: str) -> None:
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; use one of {', '.join(NORMS)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")


def _norm_layer(norm: str, channels: int) -> list[nn.Module]:
    if norm == "batch":
        return [nn.BatchNorm2d(channels)]
    if norm == "instance":
        return [nn.InstanceNorm2d(channels, affine=True)]
    return []  # "none", and "spectral" (which constrains the weights instead)


@torch.no_grad()
def dcgan_init_(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """DCGAN's initialisation, in place: conv/linear weights ~ N(0, 0.02), norm scales ~ N(1, 0.02), biases 0.

    Returns ``model``. Layers already under spectral norm get their raw weight initialised.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = (
                module.parametrizations.weight.original
                if nn.utils.parametrize.is_parametrized(module, "weight")
                else module.weight
            )
            nn.init.normal_(weight, 0.0, 0.02, generator=generator)
        elif isinstance(module, nn.modules.batchnorm._NormBase) and module.affine:
            nn.init.normal_(module.weight, 1.0, 0.02, generator=generator)
        else:
            continue
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    return model


class DCGANGenerator(nn.Module):
    """G: ``z (B, z_dim) -> x_fake (B, channels, image_size, image_size)`` in ``[-1, 1]`` (chapter 06).

    ``z`` goes through a transposed conv to ``(width * 2^(k-1), start, start)``, then ``k``
    stride-2 transposed convs double the side; every layer but the last is followed by
    ``norm`` (one of ``NORMS``; "spectral" normalises the weights instead) and
    ``activation``; the last one by tanh.
    """

    def __init__(
        self,
        z_dim: int = 64,
        image_size: int = 28,
        channels: int = 1,
        width: int = 64,
        norm: str = "batch",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        _check_options(norm, activation)
        start, k = _n_doublings(image_size)
        self.z_dim, self.image_size, self.channels = z_dim, image_size, channels
        self.n_models = 1
        bias = norm != "batch"  # batch norm's shift makes a conv bias redundant
        c = width * 2 ** (k - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, c, start, 1, 0, bias=bias),  # (B, z, 1, 1) -> (B, c, start, start)
            *_norm_layer(norm, c),
            make_activation(activation),
        ]
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=bias), *_norm_layer(norm, c // 2),
                       make_activation(activation)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)
        if norm == "spectral":
            spectral_norm(self)

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() == 4 and z.shape[2:] == (1, 1):
            z = z.flatten(1)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"DCGANGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """D: ``x (B, pack*channels, image_size, image_size) -> logits (B, 1)`` (chapter 06).

    Stride-2 convs halve the side down to 7 (28) or 4 (32, 64), doubling the channels
    from ``width``; no norm after the first conv (DCGAN guideline), ``norm`` after the
    others ("spectral" wraps every conv and linear layer and uses no batch norm). Then
    ``minibatch_stddev`` appends a channel, the features are flattened,
    ``minibatch_discrimination`` appends its kernels, and a linear layer gives one
    raw logit. With ``pack=m`` the input is already packed by
    :func:`gancourse.minibatch.pack`. Chapters 03, 06, 08.
    """

    def __init__(
        self,
        image_size: int = 28,
        channels: int = 1,
        width: int = 64,
        norm: str = "batch",
        activation: str = "leaky_relu",
        minibatch_stddev: bool = False,
        minibatch_discrimination: bool = False,
        pack: int = 1,
        n_kernels: int = 100,
        kernel_dim: int = 5,
        stddev_group: int = 4,
    ) -> None:
        super().__init__()
        _check_options(norm, activation)
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}")
        start, k = _n_doublings(image_size)
        self.image_size, self.channels, self.pack = image_size, channels, pack
        self.n_models = 1
        self.in_shape = (pack * channels, image_size, image_size)
        bias = norm != "batch"
        c = width
        layers: list[nn.Module] = [nn.Conv2d(pack * channels, c, 4, 2, 1), make_activation(activation)]
        for _ in range(k - 1):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=bias), *_norm_layer(norm, 2 * c),
                       make_activation(activation)]
            c *= 2
        if minibatch_stddev:
            layers.append(MinibatchStdDev(stddev_group))
            c += 1
        layers.append(nn.Flatten())  # (B, c, start, start) -> (B, c * start^2)
        n_features = c * start * start
        if minibatch_discrimination:
            layers.append(MinibatchDiscrimination(n_features, n_kernels, kernel_dim))
            n_features += n_kernels
        layers.append(nn.Linear(n_features, 1))
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)
        if norm == "spectral":
            spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.in_shape:
            packed = f" (pack(x, {self.pack}) of (B, {self.channels}, ...))" if self.pack > 1 else ""
            raise ValueError(
                f"DCGANDiscriminator expects x of shape (B, {', '.join(map(str, self.in_shape))}){packed}, "
                f"got {tuple(x.shape)}"
            )
        return self.net(x)
