"""Pictures of small games: vector fields, trajectories, distance curves and 1-D discriminators.

Chapter 01 draws the bilinear game and the Dirac-GAN of :mod:`gancourse.theory.games`
with these. Every function draws on ``ax`` when given (else on a new figure),
returns the figure, and sets no global style (no rcParams, no ``plt.style``).
Tensors may live on any device; they are copied to the CPU for drawing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

Field = Callable[[torch.Tensor], torch.Tensor]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _as_paths(path: torch.Tensor) -> torch.Tensor:
    """``(T+1, 2)`` or ``(T+1, B, 2)`` or ``(T+1, ..., 2)`` -> CPU float ``(T+1, B, 2)``."""
    if path.dim() < 2 or path.shape[-1] != 2:
        raise ValueError(f"a path must have shape (T+1, ..., 2), got {tuple(path.shape)}")
    return path.detach().reshape(path.shape[0], -1, 2).cpu().double()


def plot_vector_field(
    field: Field,
    xlim: tuple[float, float] = (-2.0, 2.0),
    ylim: tuple[float, float] = (-2.0, 2.0),
    n: int = 31,
    ax: Axes | None = None,
    labels: tuple[str, str] = ("$x$", "$y$"),
    title: str | None = None,
    equilibrium: tuple[float, float] | None = (0.0, 0.0),
    device: torch.device | str | None = None,
) -> Figure:
    """Stream lines of a 2-D ``field`` (states ``(..., 2)`` -> directions ``(..., 2)``) on an ``n x n`` grid.

    Line width grows with the field's speed; ``equilibrium`` is marked with a
    star. ``labels`` name the min player (horizontal) and the max player
    (vertical). The grid is built in float64 on ``device`` (default: the CPU),
    for fields that hold tensors on a GPU. Chapter 01.
    """
    ax = _axes(ax, (4.2, 4.2))
    xs = torch.linspace(*xlim, n, dtype=torch.float64, device=device)
    ys = torch.linspace(*ylim, n, dtype=torch.float64, device=device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")  # (n, n): rows follow y, as streamplot wants
    v = field(torch.stack([grid_x, grid_y], dim=-1)).detach().cpu().double()
    speed = v.norm(dim=-1)
    width = 0.4 + 1.6 * speed / speed.max().clamp_min(1e-12)
    xs, ys = xs.cpu(), ys.cpu()
    ax.streamplot(
        xs.numpy(), ys.numpy(), v[..., 0].numpy(), v[..., 1].numpy(),
        color="0.6", linewidth=width.numpy(), density=1.0, arrowsize=0.9,
    )
    if equilibrium is not None:
        ax.plot(*equilibrium, marker="*", color="black", markersize=12, linestyle="none", zorder=5)
    ax.set(xlim=xlim, ylim=ylim, xlabel=labels[0], ylabel=labels[1], aspect="equal")
    if title:
        ax.set_title(title)
    return ax.figure


def plot_trajectories(
    path: torch.Tensor,
    ax: Axes | None = None,
    labels: tuple[str, str] = ("$x$", "$y$"),
    title: str | None = None,
    cmap: str = "plasma",
    max_paths: int = 8,
) -> Figure:
    """Iterates of a game, ``path`` of shape ``(T+1, 2)`` or ``(T+1, B, 2)`` (from :mod:`gancourse.theory.games`).

    Draws at most ``max_paths`` of the ``B`` paths (evenly picked), each in its
    own colour, with a dot at the start and a cross at the end. Chapter 01.
    """
    ax = _axes(ax, (4.2, 4.2))
    paths = _as_paths(path)
    n_paths = paths.shape[1]
    pick = (torch.arange(min(max_paths, n_paths)) * n_paths) // min(max_paths, n_paths)  # spread over the batch
    colours = plt.get_cmap(cmap)
    for i, b in enumerate(pick.tolist()):
        colour = colours(0.1 + 0.75 * i / max(len(pick) - 1, 1))
        p = paths[:, b].numpy()
        ax.plot(p[:, 0], p[:, 1], color=colour, linewidth=1.2)
        ax.plot(p[0, 0], p[0, 1], marker="o", color=colour, markersize=5)
        ax.plot(p[-1, 0], p[-1, 1], marker="X", color=colour, markeredgecolor="black", markersize=8)
    ax.set(xlabel=labels[0], ylabel=labels[1], aspect="equal")
    if title:
        ax.set_title(title)
    return ax.figure


def plot_game(
    field: Field,
    path: torch.Tensor,
    ax: Axes | None = None,
    lim: float | None = None,
    labels: tuple[str, str] = ("$x$", "$y$"),
    title: str | None = None,
    max_paths: int = 8,
) -> Figure:
    """The vector field with the trajectories on top, in a square ``[-lim, lim]^2`` window.

    ``lim`` defaults to a little beyond the farthest iterate (at least 1.5). The
    field is evaluated on ``path``'s device. Chapter 01.
    """
    ax = _axes(ax, (4.2, 4.2))
    if lim is None:
        lim = max(1.5, 1.1 * float(_as_paths(path).abs().max()))
    plot_vector_field(field, (-lim, lim), (-lim, lim), ax=ax, labels=labels, title=title, device=path.device)
    plot_trajectories(path, ax=ax, labels=labels, title=title, max_paths=max_paths)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim))
    return ax.figure


def plot_curves(
    x: torch.Tensor,
    curves: Mapping[str, torch.Tensor],
    ax: Axes | None = None,
    references: Mapping[str, torch.Tensor] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    logy: bool = False,
    title: str | None = None,
) -> Figure:
    """Measured curves against ``x`` (``(T,)``), with optional reference curves drawn dashed.

    Each curve is ``(T,)``, or ``(T, B)`` for a batch of runs: then its median is
    drawn with a band from the minimum to the maximum over the batch. Reference
    curves (e.g. a closed form) are ``(T,)`` or ``(T, B)`` too (every column drawn).
    Chapter 01 (distance to the equilibrium, radius against the closed form, C(G)).
    """
    ax = _axes(ax, (5.0, 3.4))
    xs = x.detach().cpu().double().numpy()
    for name, y in curves.items():
        y = y.detach().cpu().double()
        if y.shape[0] != len(xs):
            raise ValueError(f"curve {name!r} has {y.shape[0]} points but x has {len(xs)}")
        if y.dim() == 1:
            ax.plot(xs, y.numpy(), label=name, linewidth=1.8)
        else:
            y = y.reshape(y.shape[0], -1)
            (line,) = ax.plot(xs, y.median(dim=1).values.numpy(), label=name, linewidth=1.8)
            ax.fill_between(xs, y.min(dim=1).values.numpy(), y.max(dim=1).values.numpy(),
                            color=line.get_color(), alpha=0.25, linewidth=0)
    for i, (name, y) in enumerate((references or {}).items()):
        y = y.detach().cpu().double().reshape(len(xs), -1).numpy()
        style = ("--", ":", "-.")[i % 3]
        for j in range(y.shape[1]):
            ax.plot(xs, y[:, j], style, color="black", linewidth=1.1, label=name if j == 0 else None)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax.figure


def plot_discriminator_1d(
    x: torch.Tensor,
    pdf_data: torch.Tensor,
    pdf_g: torch.Tensor,
    d_star: torch.Tensor,
    d_numeric: torch.Tensor | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    marker_every: int = 40,
) -> Figure:
    """Two densities on a 1-D grid (left axis) and a discriminator ``D(x)`` (right axis, in ``[0, 1]``).

    ``x``, ``pdf_data``, ``pdf_g``, ``d_star`` and ``d_numeric`` are ``(N,)``;
    ``d_star`` is drawn as a line, ``d_numeric`` (a numerically found maximiser)
    as dots every ``marker_every`` grid points, so a match shows as dots on the line.
    Chapter 01.
    """
    ax = _axes(ax, (6.0, 3.4))
    xs = x.detach().cpu().double()
    ax.fill_between(xs.numpy(), pdf_data.detach().cpu().double().numpy(), color="tab:blue", alpha=0.3,
                    label="$p_{data}$")
    ax.fill_between(xs.numpy(), pdf_g.detach().cpu().double().numpy(), color="tab:orange", alpha=0.3,
                    label="$p_g$")
    ax.set(xlabel="$x$", ylabel="density")
    d_ax = ax.twinx()
    d_ax.plot(xs.numpy(), d_star.detach().cpu().double().numpy(), color="black", linewidth=1.8,
              label=r"$D^*(x)=\frac{p_{data}}{p_{data}+p_g}$")
    if d_numeric is not None:
        d_ax.plot(xs[::marker_every].numpy(), d_numeric.detach().cpu().double()[::marker_every].numpy(),
                  "o", color="tab:red", markersize=4, label="numerical max of $V$")
    d_ax.axhline(0.5, color="0.5", linestyle=":", linewidth=1)
    d_ax.set(ylim=(-0.02, 1.02), ylabel="$D(x)$")
    handles = [h for a in (ax, d_ax) for h in a.get_legend_handles_labels()[0]]
    d_ax.legend(handles=handles, fontsize="small", loc="upper left")
    if title:
        ax.set_title(title)
    return ax.figure
