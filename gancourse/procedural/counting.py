"""Images with a known number of objects: discs and squares that never touch (chapter 05, counting).

Zhao et al. (2018, *Bias and generalization in deep generative models*) train generators on
images that all hold the same number of objects and find that the samples' counts spread
around it. Here every image holds exactly ``k`` objects (or a ``k`` drawn per image from a
set), at random positions and sizes, separated by a gap of at least ``gap`` pixels, so that
thresholding at 0 and counting connected components (:func:`gancourse.metrics.count_objects`)
recovers ``k`` exactly. Generation is batched on the device: candidate layouts for all images
at once, the first valid one kept per image (rejection sampling without a loop per image).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from gancourse.metrics.counting import count_objects

SHAPES = ("disc", "square")


@dataclass(frozen=True)
class Objects:
    """The layout behind a batch of counting images; ``K`` is the largest count (unused slots are inactive).

    ``centers``: ``(N, K, 2)`` pixel coordinates (x, y) of each object's centre (pixel ``(i, j)``
    covers ``[j, j+1) x [i, i+1)``); ``radius``: ``(N, K)`` (disc radius or square half-side, pixels);
    ``square``: ``(N, K)`` bool; ``angle``: ``(N, K)`` rotation of squares (radians);
    ``active``: ``(N, K)`` bool, ``active[n].sum()`` objects in image ``n``.
    """

    centers: Tensor
    radius: Tensor
    square: Tensor
    angle: Tensor
    active: Tensor

    @property
    def counts(self) -> Tensor:
        """``(N,)`` int64: the number of objects of each image."""
        return self.active.sum(dim=1)


def _extent(radius: Tensor, square: Tensor) -> Tensor:
    """Radius of the disc that contains the object: ``r`` for a disc, ``r * sqrt(2)`` for a square."""
    return torch.where(square, radius * math.sqrt(2), radius)


def sample_objects(n: int, k: int | Sequence[int] = 3, size: int = 28, radius: tuple[float, float] = (2.0, 3.5),
                   shapes: Sequence[str] = SHAPES, gap: float = 2.0, generator: torch.Generator | None = None,
                   device: torch.device | str | None = None, tries: int = 32) -> Objects:
    """Random non-touching layouts of ``k`` objects per image (``k`` an int, or a set to draw from per image).

    Objects lie entirely inside the image, one pixel from its border, and any two are at least
    ``gap`` pixels apart (measured between the discs that contain them). Each round draws
    ``tries`` candidate layouts for every image still without one, all at once. Chapter 05.
    """
    ks = [k] if isinstance(k, int) else list(k)
    if not ks or any(not isinstance(v, int) or v < 0 for v in ks):
        raise ValueError(f"k must be a non-negative int or a non-empty list of them, got {k!r}")
    bad = [s for s in shapes if s not in SHAPES]
    if bad or not shapes:
        raise ValueError(f"shapes must be a non-empty subset of {SHAPES}, got {tuple(shapes)!r}")
    if not 0 < radius[0] <= radius[1]:
        raise ValueError(f"radius must be (low, high) with 0 < low <= high, got {radius!r}")
    largest = radius[1] * (math.sqrt(2) if "square" in shapes else 1.0)
    if 2 * (largest + 1) >= size:
        raise ValueError(f"objects of radius up to {radius[1]} do not fit in a {size}x{size} image; "
                         f"use a smaller radius or a larger size")
    if generator is None:
        generator = torch.Generator(device=device or "cpu").manual_seed(0)
    device = generator.device if device is None else torch.device(device)
    K = max(ks)
    counts = torch.tensor(ks, device=device)[torch.randint(len(ks), (n,), generator=generator, device=device)]
    is_square = torch.tensor([s == "square" for s in shapes], device=device)  # per entry of shapes

    out_centers = torch.zeros(n, K, 2, device=device)
    out_radius = torch.zeros(n, K, device=device)
    out_square = torch.zeros(n, K, dtype=torch.bool, device=device)
    todo = torch.arange(n, device=device)
    for _ in range(1000):  # rounds, each over all images still without a layout
        if len(todo) == 0:
            break
        m = len(todo)
        r = radius[0] + (radius[1] - radius[0]) * torch.rand(m, tries, K, generator=generator, device=device)
        sq = is_square[torch.randint(len(shapes), (m, tries, K), generator=generator, device=device)]
        ext = _extent(r, sq)
        # centres uniform over the positions that keep the object one pixel inside the border
        low = ext + 1
        c = low[..., None] + (size - 2 * low[..., None]) * torch.rand(m, tries, K, 2, generator=generator,
                                                                       device=device)
        active = torch.arange(K, device=device) < counts[todo, None, None]  # (m, 1, K)
        distance = (c[..., :, None, :] - c[..., None, :, :]).norm(dim=-1)  # (m, tries, K, K)
        needed = ext[..., :, None] + ext[..., None, :] + gap
        pair = active[..., :, None] & active[..., None, :] & ~torch.eye(K, dtype=torch.bool, device=device)
        valid = ~((distance < needed) & pair).flatten(2).any(dim=2)  # (m, tries)
        found = valid.any(dim=1)
        first = valid.float().argmax(dim=1)  # the first valid try
        rows = torch.arange(m, device=device)
        done = todo[found]
        out_centers[done] = c[rows, first][found]
        out_radius[done] = r[rows, first][found]
        out_square[done] = sq[rows, first][found]
        todo = todo[~found]
    else:
        raise RuntimeError(f"could not place {K} objects without contact in {size}x{size} images; "
                           f"use fewer or smaller objects, or a smaller gap")
    active = torch.arange(K, device=device) < counts[:, None]
    angle = (math.pi / 2) * torch.rand(n, K, generator=generator, device=device)
    return Objects(out_centers, out_radius * active, out_square & active, angle * out_square, active)


def render_objects(objects: Objects, size: int = 28) -> Tensor:
    """Grey images ``(N, 1, size, size)`` in ``[-1, 1]``: white objects with a one-pixel soft edge on black.

    A pixel's value is ``2 * coverage - 1``, where ``coverage = clamp(r - d + 1/2, 0, 1)`` and ``d``
    is the distance of the pixel centre from the object (Euclidean for discs, the rotated
    max-norm for squares): so ``value > 0`` exactly where the centre lies inside an object. Chapter 05.
    """
    device = objects.centers.device
    if objects.active.shape[1] == 0:  # k = 0: empty images
        return torch.full((len(objects.active), 1, size, size), -1.0, device=device)
    coords = torch.arange(size, device=device, dtype=torch.float32) + 0.5
    x, y = coords.view(1, 1, 1, size), coords.view(1, 1, size, 1)
    dx = x - objects.centers[..., 0, None, None]  # (N, K, 1, size)
    dy = y - objects.centers[..., 1, None, None]  # (N, K, size, 1)
    cos, sin = objects.angle.cos()[..., None, None], objects.angle.sin()[..., None, None]
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy  # the square's own axes
    d = torch.where(objects.square[..., None, None], torch.maximum(u.abs(), v.abs()), (dx**2 + dy**2).sqrt())
    coverage = (objects.radius[..., None, None] - d + 0.5).clamp(0, 1) * objects.active[..., None, None]
    return coverage.amax(dim=1, keepdim=True) * 2 - 1


def counting_images(n: int, k: int | Sequence[int] = 3, size: int = 28, seed: int = 0,
                    device: torch.device | str | None = None, **options) -> tuple[Tensor, Tensor]:
    """``n`` images with ``k`` objects each, from ``seed``: ``(images (N, 1, size, size) in [-1, 1], counts (N,))``.

    The same seed gives the same images on the same device. ``options`` go to
    :func:`sample_objects` (``radius``, ``shapes``, ``gap``). Chapter 05.
    """
    generator = torch.Generator(device=device or "cpu").manual_seed(seed)
    objects = sample_objects(n, k, size, generator=generator, device=device, **options)
    return render_objects(objects, size), objects.counts


def count_errors(images: Tensor, k: int | Tensor) -> Tensor:
    """Signed count error per image, ``count_objects(images) - k``: ``(N,)`` int64 (0 = right count). Chapter 05."""
    return count_objects(images, threshold=0.0) - torch.as_tensor(k, device=images.device)
