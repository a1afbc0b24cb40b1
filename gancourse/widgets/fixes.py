"""Chapter 08's widget: pick two fixes for mode collapse and compare them on the grid, side by side.

Each side shows one fix's samples for the chosen seed over the 25 modes, with the seed's
scores (modes covered, high-quality share, reverse KL) and the fix's mean over every seed.
The fixes the chapter has already trained are shown at once; choosing another one and
pressing "train" trains it (all seeds, batched, with the same :class:`~gancourse.fixes.GridSetup`)
in one short call, then keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from gancourse import datasets, plots
from gancourse.fixes import FIXES, FixRun, GridSetup, run_fix
from gancourse.widgets.view import FigureView, MessageBox


class FixComparison:
    """Two fixes side by side on the 25-Gaussian grid (chapter 08).

    ``runs`` maps fix names to :class:`~gancourse.fixes.FixRun` results (the chapter's, reused);
    ``seeds`` and ``setup`` train any other fix of :data:`~gancourse.fixes.FIXES` on demand (the
    "train" button). Controls: ``left``, ``right`` (dropdowns of fix names), ``seed`` (which seed's
    samples to draw). ``widget`` is what a notebook displays; ``view.n_draws`` counts redraws.
    """

    def __init__(self, runs: Mapping[str, FixRun], seeds: Sequence[int], setup: GridSetup | None = None,
                 left: str = "plain", right: str = "packing", device: torch.device | str | None = None) -> None:
        self.runs = dict(runs)
        self.seeds, self.setup, self.device = list(seeds), setup or GridSetup(), device
        self.mixture = datasets.grid()
        names = list(FIXES)
        for side, name in (("left", left), ("right", right)):
            if name not in names:
                raise ValueError(f"{side}={name!r} is not a fix; use one of: {', '.join(names)}")
        for name, run in self.runs.items():
            if run.seeds != self.seeds:
                raise ValueError(f"the run of {name!r} has seeds {run.seeds}, the widget {self.seeds}: "
                                 f"pass runs trained with the same seeds")
        self.left = W.Dropdown(options=names, value=left, description="left")
        self.right = W.Dropdown(options=names, value=right, description="right")
        self.seed = W.IntSlider(value=0, min=0, max=len(self.seeds) - 1, description="seed #",
                                continuous_update=False)
        self.train_button = W.Button(description="train", tooltip="train the fixes shown that are not trained yet")
        self.view = FigureView()
        self.message = MessageBox()
        for control in (self.left, self.right, self.seed):
            control.observe(self.message.guard(lambda _change: self.update()), names="value")
        self.train_button.on_click(self.message.guard(lambda _button: self.train()))
        self.widget = W.VBox([W.HBox([self.left, self.right]), W.HBox([self.seed, self.train_button]),
                              self.view.output, self.message.widget])
        self.message.guard(self.update)()

    def missing(self) -> list[str]:
        """The fixes shown that have no run yet."""
        return [name for name in dict.fromkeys((self.left.value, self.right.value)) if name not in self.runs]

    def train(self) -> None:
        """Train the shown fixes that have no run yet (every seed in one batched run each), then redraw."""
        for name in self.missing():
            self.message.show(f"training {name!r} on {len(self.seeds)} seeds ...")
            self.runs[name] = run_fix(name, self.seeds, self.mixture, self.setup, device=self.device)
        self.message.clear()
        self.update()

    def figure(self) -> Figure:
        """The current view: the two fixes' samples for the chosen seed, with their scores."""
        fig, axes = plt.subplots(1, 2, figsize=(9, 4.6), layout="constrained")
        s = self.seed.value
        for ax, name in zip(axes, (self.left.value, self.right.value), strict=True):
            run = self.runs.get(name)
            if run is None:
                plots.points_2d(None, None, ax=ax, centers=self.mixture.centers)
                ax.set_title(f"{name}: not trained yet (press train)", fontsize="small")
                continue
            plots.points_2d(None, run.samples[s, :1000], ax=ax, centers=self.mixture.centers)
            summary = run.summary()
            ax.set_title(f"{name}, seed {run.seeds[s]}: {int(run.scores.modes[s])} modes, "
                         f"{100 * float(run.scores.high_quality[s]):.0f}% HQ, KL {float(run.scores.reverse_kl[s]):.2f}"
                         f"\nmean over {len(run.seeds)} seeds: {summary['modes'][0]:.1f} modes, "
                         f"{summary['high_quality'][0]:.0f}% HQ", fontsize="small")
        return fig

    def update(self) -> None:
        """Redraw; name the fixes that still need training."""
        missing = self.missing()
        if missing:
            self.message.show(f"not trained yet: {', '.join(missing)}; press train (a few seconds each)", "warning")
        else:
            self.message.clear()
        self.view.draw(self.figure())
