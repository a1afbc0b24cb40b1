"""Chapter 07's widget: one critic, clipped or penalised, and what the constraint does to its surface and weights.

The critic learns to tell the 25-Gaussian grid from the grid blurred by unit Gaussian noise (the
set-up of the WGAN-GP paper's fig. 1: the generator held fixed at the data plus noise). Switch the
constraint between weight **clipping** (move ``c``) and the gradient **penalty** (move ``lambda``)
and see three things: the critic's surface ``f(x)`` over the plane with both samples on top, the
histogram of its weights (with the clipping bounds ``+-c``), and the norms of its input gradient
on points between the two samples (where the penalty looks): near 1 under the penalty, far from
it under clipping. Each setting is trained once (:func:`gancourse.theory.critics.fit_d`) and kept, so
going back to a setting costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from gancourse import datasets, runtime
from gancourse.diagnostics import lipschitz
from gancourse.models import mlp
from gancourse.theory.critics import ShiftGenerator, fit_d
from gancourse.theory.distances import critic_gap
from gancourse.training.seeds import init_models
from gancourse.widgets.view import FigureView, MessageBox

CONSTRAINTS = ("clipping", "penalty")
EXTENT = 6.5
"""Half-width of the square shown: the grid's modes sit at -4 ... 4, the noisy copy spreads about 1 further."""


@dataclass
class CriticState:
    """One trained setting: the critic, its estimate of W and its input-gradient norms on the probe points."""

    constraint: str
    value: float
    D: nn.Module
    w_estimate: float
    grad_norms: Tensor
    """``(n,)`` ``||grad_x f||`` at the probe points (random interpolates of a real and a noisy sample)."""
    share_at_c: float | None
    """Share of the weights at ``+-c`` (clipping only)."""


