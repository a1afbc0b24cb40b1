"""Mode hopping: where G's mass sits over training, which mode dominates, and how often that changes.

Metz et al. 2017 (*Unrolled generative adversarial networks*, fig. 1) show a GAN on the
8-Gaussian ring whose samples sit on one mode at a time and move from mode to mode as D
learns to reject the current one. Chapter 03 measures that from snapshots of ``G(z)``
(:class:`gancourse.diagnostics.snapshots.Snapshots`), scored with the 2-D protocol of
:mod:`gancourse.metrics.modes`:

* :func:`mode_shares_over_time`: the share of *all* samples that are high quality at each
  mode, per snapshot (and seed): ``(T, [S,] K)``. The shares sum to the high-quality fraction,
  not to 1, so a G whose samples lie between modes shows low shares everywhere.
* :func:`modes_held`: how many modes hold at least ``min_share`` of the samples, per snapshot
  ("how many modes are covered at one time", with a threshold that a few stray samples do
  not reach, unlike the protocol's "at least one sample");
* :func:`dominant_mode`: the mode holding at least ``min_share`` (default: half) of the
  samples, or ``-1`` when none does;
* :func:`count_hops`: how often the dominant mode changes from one snapshot to a later one
  (snapshots without a dominant mode are skipped), and :func:`distinct_dominant_modes`: how
  many different modes were dominant at some time;
* :func:`summarize_hopping`: all of these for a film of several seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

NO_MODE = -1
"""What :func:`dominant_mode` returns where no mode holds ``min_share`` of the samples."""


def mode_shares_over_time(samples: Tensor, centers: Tensor, std: float, within: float | None = 3.0) -> Tensor:
    """Share of the samples at each mode: ``(T, N, 2) -> (T, K)``, ``(T, S, N, 2) -> (T, S, K)``.

    ``samples`` are snapshots of ``G(z)`` (one per row of the first axis, e.g.
    :meth:`Snapshots.samples`), against a mixture with mode ``centers`` ``(K, 2)`` and per-axis
    ``std``. A sample counts for its nearest mode if it lies within ``within * std`` of it: the
    default 3 is the protocol's "high quality"; ``within=None`` counts every sample for its
    nearest mode (where G's mass sits, precise or not: each mode's share of the plane's
    nearest-mode cells). Each share is a count divided by ``N``. Chapter 03.
    """
    if samples.dim() not in (3, 4) or samples.shape[-1] != centers.shape[-1]:
        raise ValueError(f"samples must be snapshots (T, N, 2) or (T, S, N, 2), got {tuple(samples.shape)}")
    if within is not None and not within > 0:
        raise ValueError(f"within must be a number of stds > 0, or None for any distance; got {within!r}")
    lead, (n, d) = samples.shape[:-2], samples.shape[-2:]
    flat = samples.reshape(-1, n, d)  # (T*S, N, 2)
    centers = centers.to(device=flat.device, dtype=flat.dtype)
    distances = torch.cdist(flat, centers.expand(len(flat), -1, -1),
                            compute_mode="donot_use_mm_for_euclid_dist")  # (T*S, N, K)
    nearest_distance, nearest = distances.min(dim=-1)  # (T*S, N)
    counted = torch.ones_like(nearest_distance, dtype=torch.bool) if within is None else \
        nearest_distance <= within * std
    counts = torch.zeros(len(flat), len(centers), dtype=torch.long, device=flat.device)
    counts.scatter_add_(1, nearest, counted.long())  # (T*S, K)
    return (counts.to(torch.float32) / n).reshape(*lead, len(centers))


def _check_shares(shares: Tensor, min_share: float) -> None:
    if shares.dim() < 2:
        raise ValueError(f"shares must be (T, K) or (T, S, K), got {tuple(shares.shape)}")
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must be in (0, 1], got {min_share}")


def modes_held(shares: Tensor, min_share: float = 0.05) -> Tensor:
    """How many modes hold at least ``min_share`` of the samples: ``(T, [S,] K) -> (T, [S])`` int64."""
    _check_shares(shares, min_share)
    return (shares >= min_share).sum(dim=-1)


def dominant_mode(shares: Tensor, min_share: float = 0.5) -> Tensor:
    """The mode holding at least ``min_share`` of the samples, else :data:`NO_MODE`: ``(T, [S,] K) -> (T, [S])``.

    With ``min_share >= 0.5`` at most one mode qualifies; below that the largest share wins.
    """
    _check_shares(shares, min_share)
    top_share, top = shares.max(dim=-1)
    return torch.where(top_share >= min_share, top, NO_MODE)


def count_hops(dominant: Tensor) -> Tensor:
    """Changes of the dominant mode along the first axis: ``(T,) -> ()``, ``(T, S) -> (S,)`` int64.

    A hop is a snapshot whose dominant mode differs from the dominant mode of the last
    earlier snapshot that had one; snapshots without a dominant mode (:data:`NO_MODE`) are
    skipped, so spreading out and coming back to the same mode is no hop.
    """
    if dominant.dim() not in (1, 2):
        raise ValueError(f"dominant must be (T,) or (T, S), got {tuple(dominant.shape)}")
    squeeze = dominant.dim() == 1
    dominant = dominant.reshape(len(dominant), -1)  # (T, S)
    hops = torch.zeros(dominant.shape[1], dtype=torch.int64)
    last = torch.full((dominant.shape[1],), NO_MODE, dtype=torch.int64)
    for row in dominant.cpu():  # T is a few dozen snapshots: a loop over time is clearest
        seen = row != NO_MODE
        hops += (seen & (last != NO_MODE) & (row != last)).long()
        last = torch.where(seen, row, last)
    return hops[0] if squeeze else hops


def distinct_dominant_modes(dominant: Tensor) -> Tensor:
    """How many different modes were dominant at some snapshot: ``(T,) -> ()``, ``(T, S) -> (S,)`` int64."""
    if dominant.dim() not in (1, 2):
        raise ValueError(f"dominant must be (T,) or (T, S), got {tuple(dominant.shape)}")
    squeeze = dominant.dim() == 1
    dominant = dominant.reshape(len(dominant), -1).cpu()
    counts = torch.tensor([len(set(col.tolist()) - {NO_MODE}) for col in dominant.T], dtype=torch.int64)
    return counts[0] if squeeze else counts


@dataclass(frozen=True)
class HoppingSummary:
    """What :func:`summarize_hopping` measures on a film of ``T`` snapshots of ``S`` seeds.

    ``modes_held`` and ``dominant`` are ``(T, S)``; ``hops``, ``distinct_dominant`` and
    ``late_modes_held`` (the mean of ``modes_held`` over the last ``late_fraction`` of the
    snapshots) are ``(S,)``.
    """

    modes_held: Tensor
    dominant: Tensor
    hops: Tensor
    distinct_dominant: Tensor
    late_modes_held: Tensor


def summarize_hopping(shares: Tensor, min_share: float = 0.05, dominant_share: float = 0.5,
                      late_fraction: float = 0.25) -> HoppingSummary:
    """Modes held, the dominant mode, its hops and the modes held late in training, from ``shares`` ``(T, S, K)``.

    ``min_share`` is the share a mode must hold to count as held (:func:`modes_held`),
    ``dominant_share`` the share that makes a mode dominant (:func:`dominant_mode`). Chapters 03, 08.
    """
    if shares.dim() != 3:
        raise ValueError(f"shares must be (T, S, K), one film per seed; got {tuple(shares.shape)}")
    if not 0 < late_fraction <= 1:
        raise ValueError(f"late_fraction must be in (0, 1], got {late_fraction}")
    held = modes_held(shares, min_share)
    dominant = dominant_mode(shares, dominant_share)
    late = max(1, round(late_fraction * len(shares)))
    return HoppingSummary(held, dominant, count_hops(dominant), distinct_dominant_modes(dominant),
                          held[-late:].float().mean(dim=0))
