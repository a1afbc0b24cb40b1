"""Nearest training images: is G making new images or copying the ones it was trained on?

A generator that memorized its data would reach a low FID by reproducing training images.
Chapter 06 shows samples beside their nearest training images (Euclidean distance in pixel
space) and measures memorization by comparing two distances to the training set: that of
G's samples and that of held-out test images, which are new by construction. A copying G puts
its samples much closer to the training set than new images lie (:func:`memorization_ratio`
well below 1); a G that makes new images of the same kind gives a ratio near or above 1.
"""

from __future__ import annotations

import torch
from torch import Tensor


@torch.no_grad()
def nearest_neighbours(x: Tensor, data: Tensor, chunk: int = 4096) -> tuple[Tensor, Tensor]:
    """For each image of ``x`` ``(N, C, H, W)``, its nearest image in ``data`` ``(M, C, H, W)`` by pixel L2.

    Returns ``(distances, indices)``, each ``(N,)``, on ``x``'s device. ``data`` is read in chunks of
    ``chunk`` images (memory ``N * chunk`` floats). Chapter 06.
    """
    if x.dim() < 2 or data.dim() != x.dim() or x.shape[1:] != data.shape[1:]:
        raise ValueError(f"x (N, ...) and data (M, ...) must hold images of one shape, got {tuple(x.shape)} "
                         f"and {tuple(data.shape)}")
    if len(x) == 0 or len(data) == 0:
        raise ValueError("need at least one image in x and in data")
    a = x.flatten(1).float()  # (N, P)
    best = torch.full((len(a),), float("inf"), device=a.device)
    index = torch.zeros(len(a), dtype=torch.long, device=a.device)
    a_sq = a.square().sum(1, keepdim=True)  # (N, 1)
    for start in range(0, len(data), chunk):
        b = data[start:start + chunk].to(a.device).flatten(1).float()  # (m, P)
        # |a - b|^2 = |a|^2 - 2 a.b + |b|^2, one matmul per chunk
        d2 = (a_sq - 2 * a @ b.T + b.square().sum(1)).clamp(min=0)  # (N, m)
        d2_min, i = d2.min(dim=1)
        better = d2_min < best
        best = torch.where(better, d2_min, best)
        index = torch.where(better, i + start, index)
    # the expanded form loses precision for near-duplicates: recompute the winners' distances directly
    distances = (a - data[index.to(data.device)].to(a.device).flatten(1).float()).norm(dim=1)
    return distances, index


def memorization_ratio(samples: Tensor, held_out: Tensor, train: Tensor) -> float:
    """Median distance of ``samples`` to their nearest ``train`` image over that of ``held_out`` images.

    All ``(N, C, H, W)`` on one scale (e.g. ``[-1, 1]``). Near or above 1: the samples are as far from
    the training set as new images are; well below 1: G copies. Chapter 06.
    """
    d_samples, _ = nearest_neighbours(samples, train)
    d_held_out, _ = nearest_neighbours(held_out, train)
    return float(d_samples.median() / d_held_out.median().clamp(min=1e-12))
