"""Chapter 09's widget: pick a symptom, see the runs that show it beside the same runs with the fix that cured them.

The runs are the built-to-fail cases of :mod:`gancourse.lab.cases`, trained by the chapter (every
seed, every step measured); the widget only draws them, so each callback is a redraw. Left: G's
samples of the broken run and of the fixed one over the ring's modes; right: D's loss of both,
every seed. Below the picture, the doctor's verdict on each run and the fix the guide names.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from gancourse import datasets
from gancourse.doctor import GUIDE
from gancourse.lab.cases import CASES, CaseRun, seeds_with
from gancourse.widgets.view import FigureView, MessageBox


class SymptomBrowser:
    """A dropdown of symptoms over ``runs[symptom] = (broken, fixed)`` (:func:`gancourse.lab.cases.run_case`).

    ``widget`` is what a notebook shows; ``symptom.value`` is the picked symptom; ``verdict()`` the
    text under the picture; ``figure()`` the picture of the current symptom.
    """

    def __init__(self, runs: dict[str, tuple[CaseRun, CaseRun]], symptom: str | None = None) -> None:
        if not runs:
            raise ValueError("SymptomBrowser needs at least one (broken, fixed) pair of runs: lab.cases.run_case(...)")
        unknown = [s for s in runs if s not in CASES]
        if unknown:
            raise ValueError(f"no case for {unknown}; the cases are {', '.join(CASES)}")
        self.runs = runs
        self.centers = datasets.ring().centers
        self.symptom = W.Dropdown(options=[(CASES[s].title, s) for s in runs], value=symptom or next(iter(runs)),
                                  description="symptom", layout=W.Layout(width="720px"))
        self.view = FigureView()
        self.message = MessageBox()
        self.symptom.observe(self.message.guard(lambda _change: self.update()), names="value")
        self.widget = W.VBox([self.symptom, self.view.output, self.message.widget])
        self.message.guard(self.update)()

    def verdict(self) -> str:
        """The doctor's verdict on both runs of the current symptom, and the guide's fix."""
        name = self.symptom.value
        broken, fixed = self.runs[name]
        S = broken.log["d_loss"].shape[1]
        found = seeds_with(broken, name)
        after = seeds_with(fixed, name)
        advice = GUIDE[name]
        return (f"{CASES[name].title}\n"
                f"doctor on the broken run: {', '.join(broken.diagnosis.names) or 'no symptom'} "
                f"({name} in {len(found)} of {S} seeds)\n"
                f"fixed with {CASES[name].change}: {', '.join(fixed.diagnosis.names) or 'no symptom'} "
                f"({name} in {len(after)} of {S} seeds)\n"
                f"the guide's first fix for {name}: {advice.remedies[0].what} (chapter {advice.remedies[0].chapter})")

    def figure(self) -> Figure:
        """Samples of the broken and fixed runs (seed 0) over the modes, and D's loss of every seed."""
        name = self.symptom.value
        broken, fixed = self.runs[name]
        fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained",
                                 gridspec_kw={"width_ratios": [1, 1, 1.4]})
        for ax, run, label in ((axes[0], broken, "broken"), (axes[1], fixed, "fixed")):
            x = run.samples[0].clamp(-3, 3)
            ax.scatter(x[:, 0], x[:, 1], s=3, alpha=0.4, color="goldenrod", label="G(z), seed 0")
            ax.scatter(self.centers[:, 0], self.centers[:, 1], marker="x", color="black", label="modes")
            ax.set(xlim=(-2, 2), ylim=(-2, 2), aspect="equal",
                   title=f"{label}: {int(run.modes[0])} of 8 modes (seed 0)")
        for run, colour, label in ((broken, "tab:red", "broken"), (fixed, "tab:blue", "fixed")):
            d_loss = run.log["d_loss"]
            steps = run.log.steps
            for s in range(d_loss.shape[1]):
                axes[2].plot(steps, d_loss[:, s].clamp(-50, 50), color=colour, alpha=0.6, lw=0.8,
                             label=label if s == 0 else None)
        axes[2].set(xlabel="G step", ylabel="D's loss (every seed, clipped to ±50)", title="D's loss")
        axes[2].legend()
        fig.suptitle(CASES[name].title, fontsize="medium")
        return fig

    def update(self) -> None:
        """Redraw for the current symptom and show the doctor's verdicts."""
        self.view.draw(self.figure())
        self.message.show(self.verdict())
