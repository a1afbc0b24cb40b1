"""Scenarios of the playground: settings that make a 2-D GAN fail in a named way, then the same settings fixed.

A learner picks one from the playground's ``scenario`` menu: the controls take its settings, a
new experiment starts, and the text says what to watch and what to try next. Each failure is
followed by its fix: the same data, networks and seeds with one thing changed. Every claim made
here is measured by ``tests/test_widgets_scenarios.py``, which trains each pair over four seeds
for a bounded number of steps and checks the failure and the fix on the same metric:

* **mode collapse** (the "Helvetica scenario"): G outruns a D that barely learns and puts all its
  samples on one point; measured by how far apart G's samples are, against the data.
* **oscillation**: an unregularized GAN whose losses swing up and down without settling;
  measured by the health monitor's oscillation check; R1 calms it.
* **divergence**: a Wasserstein critic without a Lipschitz constraint; its loss and G's gradient
  grow by orders of magnitude until the engine stops the run ("diverging"); the gradient penalty
  keeps them bounded.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass

from gancourse.widgets.session import Settings

HEALTHY = Settings()
"""The playground's default: a small tanh G and LeakyReLU D that find all 8 modes of the ring in ~1,000 steps."""


@dataclass(frozen=True)
class Scenario:
    """A named set-up: ``settings`` for the controls, ``watch`` (what to look at), ``then`` (what to try next)."""

    title: str
    settings: Settings
    watch: str
    then: str

    def html(self) -> str:
        return f"<b>Watch:</b> {html.escape(self.watch)}<br><b>Then:</b> {html.escape(self.then)}"


def _with(**changes) -> Settings:
    return dataclasses.replace(HEALTHY, **changes)


COLLAPSE = _with(lr_d=1e-5)
OSCILLATION = _with(g_activation="relu", lr_d=1e-3, lr_g=1e-3)
DIVERGENCE = _with(loss="wasserstein", lr_d=1e-2, lr_g=1e-2)

SCENARIOS: dict[str, Scenario] = {
    "healthy": Scenario(
        "A healthy GAN on the ring", HEALTHY,
        "G's samples (gold) spread from a blob onto the ring and find all 8 modes within about 1,000 steps.",
        "pick a failure below; each is followed by its fix."),
    "collapse": Scenario(
        "Mode collapse: D learns 300 times slower than G", COLLAPSE,
        "with lr_d = 1e-5, D hardly changes, so G keeps moving its samples to the one place D likes best: they "
        "shrink onto a point (the 'Helvetica scenario'), no mode is covered, and the health monitor reports "
        "mode collapse once the samples spread less than half as much as the data.",
        "pick the next entry: the same GAN with lr_d = 3e-3, as fast as G."),
    "collapse_fixed": Scenario(
        "  ... fixed: D learns as fast as G (lr_d = 3e-3)", _with(lr_d=3e-3),
        "D now follows G and pushes the samples apart: within about 1,000 steps they spread as widely as the "
        "data and cover most of the 8 modes.",
        "chapter 03 measures collapse over many seeds; chapter 04 balances D and G."),
    "oscillation": Scenario(
        "Oscillation: ReLU G, no regularization", OSCILLATION,
        "the losses and D(x), D(G(z)) swing up and down regularly instead of settling, the samples sweep "
        "around, and the health monitor reports oscillation within a few hundred steps.",
        "pick the next entry: the same GAN with an R1 penalty (gamma = 1) on D."),
    "oscillation_fixed": Scenario(
        "  ... fixed with R1 (gamma = 1)", dataclasses.replace(OSCILLATION, r1_weight=1.0),
        "R1 flattens D around the data, the swings die out and no oscillation is reported; the samples "
        "settle on the modes.",
        "chapter 01 shows why (the Dirac-GAN), chapter 04 measures oscillation."),
    "divergence": Scenario(
        "Divergence: a Wasserstein critic without a constraint", DIVERGENCE,
        "nothing keeps the critic's slope bounded, so its values run away: the losses and G's push grow by "
        "orders of magnitude (watch the scale of the loss panel), the samples are thrown about, and within about "
        "1,000 steps the engine stops the run and says why.",
        "pick the next entry: the same GAN with a gradient penalty (lambda = 10)."),
    "divergence_fixed": Scenario(
        "  ... fixed with a gradient penalty (lambda = 10)", dataclasses.replace(DIVERGENCE, gp_weight=10.0),
        "the penalty keeps the critic's slope near 1: its loss and G's push stay bounded.",
        "the ring itself needs more with a Wasserstein loss (chapter 07: a lower learning rate and 5 critic "
        "steps per G step); try lr 1e-3 and n_critic 5."),
}
"""The scenarios by key, in the order of the playground's menu: each failure is followed by its fix."""