class CriticExplorer:
    """Train a critic with weight clipping or the gradient penalty and look at it (chapter 07).

    The critic is ``MLPDiscriminator(width=width, depth=depth, activation="relu")``, built from
    ``seed``, trained for ``steps`` steps of the Wasserstein loss with Adam (1e-4, betas (0.5, 0.9))
    on batches of ``batch_size``. Controls: ``constraint`` (clipping or penalty), ``c`` (a log
    slider, 0.001 to 0.3) and ``gp_weight`` (lambda, 0.1 to 100). :meth:`state` gives the shown
    setting's numbers; ``widget`` is what a notebook displays (``view.show(explorer.widget,
    explorer.view.png)``).
    """

    def __init__(self, constraint: str = "clipping", c: float = 0.01, gp_weight: float = 10.0, steps: int = 300,
                 seed: int = 0, width: int = 64, depth: int = 4, batch_size: int = 256, lr: float = 1e-4,
                 device: torch.device | str | None = None) -> None:
        if constraint not in CONSTRAINTS:
            raise ValueError(f"constraint must be one of {', '.join(CONSTRAINTS)}, got {constraint!r}")
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be an int >= 1, got {steps!r}")
        self.steps, self.seed, self.width, self.depth = steps, seed, width, depth
        self.batch_size, self.lr = batch_size, lr
        self.device = torch.device(device) if device is not None else runtime.default_device()
        self.grid = datasets.grid()
        probe = torch.Generator().manual_seed(seed + 1)
        x_real, x_noisy = self._sample(2000, probe)
        eps = torch.rand(2000, 1, generator=probe)
        self.x_real, self.x_noisy = x_real.to(self.device), x_noisy.to(self.device)
        self.x_probe = (eps * x_real + (1 - eps) * x_noisy).to(self.device)  # where the penalty looks
        self.states: dict[tuple[str, float], CriticState] = {}
        self.constraint = W.ToggleButtons(options=list(CONSTRAINTS), value=constraint, description="constraint")
        self.c = W.FloatLogSlider(value=c, base=10, min=-3, max=-0.5, step=0.25, description="clip c",
                                  continuous_update=False, readout_format=".3g")
        self.gp_weight = W.FloatLogSlider(value=gp_weight, base=10, min=-1, max=2, step=0.25, description="lambda",
                                          continuous_update=False, readout_format=".3g")
        self.view = FigureView()
        self.message = MessageBox()
        for control in (self.constraint, self.c, self.gp_weight):
            control.observe(self.message.guard(lambda _change: self.update()), names="value")
        self.widget = W.VBox([self.constraint, W.HBox([self.c, self.gp_weight]), self.view.output,
                              self.message.widget])
        self.message.guard(self.update)()

    def _sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` grid samples and ``n`` others blurred by N(0, I): ``(n, 2)`` each, on the CPU."""
        x_real = self.grid.sample(n, generator)
        x_noisy = self.grid.sample(n, generator) + torch.randn(n, 2, generator=generator)
        return x_real, x_noisy

    def setting(self) -> tuple[str, float]:
        """The shown setting: ``("clipping", c)`` or ``("penalty", lambda)``."""
        constraint = self.constraint.value
        return constraint, float(self.c.value if constraint == "clipping" else self.gp_weight.value)

    def state(self) -> CriticState:
        """The critic of the shown setting, trained now if it was not before."""
        key = self.setting()
        if key not in self.states:
            self.states[key] = self._train(*key)
        return self.states[key]

    def _train(self, constraint: str, value: float) -> CriticState:
        _, D = init_models(self.seed, nn.Identity,
                           lambda: mlp.MLPDiscriminator(width=self.width, depth=self.depth, activation="relu"))
        G = ShiftGenerator(torch.eye(2), torch.zeros(2))  # passes the noisy samples through: a frozen G
        clip = value if constraint == "clipping" else None
        gp_weight = value if constraint == "penalty" else 0.0
        fit_d(G, D, lambda n, g: self.grid.sample(n, g), lambda n, g: self.grid.sample(n, g) + torch.randn(
              n, 2, generator=g, device=g.device), self.steps, clip=clip, gp_weight=gp_weight, lr=self.lr,
              batch_size=self.batch_size, seed=self.seed, device=self.device)
        D.eval()
        w_estimate = float(critic_gap(D, self.x_real, self.x_noisy))
        grad_norms = lipschitz.batch_input_grads(D, self.x_probe).norm(dim=-1).cpu()
        share = float(lipschitz.share_at_bounds(D, value)) if clip is not None else None
        return CriticState(constraint, value, D, w_estimate, grad_norms, share)

    def update(self) -> None:
        """Train the shown setting if needed, redraw, and report its numbers."""
        state = self.state()
        self.view.draw(self.figure(state))
        name = f"clipping, c = {state.value:.3g}" if state.constraint == "clipping" else \
            f"penalty, lambda = {state.value:.3g}"
        share = f"; weights at +-c: {state.share_at_c:.0%}" if state.share_at_c is not None else ""
        self.message.show(f"{name}: W estimate {state.w_estimate:.3f}; input-gradient norm median "
                          f"{state.grad_norms.median():.3g} (10-90%: {state.grad_norms.quantile(0.1):.3g}-"
                          f"{state.grad_norms.quantile(0.9):.3g}){share}")

    def figure(self, state: CriticState) -> Figure:
        """The critic's surface with both samples, its weight histogram, and its input-gradient norms."""
        fig, (surface, weights, norms) = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained",
                                                      gridspec_kw={"width_ratios": [1.2, 1, 1]})
        axis = torch.linspace(-EXTENT, EXTENT, 80, device=self.device)
        gy, gx = torch.meshgrid(axis, axis, indexing="ij")
        with torch.no_grad():
            f = state.D(torch.stack([gx.flatten(), gy.flatten()], dim=1)).reshape(80, 80).cpu()
        filled = surface.contourf(gx.cpu().numpy(), gy.cpu().numpy(), f.numpy(), levels=20, cmap="viridis")
        fig.colorbar(filled, ax=surface, label="critic f(x)")
        surface.scatter(*self.x_noisy[:400].cpu().T.numpy(), s=3, color="orange", label="data + noise (fake)")
        surface.scatter(*self.x_real[:400].cpu().T.numpy(), s=3, color="white", label="data (real)")
        surface.set_aspect("equal")
        surface.set_title(f"critic surface, W estimate {state.w_estimate:.3f}", fontsize="medium")
        surface.legend(loc="lower left", fontsize="x-small", markerscale=3)
        values = lipschitz.weight_values(state.D).cpu()
        weights.hist(values.numpy(), bins=60, color="tab:blue")
        if state.constraint == "clipping":
            for bound in (-state.value, state.value):
                weights.axvline(bound, color="tab:red", linestyle="--", linewidth=1)
            weights.set_title(f"weights: {state.share_at_c:.0%} at +-c (red)", fontsize="medium")
        else:
            weights.set_title(f"weights: largest |w| = {values.abs().max():.3g}", fontsize="medium")
        weights.set_yscale("log")
        weights.set_xlabel("weight value")
        norms.hist(state.grad_norms.clamp_min(1e-12).log10().numpy(), bins=40, color="tab:green")
        norms.axvline(0.0, color="black", linestyle="--", linewidth=1)
        norms.set_xlabel(r"$\log_{10} \|\nabla_x f\|$ between real and fake (dashed: norm 1)")
        norms.set_title(f"input-gradient norms, median {state.grad_norms.median():.3g}", fontsize="medium")
        return fig
