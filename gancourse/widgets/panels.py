"""The playground's two pictures of a :class:`~gancourse.widgets.session.Session`: the plane, and the curves.

* :class:`FieldPanels`: one panel per seed, side by side: D's belief ``sigmoid(D(x))`` over the
  plane (red: "real"), the data (black), G's samples (gold) and arrows showing where G's loss
  pushes each sample (``-grad_x`` of G's loss, :func:`gancourse.diagnostics.input_gradient_field`),
  as in :func:`gancourse.plots.decision_surface` and in GAN Lab.
* :class:`CurvePanels`: the losses with the health monitor's symptoms marked, ``D(x)`` and
  ``D(G(z))``, the share of modes covered and of high-quality samples, and GAN Lab's KL/JS on a
  grid, all against the G step.

The playground redraws both after every chunk of training, so each is built once per session
and then only updated (image data, point offsets, line data): measured on this 2-core CPU,
that costs about 40% less than drawing a new figure each time. Figures are
``matplotlib.figure.Figure`` objects outside pyplot's registry: nothing accumulates however
long a learner plays.
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
from torch import Tensor

from gancourse.widgets.session import Session

SEED_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red")
LEGEND = ("D(x), D's belief that a point is real, in colour (red: real, blue: fake); the data in black; "
          "G's samples in gold; green arrows: where G's loss pushes each sample (minus its gradient; the "
          "arrow scale is fixed at the start, so shrinking arrows mean a vanishing push).")
"""What the field panels show, for a caption beside them."""


class FieldPanels:
    """D's surface, the data, G's samples and G's pushes, one panel per seed; ``update()`` redraws it."""

    def __init__(self, session: Session, n_points: int = 400, n_arrows: int = 40, resolution: int = 48,
                 titles: list[str] | None = None) -> None:
        self.session, self.n_points, self.n_arrows, self.titles = session, n_points, n_arrows, titles
        S = len(session.seeds)
        side = {1: 4.6, 2: 4.0, 3: 3.4, 4: 3.1}.get(S, 3.1)  # inches per panel: one seed gets a large one
        self.figure = Figure(figsize=(side * S + 0.3, side + 0.3), dpi=72)
        axes = self.figure.subplots(1, S, squeeze=False)[0]
        self.figure.subplots_adjust(left=0.25 / (side * S) + 0.02, right=0.99, bottom=0.07, top=0.9, wspace=0.12)
        x_min, x_max, y_min, y_max = session.extent
        xs, ys = torch.linspace(x_min, x_max, resolution), torch.linspace(y_min, y_max, resolution)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        self.grid = torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1).to(session.device)  # (R*R, 2)
        self.resolution = resolution
        self.arrows = session.settings.pack == 1 and not session.settings.minibatch_discrimination
        real = session.x_real[:n_points].cpu().numpy()
        self.images, self.fakes, self.quivers, self.titles_ = [], [], [], []
        for ax in axes:
            self.images.append(ax.imshow(torch.full((resolution, resolution), 0.5).numpy(), origin="lower",
                                         extent=session.extent, cmap="coolwarm", vmin=0, vmax=1, alpha=0.75,
                                         interpolation="bilinear"))
            ax.scatter(real[:, 0], real[:, 1], s=3, color="black", alpha=0.5, linewidths=0)
            self.fakes.append(ax.scatter([], [], s=5, color="gold", edgecolors="none"))
            if self.arrows:
                zeros = torch.zeros(n_arrows).numpy()
                self.quivers.append(ax.quiver(zeros, zeros, zeros, zeros, color="darkgreen", angles="xy",
                                              scale_units="xy", scale=1.0, width=0.006))
            self.titles_.append(ax.set_title("", fontsize="small"))
            ax.set_xlim(x_min, x_max)
            ax.set_ylim(y_min, y_max)
            ax.set_aspect("equal")
            ax.tick_params(labelsize="x-small")
        self.suptitle = self.figure.suptitle("", fontsize="small")
        self.scale = self._arrow_scale()

    @torch.no_grad()
    def _arrow_scale(self) -> float:
        """Data units per unit of G's push such that the median arrow now is 6% of the box: fixed until Reset.

        A fixed scale lets a learner see the push shrink (vanishing gradients) or grow as training goes.
        """
        if not self.arrows:
            return 1.0
        push = self.session.pushes(self.session.samples(self.n_arrows)).norm(dim=-1)
        push = push[torch.isfinite(push)]
        median = float(push.median()) if len(push) else 0.0
        box = self.session.extent[1] - self.session.extent[0]
        return 0.06 * box / median if median > 0 else 1.0

    def update(self) -> Figure:
        """Redraw from the session's current models and measurements; returns the (same) figure."""
        session = self.session
        with torch.no_grad():
            x_fake = session.samples(self.n_points)  # (S, n, 2)
            d = [torch.sigmoid(session.D_of(s)(self.grid)) for s in range(len(session.seeds))]
        pushes = None
        if self.arrows:
            pushes = session.pushes(x_fake[:, : self.n_arrows]) * self.scale
            # long arrows are capped at a fifth of the box (their direction stays); short ones show a weak push
            cap = 0.2 * (session.extent[1] - session.extent[0])
            pushes = pushes * (cap / pushes.norm(dim=-1, keepdim=True).clamp_min(cap))
        x_fake = torch.nan_to_num(x_fake, nan=1e6).cpu()  # NaN samples drawn off the box
        m = session.measurements
        for s, image in enumerate(self.images):
            image.set_data(torch.nan_to_num(d[s], nan=0.5).reshape(self.resolution, self.resolution).cpu().numpy())
            self.fakes[s].set_offsets(x_fake[s].numpy())
            if pushes is not None:
                start = x_fake[s, : self.n_arrows].numpy()
                self.quivers[s].set_offsets(start)
                uv = torch.nan_to_num(pushes[s].cpu()).numpy()
                self.quivers[s].set_UVC(uv[:, 0], uv[:, 1])
            title = self.titles[s] if self.titles else f"seed {session.seeds[s]}"
            if m.modes and math.isfinite(float(m.modes[-1][s])):
                title += (f": {int(m.modes[-1][s])}/{len(session.data.centers)} modes, "
                          f"{float(m.high_quality[-1][s]):.0%} HQ")
            self.titles_[s].set_text(title)
        self.suptitle.set_text(f"G step {session.step}")
        return self.figure


