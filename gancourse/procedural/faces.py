"""Toy faces whose global structure can be checked: two eyes, a mouth below them, both inside the head.

Goodfellow's NIPS 2016 tutorial notes that GANs trained on ImageNet often draw animals with the
wrong number of body parts: every part looks right locally, the arrangement does not. Here each
face is a yellow ellipse (the head), two blue discs (the eyes) and a red curved bar (the mouth), with a
random position, size, tilt, eye spacing and expression (the mouth's curvature), drawn on
black in RGB. The colours make the parts readable from any image, a GAN sample included:

* eyes: pixels with blue > 0; mouth: red > 0 and green < 0 (specks of 1-2 pixels ignored);
  background: the pixels darker than -1/2 in every channel that connect to the image border;
* **eye count**: connected components of the eye pixels (:func:`gancourse.metrics.count_objects`);
* **mouth below the eyes**: the centre of the mouth pixels lies below the centre of the eye pixels;
* **inside the head**: no eye or mouth pixel touches a background pixel (8-neighbourhood).

A face passes when it has exactly two eyes, one mouth, the mouth below the eyes and both inside.
Generation is batched on the device (:func:`sample_faces`, :func:`render_faces`). Chapter 05.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from gancourse.metrics.counting import component_sizes, count_objects, label_components

BACKGROUND = (-1.0, -1.0, -1.0)
HEAD = (1.0, 1.0, -1.0)  # yellow
EYE = (-1.0, -1.0, 1.0)  # blue
MOUTH = (1.0, -1.0, -1.0)  # red


@dataclass(frozen=True)
class FaceParams:
    """The geometry of ``N`` faces, in pixels; the face's own frame has ``u`` to its right and ``v`` down.

    ``center`` ``(N, 2)`` (x, y) of the head; ``axes`` ``(N, 2)`` the head's half-width and
    half-height; ``tilt`` ``(N,)`` radians (clockwise on screen); ``eyes`` ``(N, E, 2)`` eye
    centres ``(u, v)`` in the face frame (``E = 2`` for a real face); ``eye_radius`` ``(N,)``;
    ``mouth`` ``(N, 2)`` the mouth's centre ``(u, v)``; ``mouth_width`` ``(N,)`` its half-length;
    ``mouth_thickness`` ``(N,)`` its half-thickness; ``smile`` ``(N,)`` how far its corners rise
    above its centre (negative: a frown).
    """

    center: Tensor
    axes: Tensor
    tilt: Tensor
    eyes: Tensor
    eye_radius: Tensor
    mouth: Tensor
    mouth_width: Tensor
    mouth_thickness: Tensor
    smile: Tensor

    def replace(self, **changes: Tensor) -> FaceParams:
        """A copy with some fields changed (the tests perturb faces this way)."""
        return replace(self, **changes)


def sample_faces(n: int, size: int = 28, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> FaceParams:
    """Random face geometry for ``n`` faces that fit a ``size x size`` image, all drawn at once. Chapter 05.

    Sizes are fractions of ``size`` (for 28 pixels: head half-axes 8.4-11 px, eyes of radius
    1.5-2 px); the eyes and the mouth stay well inside the head (at most 0.8 of the way to its
    outline), whatever the tilt (up to 20 degrees either way).
    """
    if size < 20:
        raise ValueError(f"faces need at least 20x20 pixels to keep their eyes apart, got size={size}")
    if generator is None:
        generator = torch.Generator(device=device or "cpu").manual_seed(0)
    device = generator.device if device is None else torch.device(device)
    s = size / 28  # every length below is in pixels of a 28x28 image

    def uniform(low: float, high: float, *shape: int) -> Tensor:
        return low + (high - low) * torch.rand(n, *shape, generator=generator, device=device)

    a = uniform(8.4, 10.0) * s  # half-width of the head
    b = a * uniform(1.05, 1.15)  # half-height
    tilt = uniform(-math.radians(20), math.radians(20))
    margin = (size / 2 - b) * 0.8  # room left for moving the head around
    center = size / 2 + margin[:, None] * (2 * torch.rand(n, 2, generator=generator, device=device) - 1)
    eye_u = uniform(0.34, 0.42) * a
    eye_v = -uniform(0.18, 0.3) * b
    eyes = torch.stack([torch.stack([-eye_u, eye_v], -1), torch.stack([eye_u, eye_v], -1)], dim=1)  # (n, 2, 2)
    mouth = torch.stack([uniform(-0.06, 0.06) * a, uniform(0.38, 0.48) * b], dim=-1)
    return FaceParams(
        center=center, axes=torch.stack([a, b], dim=-1), tilt=tilt, eyes=eyes,
        eye_radius=uniform(1.5, 2.0) * s, mouth=mouth, mouth_width=uniform(0.32, 0.42) * a,
        mouth_thickness=uniform(1.1, 1.4) * s, smile=uniform(-1.5, 1.5) * s,
    )


def with_third_eye(params: FaceParams) -> FaceParams:
    """The same faces with a third eye on the forehead, above and between the two (chapter 05's perturbation).

    All eyes get radius 1.4 px, so that the third one stays clear of the others on any face.
    """
    third = torch.stack([torch.zeros_like(params.tilt), params.eyes[:, 0, 1] - 0.4 * params.axes[:, 1]], dim=-1)
    return params.replace(eyes=torch.cat([params.eyes, third[:, None]], dim=1),
                          eye_radius=torch.full_like(params.eye_radius, 1.4))


def with_mouth_above(params: FaceParams) -> FaceParams:
    """The same faces with the mouth moved up to the forehead, above the eyes (chapter 05's perturbation)."""
    v = params.eyes[:, :, 1].min(dim=1).values - 0.35 * params.axes[:, 1]
    return params.replace(mouth=torch.stack([params.mouth[:, 0], v], dim=-1))


def _coverage(distance_inside: Tensor) -> Tensor:
    """Share of a pixel covered by a shape, from the signed distance of its centre to the outline (>0: inside)."""
    return (distance_inside + 0.5).clamp(0, 1)


def render_faces(params: FaceParams, size: int = 28) -> Tensor:
    """RGB images ``(N, 3, size, size)`` in ``[-1, 1]``: head, then eyes, then mouth painted over black. Chapter 05.

    Each part covers a pixel by ``clamp(d + 1/2, 0, 1)`` for ``d`` the (approximate) signed
    distance of the pixel centre inside the part's outline: a one-pixel soft edge.
    """
    device = params.center.device
    coords = torch.arange(size, device=device, dtype=torch.float32) + 0.5
    x = coords.view(1, 1, size) - params.center[:, 0, None, None]  # (N, 1, size)
    y = coords.view(1, size, 1) - params.center[:, 1, None, None]  # (N, size, 1)
    cos, sin = params.tilt.cos()[:, None, None], params.tilt.sin()[:, None, None]
    u, v = cos * x + sin * y, -sin * x + cos * y  # (N, size, size), the face's own frame
    a, b = params.axes[:, 0, None, None], params.axes[:, 1, None, None]
    # ellipse: the radial distance scaled by the smaller half-axis approximates the signed distance
    head = _coverage((1 - ((u / a) ** 2 + (v / b) ** 2).sqrt()) * torch.minimum(a, b))
    eye_d = ((u[:, None] - params.eyes[..., 0, None, None]) ** 2
             + (v[:, None] - params.eyes[..., 1, None, None]) ** 2).sqrt()  # (N, E, size, size)
    eyes = _coverage(params.eye_radius[:, None, None, None] - eye_d).amax(dim=1) if params.eyes.shape[1] else (
        torch.zeros_like(head))
    # mouth: a parabola in t = (u - u0) / width whose corners (t = +-1) lie `smile` above its middle;
    # the 1/3 keeps the mean height of the bar at v0
    t = (u - params.mouth[:, 0, None, None]) / params.mouth_width[:, None, None]
    curve = params.mouth[:, 1, None, None] - params.smile[:, None, None] * (t**2 - 1 / 3)
    along = (1 - t.abs()) * params.mouth_width[:, None, None]  # distance inside the mouth's two ends
    mouth = _coverage(params.mouth_thickness[:, None, None] - (v - curve).abs()) * _coverage(along)
    image = torch.tensor(BACKGROUND, device=device).view(1, 3, 1, 1).expand(len(head), 3, size, size)
    for colour, alpha in ((HEAD, head), (EYE, eyes), (MOUTH, mouth)):
        colour = torch.tensor(colour, device=device).view(1, 3, 1, 1)
        image = image + alpha[:, None] * (colour - image)  # paint over what is there
    return image


def toy_faces(n: int, size: int = 28, seed: int = 0, device: torch.device | str | None = None) -> Tensor:
    """``n`` toy faces from ``seed``: ``(N, 3, size, size)`` in ``[-1, 1]``; same seed, same faces. Chapter 05."""
    generator = torch.Generator(device=device or "cpu").manual_seed(seed)
    return render_faces(sample_faces(n, size, generator, device), size)


@dataclass(frozen=True)
class FaceReport:
    """What :func:`check_faces` reads off each of ``N`` images (all ``(N,)`` tensors).

    ``n_eyes``, ``n_mouths``: connected components of the eye and mouth pixels;
    ``mouth_below``: the mouth's centre lies below the eyes' centre (False when either is missing);
    ``mouth_above``: it lies above (False when either is missing); ``inside``: no eye or mouth pixel
    touches the background; ``ok``: two eyes, one mouth, below them, all inside.
    """

    n_eyes: Tensor
    n_mouths: Tensor
    mouth_below: Tensor
    mouth_above: Tensor
    inside: Tensor

    @property
    def ok(self) -> Tensor:
        return (self.n_eyes == 2) & (self.n_mouths == 1) & self.mouth_below & self.inside

    @property
    def n_violations(self) -> Tensor:
        """``(N,)`` int: how many of the four rules a face breaks (0-4), for sorting faces by how wrong they are."""
        return ((self.n_eyes != 2).long() + (self.n_mouths != 1).long() + (~self.mouth_below).long()
                + (~self.inside).long())

    def captions(self) -> list[str]:
        """One short description per face of what is wrong with it ("ok" when nothing is)."""
        out = []
        for eyes, mouths, above, below, inside in zip(self.n_eyes.tolist(), self.n_mouths.tolist(),
                                                      self.mouth_above.tolist(), self.mouth_below.tolist(),
                                                      self.inside.tolist(), strict=True):
            wrong = [f"{eyes} eyes"] if eyes != 2 else []
            wrong += [f"{mouths} mouths"] if mouths != 1 else []
            wrong += ["mouth above"] if above else ([] if below else ["mouth?"] if mouths else [])
            wrong += [] if inside else ["outside"]
            out.append(", ".join(wrong) or "ok")
        return out

    def rates(self) -> dict[str, float]:
        """Shares of faces with each failure and with any failure."""
        return {
            "wrong eye count": float((self.n_eyes != 2).float().mean()),
            "wrong mouth count": float((self.n_mouths != 1).float().mean()),
            "mouth above eyes": float(self.mouth_above.float().mean()),
            "part outside head": float((~self.inside).float().mean()),
            "any failure": float((~self.ok).float().mean()),
        }


def face_masks(images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(eyes, mouth, dark)`` boolean masks ``(N, H, W)`` of RGB face images ``(N, 3, H, W)``, read per pixel.

    Eyes: blue > 0; mouth: red > 0 and green < 0; dark: every channel < -1/2. Chapter 05.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"face images must have shape (N, 3, H, W) (RGB in [-1, 1]), got {tuple(images.shape)}")
    r, g, b = images.unbind(dim=1)
    return b > 0, (r > 0) & (g < 0), images.amax(dim=1) < -0.5


def _without_specks(mask: Tensor, min_pixels: int) -> Tensor:
    """``mask`` ``(N, H, W)`` without its components of fewer than ``min_pixels`` pixels."""
    return mask & (component_sizes(label_components(mask.float(), 0.5)) >= min_pixels)


def _outside(dark: Tensor) -> Tensor:
    """The dark pixels connected to the image border: the background around the head, ``(N, H, W)``."""
    labels = label_components(dark.float(), 0.5).flatten(1)  # (N, H*W)
    n, h, w = dark.shape
    border = torch.zeros(h, w, dtype=torch.bool, device=dark.device)
    border[[0, -1]] = border[:, [0, -1]] = True
    touching = torch.zeros(n, h * w + 1, dtype=torch.bool, device=dark.device)  # labels that reach the border
    touching.scatter_(1, labels[:, border.flatten()], True)
    touching[:, 0] = False
    return touching.gather(1, labels).view(n, h, w)


def _centre_y(mask: Tensor) -> Tensor:
    """Mean row of the pixels of each mask ``(N, H, W)``: ``(N,)``, NaN for an empty mask."""
    rows = torch.arange(mask.shape[1], device=mask.device, dtype=torch.float32).view(1, -1, 1)
    return (mask * rows).sum(dim=(1, 2)) / mask.sum(dim=(1, 2))


@torch.no_grad()
def check_faces(images: Tensor, min_pixels: int = 3) -> FaceReport:
    """Read the eye count, the mouth count, mouth-below-eyes and inside-the-head off every image. Chapter 05.

    ``images``: ``(N, 3, H, W)`` in ``[-1, 1]``, on any device (data or G's samples). Eye and mouth
    specks of fewer than ``min_pixels`` pixels are ignored everywhere (a real eye has at least 7);
    the background is the dark region connected to the image border, so a dark smudge inside the
    head is not "outside".
    """
    eyes, mouth, dark = face_masks(images)
    eyes, mouth = _without_specks(eyes, min_pixels), _without_specks(mouth, min_pixels)
    n_eyes = count_objects(eyes.float(), threshold=0.5)
    n_mouths = count_objects(mouth.float(), threshold=0.5)
    eyes_y, mouth_y = _centre_y(eyes), _centre_y(mouth)  # NaN compares False: a missing part fails both
    outside = _outside(dark)
    near_outside = F.max_pool2d(outside[:, None].float(), 3, stride=1, padding=1)[:, 0] > 0
    inside = ~((eyes | mouth) & near_outside).flatten(1).any(dim=1)
    return FaceReport(n_eyes, n_mouths, mouth_y > eyes_y, mouth_y < eyes_y, inside)
