"""DCGAN generator and discriminator for 28x28, 32x32 and 64x64 images (Radford et al. 2016).

The architecture guidelines that chapter 06 tests one by one: strided (transposed)
convolutions instead of pooling, batch norm in both nets except D's first layer and
G's output layer, ReLU in G with a tanh output, LeakyReLU (0.2) in D, weights drawn
from N(0, 0.02). Chapter 06 ablates ``norm``, ``activation`` and ``resample``; chapters 03 and 08
reuse the nets, chapter 08 with ``norm="spectral"``, minibatch layers and packing.

Sizes: 28 = 7 -> 14 -> 28, 32 = 4 -> 8 -> 16 -> 32, 64 = 4 -> ... -> 64. The channel count
halves at every doubling of the side and ends at ``width`` next to the image.

Three layers compute the same function as the library's faster on a CPU: G's first
transposed conv as a matmul (:class:`LatentProjection`), its last one as a matmul and a
col2im (:class:`ToImage`), and D's flatten hands its gradient back channels-last
(:class:`Flatten`). Parameters, initialisation and state dicts are those of the plain layers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.models.minibatch import MinibatchDiscrimination, MinibatchStdDev
from gancourse.models.mlp import ACTIVATIONS, make_activation
from gancourse.models.self_attention import SelfAttention2d
from gancourse.regularizers import spectral_norm

IMAGE_SIZES = (28, 32, 64)
NORMS = ("batch", "none", "spectral", "instance")
RESAMPLES = ("strided", "pool")
"""How the side changes: stride-2 (transposed) convs, DCGAN's guideline; or ``pool``, the design it
replaced: D convolves 3x3 at full size then max-pools by 2, G upsamples by 2 (nearest) then
convolves 3x3. Chapter 06 ablates it."""


def _n_doublings(image_size: int) -> tuple[int, int]:
    """(start side, number of stride-2 layers) for a supported image size."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size must be one of {IMAGE_SIZES}, got {image_size}")
    start = 7 if image_size == 28 else 4
    return start, int(math.log2(image_size // start))


def _check_sizes(**sizes: object) -> None:
    """Raise ``ValueError`` naming the first size that is not an int >= 1 (a net of width 0 has no weights)."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r} (e.g. {name}="
                             f"{ {'z_dim': 64, 'width': 64, 'channels': 1}.get(name, 1)})")


def _check_options(norm: str, activation: str) -> None:
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; use one of {', '.join(NORMS)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")


def _check_resample(resample: str) -> None:
    if resample not in RESAMPLES:
        raise ValueError(f"unknown resample {resample!r}; use one of {', '.join(RESAMPLES)}")


def _upsampling(c_in: int, c_out: int, resample: str, bias: bool, last: bool = False) -> nn.Module:
    """G's doubling of the side: ``(B, c_in, h, w) -> (B, c_out, 2h, 2w)``."""
    if resample == "strided":
        return (ToImage if last else nn.ConvTranspose2d)(c_in, c_out, 4, 2, 1, bias=bias)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias))


def _downsampling(c_in: int, c_out: int, resample: str, bias: bool) -> nn.Module:
    """D's halving of the side: ``(B, c_in, h, w) -> (B, c_out, h/2, w/2)``."""
    if resample == "strided":
        return nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias)
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias), nn.MaxPool2d(2))


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


class LatentProjection(nn.ConvTranspose2d):
    """G's first layer: ``ConvTranspose2d(z_dim, c, side)`` on ``z`` as a 1x1 image, computed as one matmul.

    ``(B, z_dim, 1, 1) -> (B, c, side, side)``. On a 1x1 input each output pixel is a linear
    function of ``z``, so the layer is ``z @ W.view(z_dim, c * side^2)`` (plus a bias per
    channel): the same function, parameters, initialisation, state dict and spectral norm as
    the transposed conv, without the convolution library's layout reorders (several times
    faster on a CPU; see ``benchmarks/README.md``). Chapter 06.
    """

    def __init__(self, z_dim: int, channels: int, side: int, bias: bool = True) -> None:
        super().__init__(z_dim, channels, side, 1, 0, bias=bias)

    def forward(self, z: Tensor, output_size: list[int] | None = None) -> Tensor:
        if z.dim() != 4 or z.shape[2:] != (1, 1) or output_size is not None:
            return super().forward(z, output_size)
        w = self.weight  # (z_dim, c, side, side); through the parametrization under spectral norm
        B, (z_dim, c, height, width) = z.shape[0], w.shape
        if w.is_contiguous(memory_format=torch.channels_last):
            # channels-last weights are (z_dim, side, side, c) in memory: a view, and a channels-last output
            x = (z.flatten(1) @ w.permute(0, 2, 3, 1).reshape(z_dim, -1)).view(B, height, width, c)
            x = x.permute(0, 3, 1, 2)
        else:
            x = (z.flatten(1) @ w.reshape(z_dim, -1)).view(B, c, height, width)
        return x if self.bias is None else x + self.bias.to(x.dtype).view(1, c, 1, 1)