def _thin(t: Tensor, values: Tensor, max_points: int) -> tuple[Tensor, Tensor]:
    stride = max(1, -(-len(t) // max_points))
    return t[::stride], values[::stride]


class CurvePanels:
    """Losses, D's outputs, modes and high-quality share, KL/JS against the G step; ``update()`` redraws it."""

    PANELS = (("losses: D solid, G dashed", ("d_loss", "g_loss")),
              ("D(x) solid, D(G(z)) dashed", ("d_real", "d_fake")),
              ("modes covered solid, high quality dotted", ("modes", "high_quality")),
              ("grid JS solid, KL dotted (nats)", ("js", "kl")))
    STYLES = {"d_loss": "-", "g_loss": "--", "d_real": "-", "d_fake": "--", "modes": "-", "high_quality": ":",
              "js": "-", "kl": ":"}

    def __init__(self, session: Session, max_points: int = 500) -> None:
        self.session, self.max_points = session, max_points
        self.figure = Figure(figsize=(13, 2.6), dpi=72)
        self.axes = self.figure.subplots(1, 4)
        self.figure.subplots_adjust(left=0.045, right=0.99, bottom=0.17, top=0.89, wspace=0.28)
        self.lines: dict[str, list] = {}
        for ax, (title, keys) in zip(self.axes, self.PANELS, strict=True):
            for key in keys:
                style = self.STYLES[key]
                marker = {} if key in ("d_loss", "g_loss", "d_real", "d_fake") else {"marker": "o", "markersize": 2}
                self.lines[key] = [ax.plot([], [], style, color=SEED_COLOURS[s], linewidth=1, **marker)[0]
                                   for s in range(len(session.seeds))]
            ax.set_title(title, fontsize="small")
            ax.set_xlabel("G step", fontsize="small")
            ax.tick_params(labelsize="x-small")
        self.axes[1].set_ylim(-0.02, 1.02)
        self.axes[2].set_ylim(-0.02, 1.02)
        self.axes[2].set_ylabel("share", fontsize="x-small")
        if not hasattr(session.data, "centers"):
            self.axes[2].set_title("modes: none to count on lines", fontsize="small")
        self.axes[3].set_yscale("log")
        # plain tick labels: the log axis's default "10^k" labels go through mathtext, the slowest part of a redraw
        self.axes[3].yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        self.axes[3].yaxis.set_major_formatter(FormatStrFormatter("%g"))
        self.axes[3].yaxis.set_minor_formatter(NullFormatter())
        for ax in self.axes:
            ax.locator_params(axis="x", nbins=5)
        self.symptom_lines = 0
        self.waiting = [ax.text(0.5, 0.5, "no step yet:\npress Step or Play", ha="center", va="center",
                                transform=ax.transAxes, color="grey", fontsize="small") for ax in self.axes[:2]]

    def update(self) -> Figure:
        session = self.session
        history = session.runs[0].history
        for text in self.waiting:
            text.set_visible(len(history) == 0)
        if len(history):
            steps = history.steps
            for key in ("d_loss", "g_loss", "d_real", "d_fake"):
                t, v = _thin(steps, session.history(key), self.max_points)
                for s, line in enumerate(self.lines[key]):
                    line.set_data(t.numpy(), v[:, s].numpy())
        m = session.measurements.as_tensors()
        n_modes = len(session.data.centers) if hasattr(session.data, "centers") else None
        for key in ("modes", "high_quality", "js", "kl"):
            values = m[key]
            if key == "modes" and n_modes:
                values = values / n_modes
            if key in ("js", "kl"):
                values = values.clamp_min(1e-3)
            for s, line in enumerate(self.lines[key]):
                line.set_data(m["step"].numpy(), values[:, s].numpy())
        for symptom in session.symptoms[self.symptom_lines:]:
            self.axes[0].axvline(symptom.step, color="grey", linestyle=":", linewidth=1)
            self.axes[0].annotate(symptom.name, (symptom.step, 1.0), xycoords=("data", "axes fraction"),
                                  rotation=90, va="top", ha="right", fontsize="xx-small", color="dimgrey")
        self.symptom_lines = len(session.symptoms)
        right = max(session.step, 10)
        for i, ax in enumerate(self.axes):
            ax.set_xlim(0, right)
            if i in (0, 3):
                ax.relim()
                ax.autoscale_view(scalex=False)
        return self.figure
