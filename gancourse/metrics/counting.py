"""Counting objects in images: connected components, exact-count accuracy, count-histogram distance.

Chapter 05 generates images with a known number of objects and asks whether a
GAN's samples keep that number (Zhao et al. 2018 find that samples spread
around the trained count). An object is a connected component of the pixels
above ``threshold``, with 8-connectivity by default (pixels that touch at a
corner are one object) or 4-connectivity (only edge neighbours join).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gancourse.training import threads

_STEPS_PER_CHECK = 8  # propagation steps between convergence checks (each check syncs with the host)


def _neighbourhood_max(labels: Tensor, connectivity: int) -> Tensor:
    """Max of each pixel's label and its neighbours' labels, ``(N, 1, H, W)`` -> same shape."""
    if connectivity == 8:
        return F.max_pool2d(labels, 3, stride=1, padding=1)
    # 4-connectivity: the max over the vertical and the horizontal 3-pixel lines is the max over the "+"
    vertical = F.max_pool2d(labels, (3, 1), stride=1, padding=(1, 0))
    horizontal = F.max_pool2d(labels, (1, 3), stride=1, padding=(0, 1))
    return torch.maximum(vertical, horizontal)


@torch.no_grad()
def label_components(images: Tensor, threshold: float = 0.0, connectivity: int = 8) -> Tensor:
    """Connected components of ``images > threshold``: labels ``(N, H, W)`` int64, 0 on the background.

    ``images`` is ``(N, 1, H, W)`` or ``(N, H, W)``, on any device. Every foreground
    pixel starts with a unique label (its index + 1) and repeatedly takes the largest label
    among its foreground neighbours (a max-pool masked to the foreground) until nothing
    changes; then every pixel of a component holds the component's largest initial label.
    All images are done at once; the number of steps grows with the longest path inside an
    object. ``connectivity`` is 8 (corners touch) or 4 (edges only). Chapter 05.
    """
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must have shape (N, 1, H, W) or (N, H, W), got {tuple(images.shape)}")
    _, _, h, w = images.shape
    if h * w >= 2**24:
        raise ValueError(f"images of {h}x{w} pixels are too large: labels are exact in float32 below 2**24 pixels")
    foreground = images > threshold  # (N, 1, H, W)
    # labels 1..H*W, the same in every image; float32 because max_pool2d needs floats (exact below 2**24)
    ids = torch.arange(1, h * w + 1, device=images.device, dtype=torch.float32).view(1, 1, h, w)
    labels = torch.where(foreground, ids, 0.0)
    # CPU threads by the work of one propagation step (a 3x3 max and a select per pixel; no matmul to count)
    with threads.for_work(images.numel() * 10 / 1e6, images.device):
        for _ in range(h * w):  # a component's diameter is at most H*W steps
            previous = labels
            for _ in range(_STEPS_PER_CHECK):
                labels = torch.where(foreground, _neighbourhood_max(labels, connectivity), 0.0)
            if torch.equal(labels, previous):
                break
    return labels[:, 0].long()


def component_sizes(labels: Tensor) -> Tensor:
    """Size in pixels of the component each pixel belongs to, from :func:`label_components`: ``(N, H, W)``, 0 off it."""
    n, h, w = labels.shape
    flat = labels.flatten(1)  # (N, H*W)
    offsets = torch.arange(n, device=labels.device)[:, None] * (h * w + 1)  # one bincount for all images
    sizes = torch.bincount((flat + offsets).flatten(), minlength=n * (h * w + 1)).view(n, h * w + 1)
    sizes[:, 0] = 0  # the background is no component
    return sizes.gather(1, flat).view(n, h, w)


@torch.no_grad()
def count_objects(images: Tensor, threshold: float = 0.0, connectivity: int = 8, min_pixels: int = 1) -> Tensor:
    """Number of connected components of ``images > threshold``, per image: ``(N,)`` int64.

    The components are those of :func:`label_components` (``images`` ``(N, 1, H, W)`` or
    ``(N, H, W)``; ``connectivity`` 8 or 4); each is counted once, at the pixel that kept its
    own label. Components of fewer than ``min_pixels`` pixels are not counted (specks of
    noise in a GAN's samples). Chapter 05.
    """
    if not isinstance(min_pixels, int) or isinstance(min_pixels, bool) or min_pixels < 1:
        raise ValueError(f"min_pixels must be an int >= 1, got {min_pixels!r}")
    labels = label_components(images, threshold, connectivity)  # (N, H, W)
    n, h, w = labels.shape
    ids = torch.arange(1, h * w + 1, device=labels.device).view(1, h, w)
    roots = labels == ids  # one pixel per component: the one whose label it kept
    if min_pixels > 1:
        roots &= component_sizes(labels) >= min_pixels
    return roots.flatten(1).sum(dim=1)


def count_accuracy(counts: Tensor, target: Tensor | int) -> float:
    """Fraction of images whose ``counts`` (N,) equal ``target`` (an int, or ``(N,)`` per image). Chapter 05."""
    target = torch.as_tensor(target, device=counts.device)
    if target.dim() > 0 and target.shape != counts.shape:
        raise ValueError(f"target must be an int or have the shape of counts {tuple(counts.shape)}, "
                         f"got {tuple(target.shape)}")
    if counts.numel() == 0:
        raise ValueError("counts is empty: need at least one image")
    return float((counts == target).float().mean())


def count_histogram(counts: Tensor, n_bins: int) -> Tensor:
    """Normalised histogram of non-negative integer ``counts`` (N,) over 0..n_bins-1: ``(n_bins,)`` float."""
    return torch.bincount(counts.long(), minlength=n_bins).float() / len(counts)


def count_histogram_distance(counts_a: Tensor, counts_b: Tensor) -> float:
    """Total variation distance between the histograms of two sets of object counts, in [0, 1].

    ``TV = 1/2 * sum_c |P_a(c) - P_b(c)|`` over every count ``c`` seen in either
    set: 0 when the two sets have the same count frequencies, 1 when they share no
    count. The sets may have different sizes. Chapter 05 compares samples with data.
    """
    for name, counts in (("counts_a", counts_a), ("counts_b", counts_b)):
        if counts.dim() != 1 or counts.numel() == 0:
            raise ValueError(f"{name} must be a non-empty 1-D tensor of counts, got shape {tuple(counts.shape)}")
        if counts.dtype.is_floating_point or counts.dtype == torch.bool:
            raise ValueError(f"{name} must hold integer counts, got dtype {counts.dtype}")
    counts_b = counts_b.to(counts_a.device)
    low = torch.minimum(counts_a.min(), counts_b.min())
    if low < 0:
        raise ValueError(f"counts must be >= 0, got {int(low)}")
    n_bins = int(torch.maximum(counts_a.max(), counts_b.max())) + 1
    difference = count_histogram(counts_a, n_bins) - count_histogram(counts_b, n_bins)
    return float(difference.abs().sum() / 2)