class ToImage(nn.ConvTranspose2d):
    """G's last layer: a transposed conv to the image's few channels; on a CPU, a matmul and a col2im.

    ``(B, C, H, W) -> (B, channels, H', W')``, the function of ``nn.ConvTranspose2d`` with the
    same arguments. A transposed conv paints each input pixel's ``C``-vector, times the weight,
    as a ``k x k`` patch of the output and sums the overlaps: here the patches come from one
    matmul ``(B, H*W, C) @ (C, channels*k*k)`` and ``F.fold`` sums them. oneDNN runs
    transposed convs with 1 or 3 output channels slowly on CPUs (several times slower than
    this, forward and backward; see ``benchmarks/README.md``); on other devices the library
    conv is used. Chapter 06.
    """

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        if (x.device.type != "cpu" or x.dim() != 4 or output_size is not None or self.groups != 1
                or self.dilation != (1, 1) or self.output_padding != (0, 0)):
            return super().forward(x, output_size)
        B, C, H, W = x.shape
        (k_h, k_w), (s_h, s_w), (p_h, p_w) = self.kernel_size, self.stride, self.padding
        size = ((H - 1) * s_h - 2 * p_h + k_h, (W - 1) * s_w - 2 * p_w + k_w)
        # (B, H*W, C): a view for channels-last input; one patch of channels*k*k values per input pixel
        patches = x.permute(0, 2, 3, 1).reshape(B, H * W, C) @ self.weight.reshape(C, -1)
        y = F.fold(patches.transpose(1, 2), size, self.kernel_size, stride=self.stride, padding=self.padding)
        if self.bias is not None:
            y = y + self.bias.to(y.dtype).view(1, -1, 1, 1)
        return y.contiguous(memory_format=torch.channels_last) if _channels_last(x) else y


