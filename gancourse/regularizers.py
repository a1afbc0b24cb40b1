"""Regularizers of the discriminator: gradient penalties, weight clipping, spectral norm, instance noise.

Pure tensor functions that work for any sample shape: 2-D points ``(B, 2)``,
images ``(B, C, H, W)``, or either with a leading seeds dimension ``(S, B, ...)``
when ``batch_dims=2``. They return a penalty (the caller multiplies it by its
weight) or change a model in place; none of them touches an optimizer.

* :func:`gradient_penalty`: WGAN-GP (Gulrajani et al. 2017), chapters 07, 08.
* :func:`r1_penalty`: R1 (Mescheder et al. 2018), chapters 01, 08.
* :func:`clip_weights_`: WGAN weight clipping (Arjovsky et al. 2017), chapter 07.
* :func:`spectral_norm`: SN-GAN (Miyato et al. 2018), chapter 08.
* :func:`instance_noise_std`, :func:`add_instance_noise`: instance noise
  (Sønderby et al. 2017, Arjovsky & Bottou 2017), chapters 02, 08.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from gancourse.models.stacked_spectral_norm import stacked_spectral_norm


def _check_batch_dims(x: Tensor, batch_dims: int) -> None:
    if batch_dims not in (1, 2):
        raise ValueError(f"batch_dims must be 1 (samples) or 2 (seeds, samples), got {batch_dims}")
    if x.dim() <= batch_dims:
        raise ValueError(
            f"x has shape {tuple(x.shape)}, but batch_dims={batch_dims} needs at least one feature dim "
            f"after the batch dims, e.g. (B, 2) or (B, C, H, W), or (S, B, 2) with batch_dims=2"
        )


def _input_grad(D: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``dD(x)/dx`` per sample, with a graph so that a penalty on it can be backpropagated."""
    x = x.detach().requires_grad_(True)
    logits = D(x)
    # When samples do not interact in D (no batch norm in a critic), the gradient of the sum
    # is each sample's gradient of its own logit. Batch-level layers (minibatch discrimination,
    # stddev) add cross-sample terms, as in the usual implementations.
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad


def gradient_penalty(
    D: Callable[[Tensor], Tensor],
    x_real: Tensor,
    x_fake: Tensor,
    generator: torch.Generator | None = None,
    target: float = 1.0,
    batch_dims: int = 1,
    eps: Tensor | None = None,
) -> Tensor:
    """WGAN-GP's penalty ``E[(||grad_x D(x_hat)||_2 - target)^2]``, a scalar (chapters 07, 08).

    ``x_hat = eps * x_real + (1 - eps) * x_fake`` with one ``eps ~ U[0, 1]`` per sample,
    drawn with ``generator`` (which must live on ``x_real``'s device), or given as ``eps``
    of shape ``(B, 1, ..., 1)`` (``(S, B, 1, ..., 1)`` for stacked seeds): the training loop
    draws each seed's ``eps`` from that seed's generator, so that a batched run equals
    separate runs. The norm runs over every dim after the first ``batch_dims`` (1 for
    ``(B, ...)``, 2 for stacked seeds ``(S, B, ...)``); the mean over all samples (and seeds).
    Multiply by lambda (10).
    """
    _check_batch_dims(x_real, batch_dims)
    if x_real.shape != x_fake.shape:
        raise ValueError(
            f"x_real {tuple(x_real.shape)} and x_fake {tuple(x_fake.shape)} must have the same shape"
        )
    eps_shape = x_real.shape[:batch_dims] + (1,) * (x_real.dim() - batch_dims)  # (B, 1, ..., 1)
    if eps is None:
        eps = torch.rand(eps_shape, generator=generator, device=x_real.device, dtype=x_real.dtype)
    elif generator is not None:
        raise ValueError("pass either eps or a generator to draw it with, not both")
    elif eps.shape != eps_shape:
        raise ValueError(f"eps must have shape {tuple(eps_shape)} (one weight per sample), got {tuple(eps.shape)}")
    x_hat = eps * x_real.detach() + (1.0 - eps) * x_fake.detach()
    grad = _input_grad(D, x_hat)
    norms = grad.flatten(start_dim=batch_dims).norm(dim=-1)  # (B,) or (S, B)
    return (norms - target).square().mean()


def r1_penalty(D: Callable[[Tensor], Tensor], x_real: Tensor, batch_dims: int = 1) -> Tensor:
    """R1's penalty ``E[||grad_x D(x_real)||^2]``, a scalar (chapters 01, 08); multiply by gamma/2.

    The squared norm runs over every dim after the first ``batch_dims``.
    """
    _check_batch_dims(x_real, batch_dims)
    grad = _input_grad(D, x_real)
    return grad.flatten(start_dim=batch_dims).square().sum(dim=-1).mean()


@torch.no_grad()
def clip_weights_(model: nn.Module, c: float) -> None:
    """Clamp every parameter of ``model`` to ``[-c, c]`` in place (WGAN weight clipping, chapter 07)."""
    if not c > 0:
        raise ValueError(f"clip value c must be > 0, got {c} (WGAN used c=0.01)")
    params = list(model.parameters())
    if params:
        # one fused call per bound instead of a kernel per parameter
        torch._foreach_clamp_min_(params, -c)
        torch._foreach_clamp_max_(params, c)


_SPECTRAL_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def spectral_norm(model: nn.Module) -> nn.Module:
    """Apply spectral normalisation to the weight of every Linear/Conv2d/ConvTranspose2d; returns ``model``.

    Each weight is divided by a power-iteration estimate of its largest singular
    value, updated on every forward pass in train mode (SN-GAN, chapter 08).
    Layers that already carry a parametrization on ``weight`` are left alone.
    Stacked-seed linear layers (``(S, in, out)`` weights, :class:`gancourse.models.mlp.StackedLinear`)
    get one estimate per seed (:mod:`gancourse.models.stacked_spectral_norm`).
    """
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if getattr(module, "stacked", False) and isinstance(weight, Tensor) and weight.dim() == 3:
            if not nn.utils.parametrize.is_parametrized(module, "weight"):
                stacked_spectral_norm(module)
        elif getattr(module, "stacked", False):
            continue  # stacked batch norm: no weight matrix to normalise
        elif isinstance(module, _SPECTRAL_LAYERS) and not nn.utils.parametrize.is_parametrized(module, "weight"):
            nn.utils.parametrizations.spectral_norm(module)
    return model


def instance_noise_std(step: int, start_std: float, anneal_steps: int) -> float:
    """Std of instance noise at ``step``: linear from ``start_std`` at step 0 to 0 at ``anneal_steps``.

    Zero from ``anneal_steps`` on (chapters 02, 08).
    """
    if start_std < 0:
        raise ValueError(f"start_std must be >= 0, got {start_std}")
    if anneal_steps <= 0:
        raise ValueError(f"anneal_steps must be > 0, got {anneal_steps}")
    return start_std * max(0.0, 1.0 - step / anneal_steps)


def add_instance_noise(x: Tensor, std: float, generator: torch.Generator | None = None) -> Tensor:
    """``x + std * N(0, 1)``, same shape and device, noise drawn with ``generator`` (chapters 02, 08).

    Blurs real and fake alike so their supports overlap and D cannot separate them perfectly.
    """
    if std < 0:
        raise ValueError(f"instance noise std must be >= 0, got {std}")
    if std == 0:
        return x
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + std * noise
