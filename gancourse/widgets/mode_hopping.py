"""Chapter 03's widget: scrub through where G's mass sat during training, and vary the unroll depth.

Two parts share one view (G's samples at the chosen snapshot beside that seed's mode shares
over time, :func:`gancourse.diagnostics.snapshots.share_map`, with a line at the snapshot):

* **the recorded runs**: the chapter's own runs (plain GAN, first- and second-order unrolled)
  as :class:`Film`\\ s; a slider (with a play button) moves through the snapshots, no
  training happens;
* **a live run**: one seed trained from scratch with the unroll depth ``k`` and order picked
  here, in chunks of steps per click (short callbacks, so the notebook stays responsive),
  its snapshots added to the films as it goes.

A bad value (a chunk of 0 steps) shows gancourse's message in the widget, which keeps working.
Build it with :func:`mode_hopping_widget` and show it with :func:`gancourse.widgets.view.show`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import ipywidgets as W
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from torch import Tensor, nn

from gancourse.diagnostics.snapshots import Snapshots, share_map
from gancourse.metrics.hopping import dominant_mode, mode_shares_over_time, modes_held
from gancourse.training import Run, TrainConfig
from gancourse.training.seeds import init_models
from gancourse.widgets.view import FigureView, MessageBox


@dataclass
class Film:
    """One recorded run: ``steps`` ``(T,)``, ``samples`` ``(T, S, N, 2)``, nearest-mode ``shares`` ``(T, S, K)``."""

    label: str
    steps: Tensor
    samples: Tensor
    shares: Tensor
    seed_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.samples.dim() == 3:  # one seed
            self.samples, self.shares = self.samples[:, None], self.shares[:, None]
        T, S = self.samples.shape[:2]
        if len(self.steps) != T or self.shares.shape[:2] != (T, S):
            raise ValueError(f"film {self.label!r}: steps {tuple(self.steps.shape)}, samples "
                             f"{tuple(self.samples.shape)} and shares {tuple(self.shares.shape)} disagree")
        if not self.seed_names:
            self.seed_names = [f"seed {s}" for s in range(S)]


def film_from(label: str, snapshots: Snapshots, centers: Tensor, seed_names: Sequence[str] | None = None) -> Film:
    """A :class:`Film` of recorded :class:`~gancourse.diagnostics.snapshots.Snapshots`
    (nearest-mode shares, any distance)."""
    samples = snapshots.samples()
    shares = mode_shares_over_time(samples, centers, 1.0, within=None)
    return Film(label, snapshots.steps, samples, shares, list(seed_names or []))


class LiveRun:
    """One seed of a 2-D GAN, trained a chunk of G steps at a time, with a snapshot every ``every`` steps.

    ``config`` fixes the loss, learning rates, batch size, ``unrolled_steps`` and ``unroll_order``;
    G and D are built by ``make_G``/``make_D`` after seeding with ``config.seed`` (as
    :func:`~gancourse.training.seeds.init_models`), so a live run with the chapter's settings starts from
    the chapter's weights for that seed. The steps are :class:`gancourse.training.Run`'s (the loop
    of :func:`~gancourse.training.train`), on the CPU; G(z) is recorded every ``every`` G steps.
    """

    def __init__(self, make_G: Callable[[], nn.Module], make_D: Callable[[], nn.Module],
                 sample_real: Callable, config: TrainConfig, z: Tensor, every: int) -> None:
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be an int >= 1 step between snapshots, got {every!r}")
        self.config, self.every = config, every
        G, D = init_models(config.seed, make_G, make_D)
        self.snapshots = Snapshots(z)
        self.snapshots.record(0, G)
        # log_every=every: Run calls back at least every `every` steps (and at the end of a chunk)
        run_config = replace(config, log_every=every, progress=False)
        self.run = Run(G, D, sample_real, run_config, callback=self._record, device="cpu", seeds=[config.seed])

    def _record(self, step: int, history: object, G: nn.Module, D: nn.Module) -> None:
        if step % self.every == 0 and step != int(self.snapshots.steps[-1]):
            self.snapshots.record(step, G)

    @property
    def step(self) -> int:
        """G steps trained so far."""
        return self.run.step

    @property
    def G(self) -> nn.Module:
        """The live run's generator."""
        return self.run.G

    def advance(self, n_steps: int) -> None:
        """Train ``n_steps`` more G steps; raises ``TrainingDiverged`` (a ``FloatingPointError``) on NaN/Inf."""
        if not isinstance(n_steps, int) or isinstance(n_steps, bool) or n_steps < 1:
            raise ValueError(f"steps per click must be an int >= 1, got {n_steps!r}")
        self.run.advance(n_steps)