def _channels_last(x: Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


class _FlattenKeepingGradFormat(torch.autograd.Function):
    """``x.flatten(1)`` whose backward returns the gradient in ``x``'s memory format."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Tensor) -> Tensor:
        return x.flatten(1)

    @staticmethod
    def setup_context(ctx, inputs: tuple[Tensor], output: Tensor) -> None:
        (x,) = inputs
        ctx.shape, ctx.channels_last = x.shape, _channels_last(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        # differentiable ops only: R1 and the gradient penalty backpropagate through this backward
        grad = grad.reshape(ctx.shape)
        return grad.contiguous(memory_format=torch.channels_last) if ctx.channels_last else grad


class Flatten(nn.Flatten):
    """D's ``(B, c, h, w) -> (B, c*h*w)``, whose gradient comes back in the input's memory format.

    The values are ``nn.Flatten``'s, bit for bit. For channels-last features the plain
    flatten's gradient comes back channels-first, and the backward of the LeakyReLU before
    it, given a channels-last input and a channels-first gradient, leaves its fast path
    (about 10x slower on a CPU, measured); one copy of the gradient avoids that. Chapter 06.
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or self.start_dim != 1 or self.end_dim != -1:
            return super().forward(x)
        return _FlattenKeepingGradFormat.apply(x)


class DCGANGenerator(nn.Module):
    """G: ``z (B, z_dim) -> x_fake (B, channels, image_size, image_size)`` in ``[-1, 1]`` (chapter 06).

    ``z`` goes through a transposed conv to ``(width * 2^(k-1), start, start)``, then ``k``
    stride-2 transposed convs double the side; every layer but the last is followed by
    ``norm`` (one of ``NORMS``; "spectral" normalises the weights instead) and
    ``activation``; the last one by tanh. ``resample="pool"`` doubles the side by nearest
    upsampling and a 3x3 conv instead (one of ``RESAMPLES``; chapter 06's ablation).
    """

    def __init__(
        self,
        z_dim: int = 64,
        image_size: int = 28,
        channels: int = 1,
        width: int = 64,
        norm: str = "batch",
        activation: str = "relu",
        resample: str = "strided",
    ) -> None:
        super().__init__()
        _check_sizes(z_dim=z_dim, width=width, channels=channels)
        _check_options(norm, activation)
        _check_resample(resample)
        start, k = _n_doublings(image_size)
        self.z_dim, self.image_size, self.channels = z_dim, image_size, channels
        self.n_models = 1
        bias = norm != "batch"  # batch norm's shift makes a conv bias redundant
        c = width * 2 ** (k - 1)
        layers: list[nn.Module] = [
            LatentProjection(z_dim, c, start, bias=bias),  # (B, z, 1, 1) -> (B, c, start, start)
            *_norm_layer(norm, c),
            make_activation(activation),
        ]
        for _ in range(k - 1):
            layers += [_upsampling(c, c // 2, resample, bias), *_norm_layer(norm, c // 2),
                       make_activation(activation)]
            c //= 2
        # (B, c, side/2, side/2) -> (B, channels, side, side)
        layers += [_upsampling(c, channels, resample, True, last=True), nn.Tanh()]
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
    others ("spectral" wraps every conv and linear layer and uses no batch norm).
    ``self_attention`` adds a SAGAN block after the last conv (every position of the 7x7
    or 4x4 feature map sees every other one; chapter 05). Then
    ``minibatch_stddev`` appends a channel, the features are flattened,
    ``minibatch_discrimination`` appends its kernels, and a linear layer gives one
    raw logit (``out_dim`` logits: ``k + 1`` for MAD-GAN's ``k`` generators, chapter 08).
    ``resample="pool"`` halves the side by a 3x3 conv and 2x2 max pooling instead of
    a stride-2 conv (chapter 06's ablation). With ``pack=m`` the input is already packed by
    :func:`gancourse.models.minibatch.pack`. :meth:`features` gives the inner layer feature matching
    compares. Chapters 03, 05, 06, 08.
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
        resample: str = "strided",
        self_attention: bool = False,
        out_dim: int = 1,
    ) -> None:
        super().__init__()
        _check_sizes(width=width, channels=channels, pack=pack, n_kernels=n_kernels, kernel_dim=kernel_dim,
                     out_dim=out_dim)
        _check_options(norm, activation)
        _check_resample(resample)
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}")
        start, k = _n_doublings(image_size)
        self.image_size, self.channels, self.pack = image_size, channels, pack
        self.n_models = 1
        self.in_shape = (pack * channels, image_size, image_size)
        bias = norm != "batch"
        c = width
        layers: list[nn.Module] = [_downsampling(pack * channels, c, resample, True), make_activation(activation)]
        for _ in range(k - 1):
            layers += [_downsampling(c, 2 * c, resample, bias), *_norm_layer(norm, 2 * c),
                       make_activation(activation)]
            c *= 2
        if self_attention:  # every position of the last feature map sees every other one (SAGAN)
            layers.append(SelfAttention2d(c))
        self._n_hidden = len(layers)  # net[:_n_hidden] is the last conv block: D.features
        if minibatch_stddev:
            layers.append(MinibatchStdDev(stddev_group))
            c += 1
        layers.append(Flatten())  # (B, c, start, start) -> (B, c * start^2)
        n_features = c * start * start
        if minibatch_discrimination:
            layers.append(MinibatchDiscrimination(n_features, n_kernels, kernel_dim))
            n_features += n_kernels
        layers.append(nn.Linear(n_features, out_dim))
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)
        if norm == "spectral":
            spectral_norm(self)

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.in_shape:
            packed = f" (pack(x, {self.pack}) of (B, {self.channels}, ...))" if self.pack > 1 else ""
            raise ValueError(
                f"DCGANDiscriminator expects x of shape (B, {', '.join(map(str, self.in_shape))}){packed}, "
                f"got {tuple(x.shape)}"
            )

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        return self.net(x)

    def features(self, x: Tensor) -> Tensor:
        """The last conv block's activations, flattened: ``(B, c * start^2)``, before any minibatch layer.

        The inner layer that feature matching compares (:mod:`gancourse.feature_matching`, chapter 08).
        """
        self._check_input(x)
        return _FlattenKeepingGradFormat.apply(self.net[: self._n_hidden](x))
