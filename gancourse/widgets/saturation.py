"""Chapter 02's widget: how far D is trained ahead of G, and instance noise, against G's gradient.

Drag "D steps ahead" and D trains further against the frozen G of chapter 02's section 2:
D's picture of the plane sharpens and the arrows of G's saturating loss shrink away, while
the curve on the right follows the norm of G's gradient under both losses. Type an
instance-noise sigma and the same experiment reruns with noise on every input of D: the
saturating gradient stops vanishing. Each sigma's run is trained once, in chunks, and kept,
with a snapshot of D every ``every`` steps, so moving back along the slider costs nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor

from gancourse import datasets, plots, runtime
from gancourse.diagnostics import input_gradient_field
from gancourse.diagnostics.saturation import FrozenGExperiment
from gancourse.models import mlp
from gancourse.theory.vector_fields import plot_curves
from gancourse.widgets.view import FigureView, MessageBox

ARROW_SCALE = {"saturating": 1.0, "non-saturating": 0.04}
"""Arrow length (data units) per unit of push, per loss: one scale for every D step and every sigma, so that
arrows shrink when the push does (measured for seed 0: the saturating push peaks near 0.16 and ends near
1e-3 without noise, 0.5-0.9 with sigma = 0.3; the non-saturating one grows to about 10)."""


@dataclass
class _Trace:
    """One sigma's run: the experiment, its measurements and D's snapshots every ``every`` D steps."""

    experiment: FrozenGExperiment
    steps: list[int] = field(default_factory=list)
    rows: list[Tensor] = field(default_factory=list)  # (4,) each: D(x), D(G(z)), |grad sat|, |grad ns|
    snapshots: list[dict[str, Tensor]] = field(default_factory=list)


class StarvationExplorer:
    """D trained ahead of a frozen G, with or without instance noise, and what G's gradient does (chapter 02).

    ``seed`` builds G (``MLPGenerator()``) and D (``MLPDiscriminator(width=64)``) as section 2 of
    the chapter does for one seed; D trains with Adam (``lr_d`` 1e-3, batch 256) on the 8-Gaussian
    ring. Controls: ``ahead`` (D steps, a slider up to ``max_steps``) and ``noise`` (the instance
    noise sigma, typed; a negative value shows gancourse's message). ``record()`` gives the
    current sigma's measurements; ``widget`` is what a notebook displays.
    """

    def __init__(self, seed: int = 0, ahead: int = 200, noise: float = 0.0, max_steps: int = 400,
                 every: int = 10, n_eval: int = 256, device: torch.device | str | None = None) -> None:
        if every < 1 or max_steps < every:
            raise ValueError(f"need every >= 1 and max_steps >= every, got every={every}, max_steps={max_steps}")
        self.seed, self.every, self.n_eval = seed, every, n_eval
        self.device = torch.device(device) if device is not None else runtime.default_device()
        self.ring = datasets.ring()
        self.traces: dict[float, _Trace] = {}
        self.ahead = W.IntSlider(value=ahead, min=0, max=max_steps, step=every, description="D steps ahead",
                                 continuous_update=False, style={"description_width": "initial"})
        self.noise = W.FloatText(value=noise, step=0.1, description="instance noise sigma",
                                 style={"description_width": "initial"})
        self.arrows = W.ToggleButtons(options=["saturating", "non-saturating"], value="saturating",
                                      description="arrows of")
        self.view = FigureView()
        self.message = MessageBox()
        for control in (self.ahead, self.noise, self.arrows):
            control.observe(self.message.guard(lambda _change: self.update()), names="value")
        self.widget = W.VBox([W.HBox([self.ahead, self.noise]), self.arrows, self.view.output,
                              self.message.widget])
        self.message.guard(self.update)()

    def _trace(self, sigma: float) -> _Trace:
        if sigma not in self.traces:
            experiment = FrozenGExperiment([self.seed], lambda: mlp.MLPGenerator(),
                                           lambda: mlp.MLPDiscriminator(width=64), self.ring.sample,
                                           noise_std=sigma, n_eval=self.n_eval, device=self.device)
            self.traces[sigma] = _Trace(experiment)
            self._record(self.traces[sigma])
        return self.traces[sigma]

    def _record(self, trace: _Trace) -> None:
        trace.steps.append(trace.experiment.d_steps)
        trace.rows.append(trace.experiment.measure().reshape(4).cpu())
        trace.snapshots.append(copy.deepcopy(trace.experiment.D.state_dict()))

    def train_to(self, steps: int, sigma: float) -> _Trace:
        """Train sigma's D until it has taken ``steps`` D steps, ``every`` at a time, measuring after each chunk."""
        trace = self._trace(sigma)
        while trace.experiment.d_steps < steps:
            trace.experiment.train_d(self.every)
            self._record(trace)
        return trace

    def record(self) -> dict[str, Tensor]:
        """The current sigma's measurements so far: ``d_steps`` and, per step, D(x), D(G(z)) and both gradient norms."""
        trace = self._trace(float(self.noise.value))
        rows = torch.stack(trace.rows)
        return {"d_steps": torch.tensor(trace.steps), "d_real": rows[:, 0], "d_fake": rows[:, 1],
                "grad_saturating": rows[:, 2], "grad_non_saturating": rows[:, 3]}

    def update(self) -> None:
        """Train as far as the controls ask (if not done before), redraw, and report the numbers."""
        sigma, steps = float(self.noise.value), int(self.ahead.value)
        trace = self.train_to(steps, sigma)
        i = trace.steps.index(steps)
        self.view.draw(self.figure(trace, i))
        d_real, d_fake, sat, ns = trace.rows[i].tolist()
        self.message.show(f"after {steps} D steps (sigma = {sigma:g}): D(x) = {d_real:.4f}, D(G(z)) = {d_fake:.2e}; "
                          f"|grad| of G's loss: saturating {sat:.2e}, non-saturating {ns:.2e} "
                          f"(ratio {ns / sat:.3g})")

    def figure(self, trace: _Trace, i: int) -> Figure:
        """D after ``trace.steps[i]`` steps with the arrows at G's samples (left), G's gradient norms (right)."""
        experiment = trace.experiment
        D = copy.deepcopy(experiment.D)
        D.load_state_dict(trace.snapshots[i])
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained",
                                          gridspec_kw={"width_ratios": [1.15, 1]})
        x_fake = experiment.fake_points()  # as the noisy D sees them
        loss = "minimax" if self.arrows.value == "saturating" else "non_saturating"
        push = input_gradient_field(D, x_fake[:40], loss).norm(dim=-1).median().item()
        plots.decision_surface(D, experiment.x_real_eval[:300], x_fake[:300], ax=left, loss=loss,
                               extent=(-1.5, 1.5, -1.5, 1.5), resolution=60, max_arrows=24,
                               arrow_scale=ARROW_SCALE[self.arrows.value])
        left.set_title(f"D after {trace.steps[i]} steps: {self.arrows.value} push {push:.1e}\n"
                       f"(arrow length = {ARROW_SCALE[self.arrows.value]:g} x push)", fontsize="medium")
        record = torch.stack(trace.rows)
        steps = torch.tensor(trace.steps)
        curves = {"saturating": record[:, 2], "non-saturating": record[:, 3]}
        references = {}
        if experiment.noise_std > 0 and 0.0 in self.traces:  # the noiseless run, as far as it went
            plain = torch.stack(self.traces[0.0].rows)[: len(steps)]
            if len(plain) == len(steps):
                references["saturating, no noise"] = plain[:, 2]
        plot_curves(steps, curves, references=references, ax=right, xlabel="D steps against the frozen G",
                    ylabel=r"$\|\nabla_\theta \ell\|$ (G's weights)", logy=True,
                    title=f"G's gradient, instance noise sigma = {experiment.noise_std:g}")
        right.axvline(trace.steps[i], color="0.4", linewidth=1, linestyle=":")
        return fig
