"""Where G's samples were during training: G(z) for a fixed z, recorded every few steps, and its figures.

Chapter 03 shows mode hopping as a film of one generator's samples and scrubs through it
with a widget, without training again. :class:`Snapshots` is a ``callback`` for
:func:`gancourse.training.train` (called at every flush, i.e. every ``log_every`` steps):
it evaluates G on the same ``z`` each time and keeps the samples on the device; read them
with :meth:`Snapshots.samples` (one host copy at the end). Works for one model
(``z`` ``(N, z_dim)``) and for ``S`` stacked seeds (``z`` ``(S, N, z_dim)``).

Two figures read them: :func:`share_map` (one seed's mode shares over time, from
:func:`gancourse.metrics.hopping.mode_shares_over_time`) and :func:`strip` (snapshots side by
side, a row per seed). Like :mod:`gancourse.plots`, they draw on a given ``ax`` or a new
figure, return the figure and set no global style.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor, nn


class Snapshots:
    """A training callback that records ``G(z)`` for a fixed ``z`` each time it is called.

    ``z``: ``(N, z_dim)`` or ``(S, N, z_dim)`` for stacked seeds, on the training device.
    ``record_start=True`` lets :meth:`record` be called once before training (step 0).
    G is evaluated in eval mode under ``no_grad`` (batch norm uses its running statistics,
    as when sampling after training) and put back into its previous mode.
    """

    def __init__(self, z: Tensor) -> None:
        if z.dim() not in (2, 3):
            raise ValueError(f"z must be (N, z_dim) or, for stacked seeds, (S, N, z_dim); got {tuple(z.shape)}")
        self.z = z
        self._steps: list[int] = []
        self._samples: list[Tensor] = []  # each (N, ...) or (S, N, ...), on the device

    @torch.no_grad()
    def record(self, step: int, G: nn.Module) -> None:
        """Store ``G(z)`` as the snapshot of ``step`` (G steps done)."""
        if self._steps and step <= self._steps[-1]:
            raise ValueError(f"snapshots must come in increasing steps; got {step} after {self._steps[-1]}")
        was_training = G.training
        G.eval()
        try:
            self._samples.append(G(self.z).detach().clone())
        finally:
            G.train(was_training)
        self._steps.append(int(step))

    def __call__(self, step: int, history, G: nn.Module, D: nn.Module) -> None:
        """The ``callback(step, history, G, D)`` of :func:`gancourse.training.train`."""
        self.record(step, G)

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def steps(self) -> Tensor:
        """``(T,)`` int64: the step of each snapshot."""
        return torch.tensor(self._steps, dtype=torch.int64)

    def samples(self) -> Tensor:
        """``(T, N, ...)`` or ``(T, S, N, ...)`` on the host: every snapshot, oldest first."""
        if not self._samples:
            raise ValueError("no snapshot recorded yet: pass the Snapshots object as train(..., callback=...)")
        return torch.stack(self._samples).cpu()


# ---------------------------------------------------------------- figures (chapter 03)


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def share_map(steps: Tensor, shares: Tensor, ax: Axes | None = None, title: str | None = None,
              colorbar: bool = True) -> Figure:
    """One seed's mode shares over training as a heat map: modes up, steps across. Chapter 03.

    ``steps`` ``(T,)``, ``shares`` ``(T, K)`` (from
    :func:`gancourse.metrics.hopping.mode_shares_over_time`), each in [0, 1]. A G that hops
    shows one bright cell per column, jumping between rows; a G that covers the modes shows an
    even band.
    """
    steps, shares = torch.as_tensor(steps).cpu(), torch.as_tensor(shares).detach().float().cpu()
    if shares.dim() != 2 or len(steps) != len(shares):
        raise ValueError(f"need steps (T,) and one seed's shares (T, K), got {tuple(steps.shape)} and "
                         f"{tuple(shares.shape)}")
    fig, ax = _axes(ax, (6, 2.6))
    # each column spans from half-way to the previous snapshot to half-way to the next
    edges = torch.cat([steps[:1].float(), (steps[1:] + steps[:-1]).float() / 2, steps[-1:].float()])
    mesh = ax.pcolormesh(edges.numpy(), torch.arange(shares.shape[1] + 1).numpy() - 0.5, shares.T.numpy(),
                         cmap="Oranges", vmin=0, vmax=1, shading="flat")
    ax.set_yticks(range(shares.shape[1]))
    ax.set_xlabel("G steps")
    ax.set_ylabel("mode")
    if title is not None:
        ax.set_title(title, fontsize="small")
    if colorbar:
        fig.colorbar(mesh, ax=ax, label="share of samples")
    return fig


def strip(samples: Tensor, steps: Tensor, columns: list[int], centers: Tensor | None = None,
          row_titles: list[str] | None = None, n_points: int = 500, lim: float | None = None,
          column_titles: list[str] | None = None) -> Figure:
    """Snapshots side by side: one row per seed (or run), one column per chosen snapshot index. Chapter 03.

    ``samples`` ``(T, S, N, 2)`` (or ``(T, N, 2)`` for one row), ``steps`` ``(T,)``, ``columns`` the
    snapshot indices to show; the mixture's ``centers`` ``(K, 2)`` are drawn as crosses. All panels
    share the box ``[-lim, lim]^2`` (default: 1.3 times the farthest centre). Columns are titled
    ``step <steps[t]>`` unless ``column_titles`` (one per column) are given.
    """
    samples = torch.as_tensor(samples).detach().float().cpu()
    if samples.dim() == 3:
        samples = samples[:, None]
    if samples.dim() != 4 or samples.shape[-1] != 2:
        raise ValueError(f"samples must be snapshots (T, S, N, 2) or (T, N, 2), got {tuple(samples.shape)}")
    if not columns or min(columns) < -len(samples) or max(columns) >= len(samples):
        raise ValueError(f"columns must be snapshot indices in [0, {len(samples)}), got {columns}")
    rows = samples.shape[1]
    if row_titles is not None and len(row_titles) != rows:
        raise ValueError(f"need one row title per row ({rows}), got {len(row_titles)}")
    if column_titles is not None and len(column_titles) != len(columns):
        raise ValueError(f"need one column title per column ({len(columns)}), got {len(column_titles)}")
    if lim is None:
        lim = 1.3 * float(centers.norm(dim=1).max()) if centers is not None else float(samples.abs().max())
    fig, axes = plt.subplots(rows, len(columns), figsize=(1.5 * len(columns) + 0.6, 1.5 * rows + 0.3),
                             squeeze=False, layout="constrained")
    for r in range(rows):
        for c, t in enumerate(columns):
            ax = axes[r, c]
            if centers is not None:
                ax.scatter(*centers.cpu().T.numpy(), marker="x", s=14, color="black", linewidths=1)
            ax.scatter(*samples[t, r, :n_points].T.numpy(), s=2, color="tab:orange", linewidths=0)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(column_titles[c] if column_titles is not None else f"step {int(steps[t])}",
                             fontsize="small")
            if c == 0 and row_titles is not None:
                ax.set_ylabel(row_titles[r], fontsize="small")
    return fig
