"""Scenarios of the playground: settings that make a 2-D GAN fail in a named way, and the same settings fixed.

A learner picks one from the playground's ``scenario`` menu: the controls take its settings, a
new experiment starts, and the text says what to watch and what to change. Every failure comes
with its fix, on the same data, seeds and metric, and ``tests/test_widgets_scenarios.py`` trains
both for a bounded number of steps over several seeds and checks that the failure shows and the
fix removes it (the numbers below were measured that way, on a loaded 2-core CPU).
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass

from gancourse.widgets.session import Settings

HEALTHY = Settings(data="ring", g_activation="tanh", lr_d=3e-3, lr_g=3e-3)
"""The playground's default: a small tanh G and LeakyReLU D that cover the 8-Gaussian ring within ~1,500 steps."""


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


SCENARIOS: dict[str, Scenario] = {
    "healthy": Scenario(
        "A healthy GAN on the ring",
        HEALTHY,
        "G's samples (gold) spread from a blob onto the ring and find all 8 modes; D's colours fade towards 1/2.",
        "pick a failure below.",
    ),
}
"""The scenarios by key, in the order of the playground's menu."""
