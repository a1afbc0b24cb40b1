"""Small statistics over runs and checkpoints: ranks, Spearman's correlation, mean and spread over seeds.

Chapter 04 asks whether G's loss tracks sample quality, chapter 07 whether the critic's
estimate of the Wasserstein distance does: both correlate a value recorded at checkpoints
with FID at the same checkpoints (:func:`spearman`, one coefficient per seed). Chapters 06
and 08 report ablations as mean and spread over seeds (:func:`mean_spread`).

Spearman's rho is Pearson's correlation of the ranks; tied values share the mean of the
ranks they span (as ``scipy.stats.spearmanr`` does), so a constant series has no defined
correlation and gives NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _as_series(x: Tensor | Sequence[float], name: str) -> Tensor:
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if x.dim() not in (1, 2) or x.shape[-1] < 2:
        raise ValueError(f"{name} must be a series (T,) or series per seed (S, T) with T >= 2, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} holds NaN or infinite values; drop those checkpoints before correlating")
    return x


def rank(x: Tensor | Sequence[float]) -> Tensor:
    """Ranks 1..T along the last axis of ``x`` (T,) or (S, T), ties sharing their mean rank; float64."""
    x = _as_series(x, "x")
    # a value's rank spans (number of values below it, number at or below it]: ties get the middle
    below = (x.unsqueeze(-1) > x.unsqueeze(-2)).sum(-1)  # (..., T): how many values are smaller
    at_or_below = (x.unsqueeze(-1) >= x.unsqueeze(-2)).sum(-1)
    return (below + at_or_below + 1).double() / 2


def _pearson(a: Tensor, b: Tensor) -> Tensor:
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    return (a * b).sum(-1) / (a.square().sum(-1) * b.square().sum(-1)).sqrt()


def spearman(x: Tensor | Sequence[float], y: Tensor | Sequence[float]) -> Tensor:
    """Spearman's rank correlation of ``x`` and ``y``, each (T,) or (S, T) (one series per seed).

    Returns a 0-dim tensor, or ``(S,)`` for series per seed, in ``[-1, 1]`` (float64, CPU); NaN
    where a series is constant. Chapter 04 (G's loss against FID over checkpoints), chapter 07
    (the critic's estimate against FID).
    """
    x, y = _as_series(x, "x"), _as_series(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    return _pearson(rank(x), rank(y))


def mean_spread(values: Tensor | Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1) of ``values`` over seeds, e.g. final FIDs ``(S,)``.

    One seed gives a spread of 0. Chapters 06 and 08 print ablation tables as ``mean ± spread``.
    """
    v = torch.as_tensor(values).detach().to("cpu", torch.float64).flatten()
    if v.numel() == 0:
        raise ValueError("values is empty: need at least one seed's value")
    return float(v.mean()), float(v.std()) if v.numel() > 1 else 0.0
