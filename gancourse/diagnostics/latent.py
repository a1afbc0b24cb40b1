"""Walking in G's latent space: interpolation between two ``z`` and directions that change a sample's class.

Radford et al. (2016, section 6) showed two things about a trained DCGAN's ``z``: walking in a
straight line between two points changes the image smoothly (no sharp jumps, which would hint
at memorization), and averaged ``z`` vectors support arithmetic ("smiling woman - neutral woman
+ neutral man"). Chapter 06 repeats both on Fashion-MNIST, with the course's classifier naming
the class of each image.

``z ~ N(0, I)`` in many dimensions lies near the sphere of radius ``sqrt(z_dim)``; the straight
line between two such points passes closer to the origin, where G saw few training ``z``.
Spherical interpolation (:func:`slerp`, White 2016, "Sampling generative networks") follows the
great circle instead and keeps the norm.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

INTERPOLATIONS = ("linear", "spherical")


def _check_pair(z0: Tensor, z1: Tensor) -> None:
    if z0.dim() != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be two latent vectors of the same shape (z_dim,), got "
                         f"{tuple(z0.shape)} and {tuple(z1.shape)}")


def _fractions(t: Tensor | int, like: Tensor) -> Tensor:
    """``t``: fractions ``(T,)`` in [0, 1], or a count ``n`` for ``n`` evenly spaced ones (ends included)."""
    if isinstance(t, int):
        if t < 2:
            raise ValueError(f"need at least 2 points (both ends), got {t}")
        return torch.linspace(0, 1, t, dtype=like.dtype, device=like.device)
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device).flatten()
    if ((t < 0) | (t > 1)).any():
        raise ValueError("interpolation fractions t must lie in [0, 1]")
    return t


def lerp(z0: Tensor, z1: Tensor, t: Tensor | int) -> Tensor:
    """Points ``(1 - t) z0 + t z1`` on the line, ``(T, z_dim)``; ``t``: fractions ``(T,)`` or a count. Chapter 06."""
    _check_pair(z0, z1)
    t = _fractions(t, z0)[:, None]  # (T, 1)
    return (1 - t) * z0 + t * z1


def slerp(z0: Tensor, z1: Tensor, t: Tensor | int) -> Tensor:
    """Points on the great circle from ``z0`` to ``z1``, ``(T, z_dim)`` (spherical interpolation). Chapter 06.

    ``sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1`` with ``w`` the angle between them; for
    (nearly) parallel vectors, where ``sin(w)`` vanishes, the straight line. Between two vectors of
    equal norm every point keeps that norm; the straight line's midpoint is shorter, by the factor ``cos(w / 2)``.
    """
    _check_pair(z0, z1)
    t = _fractions(t, z0)[:, None]  # (T, 1)
    cos_w = (z0 @ z1 / (z0.norm() * z1.norm()).clamp(min=1e-12)).clamp(-1, 1)
    w = torch.arccos(cos_w)
    if float(torch.sin(w)) < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * w) * z0 + torch.sin(t * w) * z1) / torch.sin(w)


def interpolate(z0: Tensor, z1: Tensor, t: Tensor | int, kind: str = "spherical") -> Tensor:
    """:func:`slerp` or :func:`lerp` by name (one of ``INTERPOLATIONS``); the widget of chapter 06 calls this."""
    if kind not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {kind!r}; use one of {', '.join(INTERPOLATIONS)}")
    return slerp(z0, z1, t) if kind == "spherical" else lerp(z0, z1, t)


def class_direction(z: Tensor, classes: Tensor, source: int, target: int) -> Tensor:
    """The mean ``z`` of the samples of class ``target`` minus that of class ``source``: ``(z_dim,)``. Chapter 06.

    ``z`` ``(N, z_dim)`` are latent vectors and ``classes`` ``(N,)`` the class the classifier gives
    their images. Adding the direction to a ``source`` sample's ``z`` is DCGAN's vector arithmetic
    with class means in place of hand-picked exemplars.
    """
    if z.dim() != 2 or classes.shape != z.shape[:1]:
        raise ValueError(f"z must be (N, z_dim) and classes (N,), got {tuple(z.shape)} and {tuple(classes.shape)}")
    classes = classes.to(z.device)
    counts = [int((classes == c).sum()) for c in (source, target)]
    if min(counts) == 0:
        raise ValueError(f"no sample of class {source if counts[0] == 0 else target} among the {len(z)}: "
                         f"draw more z or pick classes G makes")
    return z[classes == target].mean(dim=0) - z[classes == source].mean(dim=0)


def random_direction_like(direction: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """A direction drawn uniformly at random with the norm of ``direction`` (the control of an arithmetic test)."""
    v = torch.randn(direction.shape, generator=generator, dtype=direction.dtype).to(direction.device)
    return v * direction.norm() / v.norm().clamp(min=1e-12)


def expected_norm(z_dim: int) -> float:
    """E|z| for ``z ~ N(0, I_{z_dim})``: ``sqrt(2) Gamma((d+1)/2) / Gamma(d/2)``, close to ``sqrt(z_dim)``."""
    return math.sqrt(2) * math.exp(math.lgamma((z_dim + 1) / 2) - math.lgamma(z_dim / 2))
