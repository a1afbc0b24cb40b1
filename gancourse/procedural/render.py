"""A small renderer in torch: flat-shaded triangles, a perspective camera on an orbit, a z-buffer (chapter 05).

Enough to draw one rigid object from many viewpoints at once, on any device, with no
graphics library:

* :func:`look_at_frames` places a camera at ``distance`` from the origin at a given azimuth
  (around the vertical ``z`` axis, 0 = on the ``+x`` axis) and elevation (above the ``xy``
  plane), looking at the origin, its image ``x`` axis horizontal;
* :func:`project` maps world points to pixels with the pinhole model
  ``x_pix = size/2 + focal * x_cam / z_cam``, ``y_pix = size/2 - focal * y_cam / z_cam``
  (image rows grow downwards; pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``);
* :func:`rasterize` fills every triangle and keeps, at each sample point, the triangle nearest
  to the camera (a z-buffer on perspective-correct depth), with ``supersample**2`` sample points
  per pixel averaged for soft edges.

Every view of a batch is rendered at once (chunked to bound memory); no Python loop per image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

UP = (0.0, 0.0, 1.0)


@dataclass(frozen=True)
class Mesh:
    """A rigid object: ``vertices`` ``(V, 3)`` world coordinates, ``triangles`` ``(T, 3)`` vertex indices,
    ``shade`` ``(T,)`` grey level of each triangle in ``[0, 1]`` (flat shading, no lighting)."""

    vertices: Tensor
    triangles: Tensor
    shade: Tensor

    def to(self, device: torch.device | str) -> Mesh:
        return Mesh(self.vertices.to(device), self.triangles.to(device), self.shade.to(device))


def look_at_frames(azimuth: Tensor, elevation: Tensor, distance: float) -> tuple[Tensor, Tensor]:
    """Cameras on an orbit around the origin: ``(position (N, 3), rotation (N, 3, 3))`` for angles in radians.

    ``rotation``'s rows are the camera's right, up and forward axes in world coordinates, so
    ``rotation @ (p - position)`` gives a point in camera coordinates ``(x right, y up, z depth)``.
    """
    ca, sa, ce, se = azimuth.cos(), azimuth.sin(), elevation.cos(), elevation.sin()
    position = distance * torch.stack([ce * ca, ce * sa, se], dim=-1)  # (N, 3)
    forward = -position / distance
    up = torch.tensor(UP, dtype=position.dtype, device=position.device).expand_as(forward)
    right = torch.linalg.cross(forward, up)
    right = right / right.norm(dim=-1, keepdim=True)
    true_up = torch.linalg.cross(right, forward)
    return position, torch.stack([right, true_up, forward], dim=1)


def project(points: Tensor, azimuth: Tensor, elevation: Tensor, distance: float, focal: float,
            size: int) -> tuple[Tensor, Tensor]:
    """World points ``(V, 3)`` seen by ``N`` cameras: ``(pixels (N, V, 2) as (x, y), depth (N, V))``.

    ``focal`` is in pixels; depth is the distance along the camera's forward axis (> 0 in front).
    """
    position, rotation = look_at_frames(azimuth, elevation, distance)
    camera = torch.einsum("nij,nvj->nvi", rotation, points[None] - position[:, None])  # (N, V, 3)
    depth = camera[..., 2]
    x = size / 2 + focal * camera[..., 0] / depth
    y = size / 2 - focal * camera[..., 1] / depth
    return torch.stack([x, y], dim=-1), depth


def _edge_coefficients(a: Tensor, b: Tensor) -> Tensor:
    """The 2-D cross product ``(b - a) x (p - a)`` as a linear function ``A p_x + B p_y + C`` of the point ``p``.

    ``a``, ``b``: ``(..., 2)`` corners; returns ``(..., 3)`` holding ``(A, B, C)``.
    """
    dx, dy = (b - a).unbind(dim=-1)
    return torch.stack([-dy, dx, dy * a[..., 0] - dx * a[..., 1]], dim=-1)


def rasterize(pixels: Tensor, depth: Tensor, mesh: Mesh, size: int, supersample: int = 2,
              background: float = 0.0, chunk_elements: int = 2**23) -> Tensor:
    """Grey images ``(N, size, size)`` in ``[0, 1]`` of a mesh whose vertices project to ``pixels`` ``(N, V, 2)``.

    At each of ``supersample**2`` sample points per pixel, the triangles covering it compete on
    inverse depth, which is linear in screen space (so the depth is perspective-correct); the
    nearest one's ``shade`` wins, ``background`` where none covers. The sample points are
    averaged per pixel. A point is inside a triangle when its three edge functions have the sign
    of the triangle's area; the edge functions and the inverse depth are linear in the point,
    so one matrix product evaluates all four for every (view, triangle, point). Views go in
    chunks of at most ``chunk_elements`` (view, triangle, point) triples.
    """
    device, dtype = pixels.device, pixels.dtype
    n_views, T = len(pixels), len(mesh.triangles)
    side = size * supersample
    offsets = (torch.arange(side, device=device, dtype=dtype) + 0.5) / supersample
    py, px = (v.flatten() for v in torch.meshgrid(offsets, offsets, indexing="ij"))
    points = torch.stack([px, py, torch.ones_like(px)])  # (3, P): homogeneous sample points
    p0, p1, p2 = pixels[:, mesh.triangles].unbind(dim=2)  # (N, T, 2) each
    edges = torch.stack([_edge_coefficients(p1, p2), _edge_coefficients(p2, p0),
                         _edge_coefficients(p0, p1)], dim=2)  # (N, T, 3, 3): edge i is opposite corner i
    area = (edges[:, :, 2] * torch.cat([p2, torch.ones_like(p2[..., :1])], dim=-1)).sum(dim=-1)  # (N, T): 2x area
    degenerate = area.abs() < 1e-9
    safe = torch.where(degenerate, torch.ones_like(area), area)
    # barycentric weight of corner i = edge_i / area; inverse depth = sum_i weight_i / depth_i
    inverse_depth = 1 / depth[:, mesh.triangles]  # (N, T, 3)
    inv_z = (edges * inverse_depth[..., None]).sum(dim=2) / safe[..., None]  # (N, T, 3)
    # edges oriented so that inside means >= 0; a degenerate triangle gets an edge that is never >= 0
    oriented = edges * torch.where(area < 0, -1.0, 1.0)[..., None, None]
    never = torch.tensor([0.0, 0.0, -1.0], device=device, dtype=dtype)
    oriented = torch.where(degenerate[..., None, None], never.expand_as(oriented), oriented)
    planes = torch.cat([oriented, inv_z[:, :, None]], dim=2)  # (N, T, 4, 3)
    out = torch.empty(n_views, side * side, device=device, dtype=dtype)
    step = max(1, chunk_elements // (4 * T * side * side))
    for start in range(0, n_views, step):  # chunks of views, each fully batched
        values = planes[start:start + step] @ points  # (n, T, 4, P)
        inside = values[:, :, :3].amin(dim=2) >= 0  # (n, T, P)
        near = torch.where(inside, values[:, :, 3], torch.zeros_like(values[:, :, 3]))  # 0 = infinitely far
        best, nearest = near.max(dim=1)  # (n, P)
        out[start:start + step] = torch.where(best > 0, mesh.shade[nearest], torch.full_like(best, background))
    out = out.view(n_views, 1, side, side)
    return torch.nn.functional.avg_pool2d(out, supersample).view(n_views, size, size)


def render(mesh: Mesh, azimuth: Tensor, elevation: Tensor, size: int = 28, distance: float = 3.5,
           focal: float | None = None, supersample: int = 2) -> Tensor:
    """``mesh`` seen from ``N`` viewpoints (radians): grey images ``(N, 1, size, size)`` in ``[-1, 1]`` (black = -1).

    ``focal`` defaults to ``1.5 * size`` pixels. Chapter 05.
    """
    if azimuth.shape != elevation.shape or azimuth.dim() != 1:
        raise ValueError(f"azimuth and elevation must be 1-D tensors of the same length, got "
                         f"{tuple(azimuth.shape)} and {tuple(elevation.shape)}")
    if not (elevation.abs() < math.pi / 2).all():
        raise ValueError("elevation must lie strictly between -pi/2 and pi/2 (radians): a camera straight "
                         "above or below the object has no horizontal image axis")
    focal = 1.5 * size if focal is None else focal
    pixels, depth = project(mesh.vertices, azimuth, elevation, distance, focal, size)
    if not (depth > 0).all():
        raise ValueError(f"part of the object lies behind the camera at distance {distance}; move the camera back")
    return rasterize(pixels, depth, mesh, size, supersample)[:, None] * 2 - 1
