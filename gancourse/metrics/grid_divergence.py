"""KL and JS between two 2-D sample sets, estimated from their histograms on a grid (GAN Lab's readout).

Chapter 00's playground shows, beside modes covered, how far G's samples are from the data
as a whole: both sets are binned on an ``n x n`` grid over a fixed box (points outside the
box share one extra cell, so a G that throws samples far away is not excused), and

* ``js``: the Jensen-Shannon divergence of the two histograms, in nats: 0 for equal
  histograms, ``log 2`` when no cell holds both (exact, no smoothing);
* ``kl``: ``KL(p_data || p_g)``, in nats, with ``eps`` added to every cell of both histograms
  first (GAN Lab adds 1e-4 the same way), since ``p_g`` is 0 in cells G has not reached.

GAN Lab (Kahng et al. 2019) shows both on a 30 x 30 grid of its unit square, in bits; this
module reports nats, the unit of the course's other divergences. Histograms of finite samples
are noisy: two samples of the same distribution give a small positive value, not 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class GridDivergence:
    """``kl`` and ``js`` in nats: floats for one fake set, ``(S,)`` tensors for ``S`` stacked ones."""

    kl: float | Tensor
    js: float | Tensor


def grid_histogram(x: Tensor, extent: tuple[float, float, float, float], n_cells: int = 30) -> Tensor:
    """Fractions of the points ``x`` (``(N, 2)``, or ``(S, N, 2)``) in each cell: ``(n*n + 1,)`` or ``(S, n*n + 1)``.

    Cell ``i * n + j`` holds ``x_min + j dx <= x < x_min + (j+1) dx`` and row ``i`` likewise in y;
    the last entry is every point outside ``extent = (x_min, x_max, y_min, y_max)`` (or NaN).
    """
    if x.dim() not in (2, 3) or x.shape[-1] != 2 or x.shape[-2] == 0:
        raise ValueError(f"points must be (N, 2) or (S, N, 2) with N >= 1, got {tuple(x.shape)}")
    if not isinstance(n_cells, int) or n_cells < 1:
        raise ValueError(f"n_cells must be an int >= 1, got {n_cells!r}")
    x_min, x_max, y_min, y_max = (float(v) for v in extent)
    if not (x_min < x_max and y_min < y_max):
        raise ValueError(f"extent must be (x_min, x_max, y_min, y_max) with min < max, got {extent}")
    points = x.detach().float().reshape(-1, x.shape[-2], 2)  # (S, N, 2)
    col = ((points[..., 0] - x_min) / (x_max - x_min) * n_cells).floor()
    row = ((points[..., 1] - y_min) / (y_max - y_min) * n_cells).floor()
    inside = (col >= 0) & (col < n_cells) & (row >= 0) & (row < n_cells)  # NaN compares False: outside
    cell = torch.where(inside, row * n_cells + col, float(n_cells * n_cells)).long()  # (S, N)
    n_bins = n_cells * n_cells + 1
    offsets = torch.arange(len(points), device=x.device)[:, None] * n_bins
    counts = torch.bincount((cell + offsets).flatten(), minlength=len(points) * n_bins).view(len(points), n_bins)
    fractions = counts.float() / points.shape[1]
    return fractions if x.dim() == 3 else fractions[0]


def grid_divergences(x_real: Tensor, x_fake: Tensor, extent: tuple[float, float, float, float],
                     n_cells: int = 30, eps: float = 1e-4) -> GridDivergence:
    """``KL(p_data || p_g)`` and ``JS(p_data, p_g)`` of the grid histograms of ``x_real`` (N, 2) and ``x_fake``.

    ``x_fake`` is ``(M, 2)`` (floats back) or ``(S, M, 2)`` for ``S`` seeds (``(S,)`` tensors back).
    Chapter 00's playground plots both over training, as GAN Lab does.
    """
    if x_real.dim() != 2:
        raise ValueError(f"x_real must be (N, 2), got {tuple(x_real.shape)}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0 (it keeps KL finite where G has no samples), got {eps}")
    p = grid_histogram(x_real, extent, n_cells).to(x_fake.device)  # (C,)
    q = grid_histogram(x_fake, extent, n_cells)  # (C,) or (S, C)
    kl = ((p + eps) * ((p + eps) / (q + eps)).log()).sum(-1)
    m = (p + q) / 2
    # xlogy: 0 log 0 = 0; where p > 0 or q > 0, m > 0, so JS needs no smoothing and is at most log 2
    js = 0.5 * (torch.xlogy(p, p) - torch.xlogy(p, m)).sum(-1) + 0.5 * (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(-1)
    if x_fake.dim() == 2:
        return GridDivergence(float(kl), float(js))
    return GridDivergence(kl, js)