class ModeHoppingWidget(W.VBox):
    """The recorded runs and a live run in one view; see the module docstring. Chapter 03."""

    def __init__(self, films: Sequence[Film], centers: Tensor,
                 make_live: Callable[[int, int], LiveRun] | None = None, live_steps: int = 100) -> None:
        if not films:
            raise ValueError("the widget needs at least one recorded run (Film)")
        self.films = {film.label: film for film in films}
        if len(self.films) != len(films):
            raise ValueError("every film needs its own label")
        self.centers = centers.detach().cpu()
        self.lim = 1.3 * float(self.centers.norm(dim=1).max())
        self.view, self.message = FigureView(), MessageBox()
        self.run = W.Dropdown(options=list(self.films), description="run")
        self.seed = W.Dropdown(description="seed")
        self.step = W.IntSlider(min=0, description="snapshot", continuous_update=False)
        self.play = W.Play(interval=400, description="play")
        W.jslink((self.play, "value"), (self.step, "value"))
        self._fill_controls()
        self.run.observe(self.message.guard(lambda change: (self._fill_controls(), self.redraw())), "value")
        self.seed.observe(self.message.guard(lambda change: self.redraw()), "value")
        self.step.observe(self.message.guard(lambda change: self.redraw()), "value")
        children = [W.HBox([self.run, self.seed]), W.HBox([self.play, self.step])]

        self.make_live, self.live = make_live, None
        if make_live is not None:
            self.depth = W.IntSlider(value=5, min=0, max=10, description="unroll k")
            self.order = W.ToggleButtons(options=[("first order", 1), ("second order", 2)], value=2,
                                         description="order")
            self.chunk = W.IntText(value=live_steps, description="steps/click")
            self.train_button = W.Button(description="train live run", icon="play")
            self.reset_button = W.Button(description="reset live run", icon="refresh")
            self.train_button.on_click(self.message.guard(lambda button: self.train_live()))
            self.reset_button.on_click(self.message.guard(lambda button: self.reset_live()))
            children.append(W.HBox([self.depth, self.order]))
            children.append(W.HBox([self.chunk, self.train_button, self.reset_button]))
        super().__init__(children=[*children, self.message.widget, self.view.output])
        self.redraw()

    @property
    def film(self) -> Film:
        """The recorded run chosen in the ``run`` dropdown."""
        return self.films[self.run.value]

    def _fill_controls(self) -> None:
        film = self.film
        names = list(film.seed_names)
        if list(self.seed.options) != names:
            self.seed.options = [(name, i) for i, name in enumerate(names)]
            self.seed.value = 0
        last = len(film.steps) - 1
        self.step.max = self.play.max = last
        self.step.value = min(self.step.value, last)

    def figure(self) -> Figure:
        """The current view: G's samples at the chosen snapshot, and the seed's mode shares over time."""
        film, s, t = self.film, self.seed.value or 0, self.step.value
        shares = film.shares[:, s]  # (T, K)
        held, top = int(modes_held(shares[t : t + 1])[0]), int(dominant_mode(shares[t : t + 1])[0])
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), width_ratios=(1, 1.8), layout="constrained")
        left.scatter(*self.centers.T.numpy(), marker="x", s=30, color="black", linewidths=1, label="modes")
        left.scatter(*film.samples[t, s].T.numpy(), s=3, color="tab:orange", linewidths=0, label="G(z)")
        left.set_xlim(-self.lim, self.lim)
        left.set_ylim(-self.lim, self.lim)
        left.set_aspect("equal")
        left.set_title(f"{film.label}, {film.seed_names[s]}: step {int(film.steps[t])}\n{held} modes hold >= 5%"
                       + (f", mode {top} holds half" if top >= 0 else ", no mode holds half"), fontsize="small")
        share_map(film.steps, shares, ax=right, title="share of G's samples nearest to each mode")
        right.axvline(int(film.steps[t]), color="tab:blue", linewidth=1.5)
        return fig

    def redraw(self) -> None:
        """Draw :meth:`figure` into the widget's view."""
        self.view.draw(self.figure())

    # ---------------------------------------------------------------- the live run

    def reset_live(self) -> None:
        """Start a new live run with the chosen depth and order (nothing trained yet)."""
        self.live = self.make_live(self.depth.value, self.order.value)
        self._show_live()

    def train_live(self) -> None:
        """Train the live run one chunk of ``steps/click`` G steps (starting one if there is none)."""
        if self.live is None:
            self.live = self.make_live(self.depth.value, self.order.value)
        self.live.advance(self.chunk.value)
        self._show_live()

    def _show_live(self) -> None:
        config = self.live.config
        label = ("live: plain GAN" if not config.unrolled_steps else
                 f"live: k={config.unrolled_steps}, order {config.unroll_order}")
        for old in [name for name in self.films if name.startswith("live:")]:
            del self.films[old]
        self.films[label] = film_from(label, self.live.snapshots, self.centers, [f"seed {config.seed}"])
        self.message.show(f"{label}: {self.live.step} G steps trained")
        self.run.options = list(self.films)
        if self.run.value != label:
            self.run.value = label  # redraws through the observer
        else:
            self._fill_controls()
        self.step.value = len(self.film.steps) - 1
        self.redraw()


def mode_hopping_widget(films: Sequence[Film], centers: Tensor,
                        make_live: Callable[[int, int], LiveRun] | None = None,
                        live_steps: int = 100) -> ModeHoppingWidget:
    """Chapter 03's widget over recorded ``films``; ``make_live(k, order)`` builds a :class:`LiveRun` (optional)."""
    return ModeHoppingWidget(films, centers, make_live, live_steps)
