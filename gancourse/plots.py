"""The course's figures: samples, 2-D points, D's decision surface, loss curves, gradient norms, D's outputs.

Every function draws on the matplotlib ``ax`` it is given (or on a new figure when
``ax=None``) and returns the :class:`~matplotlib.figure.Figure`. None of them sets a
global style or rcParams. Tensors may live on any device; they are copied to the host
here, once per figure. In a notebook end the cell with ``;`` (or ``plt.show()``) so that
the figure is not shown twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor, nn

from gancourse.diagnostics import generator_motion, input_gradient_field
from gancourse.losses import GANLoss
from gancourse.training.history import History


def _figure_and_ax(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _host(x: Tensor | Sequence[float]) -> Tensor:
    return torch.as_tensor(x).detach().float().cpu()


def _check_points(x: Tensor | None, name: str) -> Tensor | None:
    if x is None:
        return None
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"{name} must be 2-D points of shape (N, 2), got {tuple(x.shape)}; "
                         f"for images use sample_grid")
    if len(x) == 0:
        raise ValueError(f"{name} is empty (shape (0, 2)): there is nothing to draw; pass at least one point "
                         f"(or None to leave it out)")
    return _host(x)


def sample_grid(images: Tensor, nrow: int = 8, ax: Axes | None = None, title: str | None = None) -> Figure:
    """A grid of images ``(B, C, H, W)`` (``C`` = 1 or 3) or ``(B, H, W)``, values in ``[-1, 1]`` (chapters 03-08).

    ``nrow`` images per row (``torchvision.utils.make_grid``), white padding.
    """
    from torchvision.utils import make_grid  # torchvision is only needed for image figures

    if images.dim() == 3:
        images = images.unsqueeze(1)
    if len(images) == 0:
        raise ValueError(f"images is empty (shape {tuple(images.shape)}): there is nothing to draw; pass at least "
                         f"one image, e.g. G(z) for a batch of z")
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (B, C, H, W) with C = 1 or 3 (or (B, H, W)), got {tuple(images.shape)}")
    grid = make_grid(_host(images).clamp(-1, 1), nrow=nrow, padding=2, normalize=True,
                     value_range=(-1, 1), pad_value=1.0)  # (3, H', W') in [0, 1]
    n_rows = -(-len(images) // nrow)
    fig, ax = _figure_and_ax(ax, (min(nrow, len(images)) * 0.8 + 0.5, n_rows * 0.8 + 0.5))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return fig


def points_2d(x_real: Tensor | None, x_fake: Tensor | None, ax: Axes | None = None,
              centers: Tensor | None = None) -> Figure:
    """Real points ``(N, 2)`` and generated points ``(M, 2)`` on equal axes, with the mixture's ``centers`` ``(K, 2)``.

    Chapters 00, 03, 08: where G's samples land compared with the modes of the ring or grid.
    Either set of points may be ``None``.
    """
    x_real, x_fake = _check_points(x_real, "x_real"), _check_points(x_fake, "x_fake")
    centers = _check_points(centers, "centers")
    fig, ax = _figure_and_ax(ax, (4.5, 4.5))
    if x_real is not None:
        ax.scatter(*x_real.T.numpy(), s=6, alpha=0.5, color="tab:blue", label="data x", linewidths=0)
    if x_fake is not None:
        ax.scatter(*x_fake.T.numpy(), s=4, alpha=0.6, color="tab:orange", label="G(z)", linewidths=0)
    if centers is not None:
        ax.scatter(*centers.T.numpy(), marker="x", s=30, linewidths=1, color="black", label="modes")
    ax.set_aspect("equal", adjustable="datalim")
    _legend(ax)
    return fig


def _legend(ax: Axes) -> None:
    """A legend whose point markers are all one readable size, whatever the size of the points."""
    legend = ax.legend(loc="upper right", fontsize="small")
    for handle in legend.legend_handles:
        if hasattr(handle, "set_sizes"):
            handle.set_sizes([25])


def _device_of(model: Callable, fallback: Tensor) -> torch.device:
    if isinstance(model, nn.Module):
        param = next(model.parameters(), None)
        if param is not None:
            return param.device
    return fallback.device


def _extent(points: list[Tensor], margin: float = 0.2) -> tuple[float, float, float, float]:
    """A square-ish box around all points, ``margin`` of their spread on each side."""
    every = torch.cat(points)
    low, high = every.min(0).values, every.max(0).values
    pad = margin * (high - low).max().clamp_min(1e-3)
    return (float(low[0] - pad), float(high[0] + pad), float(low[1] - pad), float(high[1] + pad))


def decision_surface(
    D: Callable[[Tensor], Tensor],
    x_real: Tensor,
    x_fake: Tensor | None = None,
    G: nn.Module | None = None,
    ax: Axes | None = None,
    loss: str | GANLoss = "non_saturating",
    extent: tuple[float, float, float, float] | None = None,
    arrows: bool = True,
    z: Tensor | None = None,
    resolution: int = 150,
    max_arrows: int = 150,
    arrow_scale: float | None = None,
) -> Figure:
    """D's probability ``sigmoid(D(x))`` over the plane, real and fake points on top, and arrows (chapters 01-03).

    ``x_real`` ``(N, 2)``; the fakes are ``x_fake`` ``(M, 2)``, or ``G(z)`` when ``G`` and ``z``
    are given instead. The arrows start at (up to ``max_arrows``) fake points and show where
    they go: without ``G``, minus the gradient of G's per-sample ``loss`` at each point
    (:func:`~gancourse.diagnostics.input_gradient_field`: where each sample is pushed); with
    ``G``, how the samples move when G takes a gradient step
    (:func:`~gancourse.diagnostics.generator_motion`: shared parameters move them together).
    ``extent = (x_min, x_max, y_min, y_max)`` defaults to a box around the points.
    ``arrow_scale`` (data units per unit of gradient) fixes the arrow length so that two
    panels compare (e.g. saturating vs non-saturating); ``None`` lets matplotlib scale them.
    """
    if G is not None:
        if z is None or x_fake is not None:
            raise ValueError("pass either x_fake, or G together with z (then the fakes are G(z)), not both")
        with torch.no_grad():
            x_fake = G(z)
    elif x_fake is None:
        raise ValueError("decision_surface needs the fake points: pass x_fake, or G and z")
    host_real, host_fake = _check_points(x_real, "x_real"), _check_points(x_fake, "x_fake")
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2 grid points per axis, got {resolution}")
    x_min, x_max, y_min, y_max = extent if extent is not None else _extent([host_real, host_fake])
    device = _device_of(D, x_real)
    xs = torch.linspace(x_min, x_max, resolution, device=device)
    ys = torch.linspace(y_min, y_max, resolution, device=device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")  # (R, R): rows are y, as contourf expects
    with torch.no_grad():
        prob = torch.sigmoid(D(torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1)))  # (R*R, 1)
    if prob.numel() != resolution**2:
        raise ValueError(f"D must map (N, 2) points to (N, 1) logits; got {tuple(prob.shape)} for N={resolution**2}")

    fig, ax = _figure_and_ax(ax, (5.5, 4.5))
    filled = ax.contourf(_host(grid_x).numpy(), _host(grid_y).numpy(),
                         _host(prob).reshape(resolution, resolution).numpy(),
                         levels=torch.linspace(0, 1, 11).tolist(), cmap="coolwarm", alpha=0.75)
    fig.colorbar(filled, ax=ax, label="D(x): probability of real")
    ax.scatter(*host_real.T.numpy(), s=4, color="black", alpha=0.5, label="data x", linewidths=0)
    ax.scatter(*host_fake.T.numpy(), s=5, color="gold", edgecolors="none", label="G(z)")
    if arrows:
        idx = torch.linspace(0, len(x_fake) - 1, min(max_arrows, len(x_fake))).round().long()
        if G is not None:
            move = generator_motion(G, D, z, loss)[idx.to(z.device)]
            how = "G's step"
        else:
            move = -input_gradient_field(D, x_fake[idx.to(x_fake.device)], loss)
            how = "-grad of G's loss"
        start, move = host_fake[idx], _host(move)
        scale = {} if arrow_scale is None else {"scale": 1.0 / arrow_scale, "scale_units": "xy"}
        ax.quiver(*start.T.numpy(), *move.T.numpy(), color="darkgreen", angles="xy",
                  width=0.004, label=how, **scale)
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    ax.set_aspect("equal")
    _legend(ax)
    return fig


def _band(ax: Axes, steps: Tensor, values: Tensor, label: str, color: str, **style) -> list:
    """One line for ``(T,)`` values; for ``(T, S)`` the mean over seeds and a min-max band."""
    steps = steps.numpy()
    if values.dim() == 1:
        return ax.plot(steps, values.numpy(), color=color, label=label, **style)
    line = ax.plot(steps, values.mean(1).numpy(), color=color, label=f"{label} (mean of {values.shape[1]} seeds)",
                   **style)
    ax.fill_between(steps, values.min(1).values.numpy(), values.max(1).values.numpy(), color=color, alpha=0.2,
                    linewidth=0)
    return line


def loss_curves(
    history: History,
    ax: Axes | None = None,
    quality: tuple[Tensor | Sequence[float], Tensor | Sequence[float]] | None = None,
    quality_label: str = "FID",
    symptoms: Sequence = (),
) -> Figure:
    """D's and G's losses against the step (chapters 00, 04, 07), stacked seeds as mean and min-max band.

    ``quality = (steps, values)`` (values ``(n,)`` or ``(n, S)``) adds a sample-quality metric on a
    second y axis labelled ``quality_label``: chapter 04 shows that the loss does not track it.
    ``symptoms`` (from :class:`gancourse.diagnostics.health.HealthMonitor`) are marked as dotted lines.
    """
    losses = [(k, label, color) for k, label, color in (("d_loss", "D loss", "tab:blue"),
                                                       ("g_loss", "G loss", "tab:orange")) if k in history.keys]
    if not losses:
        raise ValueError(f"history has no d_loss or g_loss record; it has {history.keys}")
    if len(history) == 0:
        raise ValueError("history is empty: there are no losses to draw yet; pass the history of a run that "
                         "has trained at least one step (result.history)")
    if quality is not None and len(quality[0]) != len(quality[1]):
        raise ValueError(f"quality must be (steps, values) of equal length, got {len(quality[0])} and "
                         f"{len(quality[1])}")
    fig, ax = _figure_and_ax(ax, (7, 4))
    steps = _host(history.steps)
    lines = []
    for key, label, color in losses:
        lines += _band(ax, steps, _host(history[key]), label, color, linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    for symptom in symptoms:
        ax.axvline(symptom.step, color="grey", linestyle=":", linewidth=1)
        ax.annotate(symptom.name, (symptom.step, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                    va="top", ha="right", fontsize="x-small", color="dimgrey")
    if quality is not None:
        q_steps, q_values = _host(quality[0]), _host(quality[1])
        twin = ax.twinx()
        lines += _band(twin, q_steps, q_values, quality_label, "tab:green", marker="o", markersize=4)
        twin.set_ylabel(quality_label)
    ax.legend(lines, [line.get_label() for line in lines], loc="best", fontsize="small")
    return fig


def grad_norm_bars(norms: dict[str, Tensor], ax: Axes | None = None, log: bool = True) -> Figure:
    """One bar per layer, input layer on the left (chapter 02: gradients vanish towards the input).

    ``norms`` is what :func:`gancourse.diagnostics.layer_grad_norms` returns: name -> 0-dim tensor,
    or ``(S,)`` per seed (bar at the mean, error bar from min to max). ``log`` uses a log scale.
    """
    if not norms:
        raise ValueError("norms is empty; pass layer_grad_norms(model) after a backward pass")
    values = [_host(v).flatten() for v in norms.values()]
    mean = torch.stack([v.mean() for v in values])
    low = mean - torch.stack([v.min() for v in values])
    high = torch.stack([v.max() for v in values]) - mean
    fig, ax = _figure_and_ax(ax, (max(4.0, 0.5 * len(norms) + 2), 3.5))
    positions = list(range(len(norms)))
    spread = any(len(v) > 1 for v in values)
    ax.bar(positions, mean.numpy(), color="tab:blue", yerr=torch.stack([low, high]).numpy() if spread else None,
           capsize=3)
    many = len(norms) > 4  # long lists of layer names need slanted labels
    ax.set_xticks(positions, list(norms), rotation=45 if many else 0, ha="right" if many else "center")
    ax.set_xlabel("layer (input to output)")
    ax.set_ylabel("gradient L2 norm")
    if log:
        ax.set_yscale("log")
    return fig


def d_output_histogram(d_real: Tensor, d_fake: Tensor, ax: Axes | None = None, bins: int = 40) -> Figure:
    """Histograms of D's probabilities on real samples, ``D(x)``, and on fakes, ``D(G(z))``, over [0, 1].

    Any shapes (flattened); e.g. ``d_real``/``d_fake`` of
    :func:`gancourse.diagnostics.discriminator_output_stats`. Chapters 02, 04: a confident
    D piles real samples at 1 and fakes at 0.
    """
    d_real, d_fake = _host(d_real).flatten(), _host(d_fake).flatten()
    if len(d_real) == 0 and len(d_fake) == 0:
        raise ValueError("d_real and d_fake are both empty: there is nothing to draw; pass D's probabilities on "
                         "a batch, e.g. from diagnostics.discriminator_output_stats")
    for name, p in (("d_real", d_real), ("d_fake", d_fake)):
        if len(p) and (p.min() < 0 or p.max() > 1):
            raise ValueError(f"{name} must be probabilities in [0, 1] (sigmoid of D's logits), "
                             f"got values in [{p.min():.3g}, {p.max():.3g}]")
    fig, ax = _figure_and_ax(ax, (5, 3.5))
    ax.hist(d_real.numpy(), bins=bins, range=(0, 1), alpha=0.6, color="tab:blue", label="D(x), real")
    ax.hist(d_fake.numpy(), bins=bins, range=(0, 1), alpha=0.6, color="tab:orange", label="D(G(z)), fake")
    ax.set_xlim(0, 1)
    ax.set_xlabel("D's output (probability of real)")
    ax.set_ylabel("samples")
    ax.legend(fontsize="small")
    return fig


# ---------------------------------------------------------------- one panel per seed (chapters 03, 08)


def _seed_panels(n_panels: int, figsize: tuple[float, float], **subplots) -> tuple[Figure, list[Axes]]:
    """A figure of ``n_panels`` small axes in two rows (one row for up to 4); spare axes are hidden."""
    rows = 1 if n_panels <= 4 else 2
    cols = -(-n_panels // rows)
    fig, axes = plt.subplots(rows, cols, figsize=figsize, layout="constrained", squeeze=False, **subplots)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n_panels])


def _seed_titles(titles: Sequence[str] | None, n: int) -> list[str]:
    if titles is None:
        return [f"seed {i}" for i in range(n)]
    if len(titles) < n:
        raise ValueError(f"need a title for each of the {n} panels shown, got {len(titles)}")
    return list(titles[:n])


def seeds_points(x_real: Tensor | None, x_fake: Tensor, centers: Tensor | None = None,
                 titles: Sequence[str] | None = None, n_show: int = 8, n_points: int = 1000) -> Figure:
    """:func:`points_2d` once per seed: the data and seed ``s``'s samples ``x_fake[s]`` (``(S, N, 2)``), side by side.

    Chapters 03, 08: one run is an anecdote, so collapse is shown seed by seed. The first
    ``n_show`` seeds get a panel each, with ``n_points`` of their samples and ``titles[s]``.
    """
    if x_fake.dim() != 3 or x_fake.shape[2] != 2:
        raise ValueError(f"x_fake must hold each seed's 2-D samples, shape (S, N, 2), got {tuple(x_fake.shape)}")
    if x_fake.shape[0] == 0 or x_fake.shape[1] == 0:
        raise ValueError(f"x_fake is empty (shape {tuple(x_fake.shape)}): pass at least one seed with one sample")
    n = min(n_show, len(x_fake))
    titles = _seed_titles(titles, n)
    fig, axes = _seed_panels(n, (3 * min(n, 4), 3.2 * (1 if n <= 4 else 2)))
    for i, ax in enumerate(axes):
        points_2d(x_real, x_fake[i, :n_points], ax=ax, centers=centers)
        if i:
            ax.get_legend().remove()
        ax.set_title(titles[i], fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def _lattice(centers: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor] | None:
    """For modes on a full rectangular lattice (the grid): column and row of each mode, and the axis values."""
    xs, col = torch.unique(centers[:, 0], return_inverse=True)
    ys, row = torch.unique(centers[:, 1], return_inverse=True)
    if len(xs) * len(ys) != len(centers) or len(xs) < 2 or len(ys) < 2:
        return None
    return col, row, xs, ys


def mode_shares(counts: Tensor, centers: Tensor, titles: Sequence[str] | None = None, n_show: int = 8) -> Figure:
    """How each seed's high-quality samples split over the modes, from ``counts`` ``(S, K)``; one panel per seed.

    Chapters 03, 08: collapse shows as missed modes (share 0) and uneven shares. Modes on a
    rectangular lattice (the grid) are drawn in their place as a heat map, with a cross on each
    missed mode; other mixtures (the ring) as one bar per mode, the even share ``1/K`` dashed.
    ``counts`` comes from :func:`gancourse.metrics.mode_coverage_batched` (``.counts``).
    """
    counts, centers = _host(counts), _check_points(centers, "centers")
    if counts.dim() != 2 or counts.shape[1] != len(centers):
        raise ValueError(f"counts must be (S, K) with K = {len(centers)} modes, got {tuple(counts.shape)}")
    if len(counts) == 0:
        raise ValueError("counts is empty (no seed): pass mode_coverage_batched(...).counts of at least one seed")
    shares = counts / counts.sum(dim=1, keepdim=True).clamp(min=1)
    n, K = min(n_show, len(counts)), len(centers)
    titles = _seed_titles(titles, n)
    lattice = _lattice(centers)
    fig, axes = _seed_panels(n, (3 * min(n, 4), 2.6 * (1 if n <= 4 else 2)), sharey=lattice is None)
    for i, ax in enumerate(axes):
        if lattice is None:
            ax.bar(range(K), shares[i].numpy(), color="tab:orange", width=0.8)
            ax.axhline(1 / K, color="black", linestyle="--", linewidth=1)
            ax.set_xticks(range(K))
        else:
            col, row, xs, ys = lattice
            image = torch.zeros(len(ys), len(xs))
            image[row, col] = shares[i]
            x_low, x_high, y_low, y_high = xs[0].item(), xs[-1].item(), ys[0].item(), ys[-1].item()
            dx, dy = (xs[1] - xs[0]).item() / 2, (ys[1] - ys[0]).item() / 2
            mappable = ax.imshow(image.numpy(), origin="lower", cmap="Oranges", vmin=0, vmax=float(shares.max()),
                                 extent=(x_low - dx, x_high + dx, y_low - dy, y_high + dy))
            missed = centers[counts[i] == 0]
            ax.plot(missed[:, 0], missed[:, 1], "x", color="black", markersize=9, markeredgewidth=2)
            ax.set_xticks(xs.tolist())
            ax.set_yticks(ys.tolist())
        ax.set_title(titles[i], fontsize="small")
    if lattice is not None:
        fig.colorbar(mappable, ax=axes, label="share of high-quality samples")
    return fig
