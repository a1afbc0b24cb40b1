"""Mode coverage of 2-D samples: the VEEGAN / PacGAN protocol on the ring and the grid.

Chapters 03, 08 and 09 score a generator by

* **high quality**: the fraction of samples within 3 std (Euclidean distance
  ``<= 3 * std``) of their nearest mode;
* **modes**: how many modes are the nearest mode of at least one high-quality sample;
* **reverse KL**: ``KL(p || uniform)`` where ``p`` is the histogram, over modes, of
  the high-quality samples' nearest modes (low-quality samples are left out, as
  in the PacGAN code's ``detail_of_coverage``), with ``0 log 0 = 0``. It is
  ``log K - H(p)``: 0 when every mode gets the same share, ``log K`` when all
  samples sit on one mode. With no high-quality sample ``p`` does not exist and
  the score is ``inf`` (worse than any collapse onto one mode).

The PacGAN code tests ``distance / std < 3``; we use ``<=``, which differs only on
a set of probability zero. Many seeds are scored at once by
:func:`mode_coverage_batched`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from gancourse.validation import as_tensor, check_finite

HIGH_QUALITY_STDS = 3.0


@dataclass(frozen=True)
class ModeCoverage:
    """Scores of one sample set: ``modes`` covered, ``high_quality`` fraction in [0, 1], ``reverse_kl`` (nats).

    ``counts`` is the ``(K,)`` int64 number of high-quality samples per mode.
    """

    modes: int
    high_quality: float
    reverse_kl: float
    counts: Tensor


@dataclass(frozen=True)
class BatchedModeCoverage:
    """Scores of ``S`` sample sets (one per seed): tensors of shape ``(S,)``, ``counts`` of shape ``(S, K)``."""

    modes: Tensor
    high_quality: Tensor
    reverse_kl: Tensor
    counts: Tensor

    def __len__(self) -> int:
        return len(self.modes)

    def __getitem__(self, s: int) -> ModeCoverage:
        """The scores of seed ``s`` as a :class:`ModeCoverage`."""
        return ModeCoverage(
            modes=int(self.modes[s]),
            high_quality=float(self.high_quality[s]),
            reverse_kl=float(self.reverse_kl[s]),
            counts=self.counts[s],
        )


def _check(samples: object, centers: object, std: float, batched: bool) -> tuple[Tensor, Tensor]:
    """``samples`` and ``centers`` as tensors (NumPy arrays are converted), or an error naming the culprit."""
    samples, centers = as_tensor(samples, "samples"), as_tensor(centers, "centers")
    expected = "(S, N, 2)" if batched else "(N, 2)"
    if centers.dim() != 2 or centers.shape[0] == 0:
        raise ValueError(f"centers must be the mixture's mode centers, shape (K, 2) with K >= 1 (e.g. "
                         f"datasets.ring().centers), got {tuple(centers.shape)}")
    if samples.dim() != (3 if batched else 2) or samples.shape[-1] != centers.shape[1]:
        raise ValueError(f"samples must have shape {expected}, points with as many coordinates as the "
                         f"{centers.shape[1]}-D mode centers, got {tuple(samples.shape)}")
    if samples.shape[-2] == 0:
        raise ValueError(f"samples is empty (shape {tuple(samples.shape)}): score at least one sample (the "
                         f"protocol uses 2,500)")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    check_finite(samples, "samples", "G has diverged (its samples became NaN or infinite): look at the "
                 "training run's history (TrainingDiverged, HealthMonitor) and retrain with a lower learning rate")
    check_finite(centers, "centers", "pass the mixture's centers, e.g. datasets.ring().centers")
    if len(centers) > 1:
        # the protocol needs modes further apart than 6 std (two 3-std discs); samples passed as centers are not
        gap = torch.pdist(centers.double()).min()
        if gap <= 2 * HIGH_QUALITY_STDS * std:
            raise ValueError(f"two of the {len(centers)} mode centers lie {float(gap):.3g} apart, within "
                             f"{2 * HIGH_QUALITY_STDS:g} std = {2 * HIGH_QUALITY_STDS * std:.3g}, so their 3-std discs "
                             f"overlap; did you swap the arguments? The call is mode_coverage(samples, centers, "
                             f"std), e.g. mode_coverage(G(z), ring.centers, ring.std)")
    return samples, centers


@torch.no_grad()
def _scores(samples: Tensor, centers: Tensor, std: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``samples`` (S, N, D), ``centers`` (K, D) -> modes (S,), high_quality (S,), reverse_kl (S,), counts (S, K)."""
    centers = centers.to(device=samples.device, dtype=samples.dtype)
    n_modes = centers.shape[0]
    # K is small (8 or 25): the direct formula costs little and avoids the cancellation of the matmul one
    distances = torch.cdist(samples, centers.expand(len(samples), -1, -1),
                            compute_mode="donot_use_mm_for_euclid_dist")  # (S, N, K)
    nearest_distance, nearest = distances.min(dim=-1)  # (S, N)
    good = nearest_distance <= HIGH_QUALITY_STDS * std  # (S, N)
    counts = torch.zeros(len(samples), n_modes, dtype=torch.long, device=samples.device)
    counts.scatter_add_(1, nearest, good.long())  # (S, K): high-quality samples per nearest mode
    modes = (counts > 0).sum(dim=1)
    high_quality = good.to(samples.dtype).mean(dim=1)
    n_good = counts.sum(dim=1, keepdim=True)  # (S, 1)
    p = counts.to(samples.dtype) / n_good.clamp(min=1)
    reverse_kl = math.log(n_modes) + torch.special.xlogy(p, p).sum(dim=1)  # KL(p || 1/K) = log K - H(p)
    reverse_kl = torch.where(n_good.squeeze(1) > 0, reverse_kl.clamp(min=0.0), math.inf)
    return modes, high_quality, reverse_kl, counts


def mode_coverage(samples: Tensor, centers: Tensor, std: float) -> ModeCoverage:
    """Score ``samples`` (N, 2) against a mixture with mode ``centers`` (K, 2) and per-axis ``std``.

    Returns modes covered, fraction of high-quality samples and reverse KL to
    the uniform histogram (protocol in the module docstring). Chapters 03, 08, 09,
    e.g. ``mode_coverage(G(z), mixture.centers, mixture.std)``. NumPy arrays are accepted; NaN
    samples (a diverged G), samples of another dimension than the centers and centers closer
    than 6 std (e.g. the arguments swapped) raise ``ValueError``.
    """
    samples, centers = _check(samples, centers, std, batched=False)
    modes, high_quality, reverse_kl, counts = _scores(samples.unsqueeze(0), centers, std)
    return BatchedModeCoverage(modes, high_quality, reverse_kl, counts)[0]


def mode_coverage_batched(samples: Tensor, centers: Tensor, std: float) -> BatchedModeCoverage:
    """Score ``S`` sample sets at once, ``samples`` (S, N, 2), e.g. one per seed of a batched run.

    Every field of the result has a leading seed axis (``modes`` etc. ``(S,)``,
    ``counts`` ``(S, K)``) and stays on the samples' device; ``result[s]`` is the
    :class:`ModeCoverage` of seed ``s``. Chapters 03, 08, 09.
    """
    samples, centers = _check(samples, centers, std, batched=True)
    return BatchedModeCoverage(*_scores(samples, centers, std))
