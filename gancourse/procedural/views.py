"""A house seen from random viewpoints, and a check that a picture is a view some camera could take (chapter 05).

Goodfellow's NIPS 2016 tutorial notes that GANs trained on ImageNet have trouble with
three-dimensional perspective and with global structure (objects that are too flat, an animal
standing on four legs and on two at once): parts from different viewpoints do not add up to one
object. Here the object is a small house with a front (a white gable wall with a black door), a
dark grey back, light grey sides and a dark two-sloped roof, rendered in grey by
:mod:`gancourse.procedural.render` from a random azimuth (all around) and elevation (5-35
degrees above the ground).

The checks (:class:`ViewBank`): a dense bank of renders on a grid of viewpoints; a sample's
distance is the RMS pixel difference to its nearest bank view, after a light blur (so that a
slightly soft sample of a right view is not penalised for its softness alone). The threshold is
calibrated on held-out real renders (:meth:`ViewBank.calibrate`), optionally with a tolerance: the
distance of a real render to the views at least that many degrees of azimuth away from its own,
i.e. how much a turn of the camera changes the picture. A sample farther than the threshold from
every view is **far**. A sample whose left half is nearest to a view of the front and whose right
half is nearest to a view of the back (or the other way round) is a **front/back mixture**. Either
way it is an **impossible object**: no camera takes that picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gancourse.procedural.render import Mesh, render

ELEVATION = (5.0, 35.0)
"""Default range of camera elevations, in degrees above the ground."""
DISTANCE = 3.5


def _quad(a, b, c, d) -> list[tuple]:
    return [(a, b, c), (a, c, d)]


def house(device: torch.device | str | None = None) -> Mesh:
    """The chapter's house: a white front with a black door at ``+x``, a darker back than sides, a dark roof, ``z`` up.

    Walls span ``x`` in [-0.5, 0.5], ``y`` in [-0.7, 0.7], ``z`` in [-0.55, 0.15]; the ridge runs
    along ``x`` at ``z = 0.55``. The door sits 0.01 in front of the front wall.
    """
    x0, x1, y0, y1, z0, z1, ridge = -0.5, 0.5, -0.7, 0.7, -0.55, 0.15, 0.55
    parts = {  # shade: list of triangles (three 3-D corners each)
        1.0: _quad((x1, y0, z0), (x1, y1, z0), (x1, y1, z1), (x1, y0, z1))  # front wall and gable
        + [((x1, y0, z1), (x1, y1, z1), (x1, 0, ridge))],
        0.45: _quad((x0, y0, z0), (x0, y1, z0), (x0, y1, z1), (x0, y0, z1))  # back wall and gable
        + [((x0, y0, z1), (x0, y1, z1), (x0, 0, ridge))],
        0.7: _quad((x0, y1, z0), (x1, y1, z0), (x1, y1, z1), (x0, y1, z1))
        + _quad((x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)),
        0.2: _quad((x0, y1, z1), (x1, y1, z1), (x1, 0, ridge), (x0, 0, ridge))
        + _quad((x0, y0, z1), (x1, y0, z1), (x1, 0, ridge), (x0, 0, ridge)),
        0.0: _quad((x1 + 0.01, -0.18, z0), (x1 + 0.01, 0.18, z0), (x1 + 0.01, 0.18, -0.05), (x1 + 0.01, -0.18, -0.05)),
    }
    corners = [(c, shade) for shade, triangles in parts.items() for c in triangles]
    vertices = torch.tensor([p for c, _ in corners for p in c], dtype=torch.float32)  # (3T, 3): no sharing needed
    triangles = torch.arange(len(vertices)).view(-1, 3)
    shade = torch.tensor([s for _, s in corners], dtype=torch.float32)
    return Mesh(vertices, triangles, shade).to(device or "cpu")


def _check_elevation(elevation: tuple[float, float]) -> tuple[float, float]:
    low, high = elevation
    if not 0 <= low <= high < 90:
        raise ValueError(f"elevation must be (low, high) degrees with 0 <= low <= high < 90, got {elevation!r}")
    return float(low), float(high)


def random_viewpoints(n: int, generator: torch.Generator, device: torch.device | str | None = None,
                      elevation: tuple[float, float] = ELEVATION) -> Tensor:
    """``(n, 2)`` (azimuth, elevation) radians: azimuth uniform on [0, 2 pi), elevation on ``elevation`` (degrees)."""
    low, high = (math.radians(e) for e in _check_elevation(elevation))
    device = generator.device if device is None else device
    u = torch.rand(n, 2, generator=generator, device=device)
    return torch.stack([2 * math.pi * u[:, 0], low + (high - low) * u[:, 1]], dim=-1)


def house_views(n: int, size: int = 28, seed: int = 0, device: torch.device | str | None = None,
                elevation: tuple[float, float] = ELEVATION) -> tuple[Tensor, Tensor]:
    """``n`` renders of :func:`house` from random viewpoints drawn from ``seed`` (elevations in degrees). Chapter 05.

    Returns ``(images (N, 1, size, size) in [-1, 1], viewpoints (N, 2) as (azimuth, elevation) radians)``.
    """
    generator = torch.Generator(device=device or "cpu").manual_seed(seed)
    angles = random_viewpoints(n, generator, device, elevation)
    return render(house(angles.device), angles[:, 0], angles[:, 1], size, DISTANCE), angles


def blur(images: Tensor, sigma: float = 1.0) -> Tensor:
    """Gaussian blur of ``(N, C, H, W)`` images (zero padding after shifting black to 0); ``sigma`` in pixels."""
    if sigma <= 0:
        return images
    radius = max(1, math.ceil(2 * sigma))
    t = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype)
    kernel = torch.exp(-(t**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    C = images.shape[1]
    x = images + 1  # black background -> 0, so the zero padding matches it
    x = F.conv2d(x, kernel.view(1, 1, -1, 1).expand(C, 1, -1, 1).contiguous(), padding=(radius, 0), groups=C)
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(C, 1, 1, -1).contiguous(), padding=(0, radius), groups=C)
    return x - 1


def azimuth_gap(a: Tensor, b: Tensor) -> Tensor:
    """Smallest angle between azimuths ``a`` and ``b`` (radians, any shape), in ``[0, pi]``."""
    d = torch.remainder(a - b, 2 * math.pi)
    return torch.minimum(d, 2 * math.pi - d)


FACING = 60.0
"""A view shows the front when its azimuth is within this many degrees of 0, the back within this of 180."""


@dataclass(frozen=True)
class PerspectiveReport:
    """What :meth:`ViewBank.check` reads off ``N`` images (all ``(N,)``).

    ``distance``: RMS difference to the nearest bank view (after the blur, in ``[-1, 1]`` pixel units);
    ``nearest``: that view's index in the bank; ``far``: ``distance > threshold``;
    ``left``, ``right``: indices of the bank views nearest to the image's left and right halves;
    ``mixture``: one half matches a view of the front, the other a view of the back;
    ``impossible``: far or a mixture, a picture no camera takes.
    """

    distance: Tensor
    nearest: Tensor
    far: Tensor
    left: Tensor
    right: Tensor
    mixture: Tensor
    threshold: float

    @property
    def impossible(self) -> Tensor:
        return self.far | self.mixture

    def captions(self) -> list[str]:
        """One short description per image: its distance and what it was judged to be."""
        return [f"d {d:.2f}" + (" front|back" if m else " far" if f else "")
                for d, f, m in zip(self.distance.tolist(), self.far.tolist(), self.mixture.tolist(), strict=True)]


class ViewBank:
    """Renders of the house on a grid of viewpoints, and the distance of any image to the nearest of them.

    ``azimuth_step``, ``elevation_step`` in degrees (defaults 3 and 3: 120 x 11 = 1,320 views over the
    default elevations). :meth:`calibrate` sets ``threshold`` from held-out real renders;
    :meth:`check` scores any images (a GAN's samples) against it.
    """

    def __init__(self, size: int = 28, azimuth_step: float = 3.0, elevation_step: float = 3.0,
                 sigma: float = 1.0, device: torch.device | str | None = None,
                 elevation: tuple[float, float] = ELEVATION) -> None:
        if azimuth_step <= 0 or elevation_step <= 0:
            raise ValueError(f"steps must be > 0 degrees, got azimuth_step={azimuth_step}, "
                             f"elevation_step={elevation_step}")
        device = torch.device(device or "cpu")
        azimuths = torch.arange(0, 360, azimuth_step, device=device, dtype=torch.float32)
        low, high = _check_elevation(elevation)
        elevations = torch.arange(low, high + 1e-6, elevation_step, device=device, dtype=torch.float32)
        grid = torch.cartesian_prod(azimuths, elevations).deg2rad()  # (M, 2)
        self.size, self.sigma = size, sigma
        self.angles = grid
        self.images = render(house(device), grid[:, 0], grid[:, 1], size, DISTANCE)  # (M, 1, size, size)
        self._bank = blur(self.images, sigma)  # (M, 1, size, size)
        self.threshold: float | None = None
        gap_front = azimuth_gap(grid[:, 0], torch.zeros(()))
        self.shows_front = gap_front < math.radians(FACING)  # (M,)
        self.shows_back = gap_front > math.pi - math.radians(FACING)

    def __len__(self) -> int:
        return len(self.images)

    def _features_of(self, images: Tensor) -> Tensor:
        if images.dim() != 4 or tuple(images.shape[1:]) != (1, self.size, self.size):
            raise ValueError(f"images must have shape (N, 1, {self.size}, {self.size}), got {tuple(images.shape)}")
        return blur(images.to(self.images.device, torch.float32), self.sigma)

    @staticmethod
    def _distances(features: Tensor, bank: Tensor) -> Tensor:
        """RMS differences ``(N, M)`` between ``(N, ...)`` and ``(M, ...)`` feature maps."""
        d2 = torch.cdist(features.flatten(1), bank.flatten(1)).pow(2) / features[0].numel()
        return d2.clamp_min(0).sqrt()

    @torch.no_grad()
    def nearest(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """``(distance (N,), index (N,))`` of each image's nearest bank view (RMS after the blur)."""
        return self._distances(self._features_of(images), self._bank).min(dim=1)

    @torch.no_grad()
    def halves(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Indices ``(left (N,), right (N,))`` of the bank views nearest to each image's left and right halves."""
        x, half = self._features_of(images), self.size // 2
        left = self._distances(x[..., :half], self._bank[..., :half]).argmin(dim=1)
        right = self._distances(x[..., half:], self._bank[..., half:]).argmin(dim=1)
        return left, right

    @torch.no_grad()
    def calibrate(self, real_images: Tensor, real_angles: Tensor | None = None, tolerance: float = 0.0,
                  quantile: float = 0.99) -> float:
        """Set ``threshold`` from held-out real renders and return it.

        With ``tolerance = 0`` it is the ``quantile`` of their distances to the nearest bank view.
        With ``tolerance = t`` degrees (needs their viewpoints ``real_angles`` ``(N, 2)``), the bank
        views within ``t`` degrees of azimuth of each render's own viewpoint are left out first: the
        threshold is then how far a real picture is from views ``t`` degrees off, so that a sample
        counts as a possible view when it is at least that close to one.
        """
        if not 0 < quantile <= 1:
            raise ValueError(f"quantile must be in (0, 1], got {quantile}")
        if tolerance < 0 or (tolerance > 0 and real_angles is None):
            raise ValueError(f"tolerance must be >= 0 degrees, and > 0 needs real_angles; got {tolerance!r}")
        d = self._distances(self._features_of(real_images), self._bank)  # (N, M)
        if tolerance > 0:
            own = azimuth_gap(real_angles[:, :1].to(d.device), self.angles[None, :, 0]) < math.radians(tolerance)
            d = d.masked_fill(own, math.inf)
        self.threshold = float(torch.quantile(d.min(dim=1).values, quantile))
        return self.threshold

    @torch.no_grad()
    def check(self, images: Tensor) -> PerspectiveReport:
        """Distance to the nearest view, far or not, and front/back mixtures, for each image."""
        if self.threshold is None:
            raise ValueError("the bank has no threshold yet: call bank.calibrate(held_out_real_renders) first")
        distance, index = self.nearest(images)
        left, right = self.halves(images)
        front, back = self.shows_front, self.shows_back
        mixture = (front[left] & back[right]) | (back[left] & front[right])
        return PerspectiveReport(distance, index, distance > self.threshold, left, right, mixture, self.threshold)
