"""Chapter 01's widget: step size ``h`` and the penalty ``gamma`` on the bilinear game and the Dirac-GAN.

Move ``h`` and watch simultaneous steps spiral out faster (the radius grows as
``(1 + h^2)^(t/2)`` on ``x y``) while alternating steps keep circling; raise ``gamma`` (R1 on the
Dirac-GAN, the same penalty ``gamma/2 y^2`` on the bilinear game's max player) and watch both
spiral in. Beside the picture: the distance to the equilibrium after the last step and the
per-step growth factor of a small error (:func:`gancourse.theory.games.step_growth`), which says in
advance whether the iterates spiral out (> 1), cycle (= 1) or converge (< 1).
"""

from __future__ import annotations

import math

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from gancourse.theory import games
from gancourse.theory import vector_fields as vf
from gancourse.widgets.view import FigureView, MessageBox

GAMES = {"bilinear x y": games.bilinear_field, "Dirac-GAN": games.dirac_gan_field}
LABELS = {"bilinear x y": ("$x$ (min player)", "$y$ (max player)"),
          "Dirac-GAN": (r"$\theta$ (generator)", r"$\psi$ (discriminator)")}
START = (math.cos(math.pi / 4), math.sin(math.pi / 4))
"""Where every run starts: distance 1 from the equilibrium (0, 0)."""
ESCAPED = 1e12
"""A run is shown up to the first iterate this far out (h = 1 on ``x y`` gets there in 80 steps)."""


class GameExplorer:
    """Gradient play on a two-parameter game, redrawn whenever a control changes (chapter 01).

    Controls: ``game`` (bilinear or Dirac-GAN), ``scheme`` (simultaneous or alternating), ``h``
    and ``gamma`` (typed; a bad value shows gancourse's message and the last picture stays),
    ``steps``. ``path`` holds the last run ``(steps + 1, 2)``, ``growth`` its per-step factor;
    ``widget`` is what a notebook displays (``view.show(explorer.widget, explorer.view.png)``).
    Everything is a few hundred float64 steps: one update is the drawing, well under a second.
    """

    def __init__(self, game: str = "bilinear x y", scheme: str = "simultaneous", h: float = 0.2,
                 gamma: float = 0.0, steps: int = 200) -> None:
        if game not in GAMES:
            raise ValueError(f"unknown game {game!r}; use one of {', '.join(GAMES)}")
        self.game = W.Dropdown(options=list(GAMES), value=game, description="game")
        self.scheme = W.ToggleButtons(options=list(games.SCHEMES), value=scheme, description="steps")
        self.h = W.FloatText(value=h, step=0.05, description="step h")
        self.gamma = W.FloatText(value=gamma, step=0.1, description="gamma")
        self.steps = W.IntSlider(value=steps, min=10, max=1000, step=10, description="iterations",
                                 continuous_update=False)
        self.view = FigureView()
        self.message = MessageBox()
        self.path: torch.Tensor | None = None
        self.growth = math.nan
        controls = (self.game, self.scheme, self.h, self.gamma, self.steps)
        for control in controls:
            control.observe(self.message.guard(lambda _change: self.update()), names="value")
        self.widget = W.VBox([W.HBox([self.game, self.scheme]), W.HBox([self.h, self.gamma, self.steps]),
                              self.view.output, self.message.widget])
        self.message.guard(self.update)()

    def field(self):
        """The descent-ascent field of the chosen game with the chosen ``gamma`` (checked by
        :mod:`gancourse.theory.games`)."""
        base, gamma = GAMES[self.game.value], float(self.gamma.value)
        base(torch.zeros(2, dtype=torch.float64), gamma)  # raises gancourse's message for a bad gamma
        return lambda w: base(w, gamma)

    def run(self) -> torch.Tensor:
        """The iterates from :data:`START` with the current controls, ``(steps + 1, 2)`` float64."""
        start = torch.tensor(START, dtype=torch.float64)
        gda = games.simultaneous_gda if self.scheme.value == "simultaneous" else games.alternating_gda
        return gda(self.field(), start, float(self.h.value), int(self.steps.value))

    def update(self) -> None:
        """Run with the current controls, redraw, and say what happened."""
        path = self.run()
        growth = games.step_growth(self.field(), float(self.h.value), self.scheme.value)
        shown = torch.isfinite(path).all(dim=-1) & (path.norm(dim=-1) < ESCAPED)
        n_finite = int(shown.long().cumprod(0).sum())  # iterates before the run escaped
        self.path, self.growth = path[:n_finite], growth
        self.view.draw(self.figure())
        distance = self.path[-1].norm().item()
        verdict = "spirals out" if growth > 1 + 1e-12 else "cycles" if growth > 1 - 1e-12 else "converges"
        text = (f"after {n_finite - 1} steps the distance to (0, 0) is {distance:.3g} (start: 1); "
                f"per-step growth of a small error: {growth:.4f} -> {verdict}")
        if n_finite < len(path):
            self.message.show(text + f"; the iterates passed distance {ESCAPED:.0e} at step {n_finite} (float64 "
                              f"overflows near 1e308): lower h", "warning")
        else:
            self.message.show(text)

    def figure(self) -> Figure:
        """The field with the path (left) and the distance to the equilibrium per step (right)."""
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
        name, scheme = self.game.value, self.scheme.value
        h, gamma = float(self.h.value), float(self.gamma.value)
        lim = max(1.5, 1.1 * float(self.path.abs().max()))
        vf.plot_game(self.field(), self.path, ax=left, lim=lim, labels=LABELS[name], max_paths=1,
                     title=f"{name}, {scheme}, h = {h:g}, gamma = {gamma:g}")
        t = torch.arange(len(self.path), dtype=torch.float64)
        # the linearised prediction rho^t; on x y with simultaneous steps rho^t = (1 + h^2)^(t/2) exactly
        references = {r"$\rho^t$, $\rho$ = per-step growth near (0, 0)": self.growth**t}
        vf.plot_curves(t, {"distance to (0, 0)": self.path.norm(dim=-1).clamp_min(1e-30)},
                       references=references, ax=right, xlabel="step $t$", ylabel="distance", logy=True,
                       title=f"distance to the equilibrium ($\\rho$ = {self.growth:.4f})")
        right.axhline(1.0, color="0.6", linewidth=0.8, linestyle=":")
        return fig
