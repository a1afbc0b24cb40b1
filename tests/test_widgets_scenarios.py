"""The playground's scenarios do what their text says: each failure shows, over four seeds, and its fix removes it,
measured on the same metric for a bounded number of steps (headless, through the same Session the widget drives).

Seeds come from ``runtime.seed``: ``GANCOURSE_SEED=1 pytest tests/test_widgets_scenarios.py`` checks the margins
on four other seeds.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gancourse import runtime
from gancourse.diagnostics import mean_pairwise_distance
from gancourse.training import TrainingDiverged
from gancourse.widgets.scenarios import SCENARIOS
from gancourse.widgets.session import Session

pytestmark = pytest.mark.slow
SEEDS = 4


def trained(key: str, steps: int, every: int = 100) -> Session:
    settings = dataclasses.replace(SCENARIOS[key].settings, n_seeds=SEEDS, first_seed=runtime.seed(0))
    session = Session(settings)
    for _ in range(steps // every):
        try:
            session.advance(every)
        except TrainingDiverged as stopped:  # the engine's explosion check stopped it: keep the session to measure
            stopped.session = session
            raise
    return session


def seeds_with(session: Session, symptom: str) -> set[int]:
    return {seed for s in session.symptoms if s.name == symptom for seed in (s.seeds or session.seeds[:1])}


def spread_ratio(session: Session) -> torch.Tensor:
    """How far apart G's samples are, as a share of how far apart the data are: (S,)."""
    return mean_pairwise_distance(session.samples(1000), batch_dims=2) / session.data_spread


def test_every_failure_is_followed_by_its_fix():
    keys = list(SCENARIOS)
    for failure in ("collapse", "oscillation", "divergence"):
        fix = keys[keys.index(failure) + 1]
        assert fix == f"{failure}_fixed"
        changed = {f.name for f in dataclasses.fields(SCENARIOS[failure].settings)
                   if getattr(SCENARIOS[failure].settings, f.name) != getattr(SCENARIOS[fix].settings, f.name)}
        assert len(changed) == 1, f"{fix} should change one setting, changes {changed}"


def test_collapse_puts_every_sample_near_one_point_and_a_faster_D_spreads_them_over_most_modes():
    broken, fixed = trained("collapse", 1000), trained("collapse_fixed", 1000)
    ratio_broken, ratio_fixed = spread_ratio(broken), spread_ratio(fixed)
    modes_broken, modes_fixed = broken.measurements.modes[-1], fixed.measurements.modes[-1]
    print(f"spread / data's: collapse {ratio_broken.tolist()}, fixed {ratio_fixed.tolist()}; "
          f"modes {modes_broken.tolist()} vs {modes_fixed.tolist()}")
    assert (ratio_broken < 0.25).sum() >= 3 and (modes_broken <= 1).all()
    assert len(seeds_with(broken, "mode_collapse")) >= 3  # the health monitor says so, too
    assert (ratio_fixed > 0.8).all() and (modes_fixed >= 3).all() and modes_fixed.mean() >= 6
    assert not seeds_with(fixed, "mode_collapse")


def test_oscillation_is_reported_without_R1_and_not_with_it():
    broken, fixed = trained("oscillation", 800), trained("oscillation_fixed", 800)
    print(f"oscillating seeds: without R1 {sorted(seeds_with(broken, 'oscillation'))}, "
          f"with R1 {sorted(seeds_with(fixed, 'oscillation'))}")
    assert len(seeds_with(broken, "oscillation")) >= 3
    assert not seeds_with(fixed, "oscillation")


def growth(session: Session, key: str, window: int = 250) -> torch.Tensor:
    """Mean |record| over the last ``window`` steps divided by its mean over the first ``window``: (S,)."""
    values = session.history(key).abs()
    return values[-window:].mean(0) / values[:window].mean(0)


def test_an_unconstrained_critic_diverges_until_the_engine_stops_it_and_the_gradient_penalty_keeps_it_bounded():
    with pytest.raises(TrainingDiverged, match="diverging") as stopped:
        trained("divergence", 1000)
    broken = stopped.value.session
    fixed = trained("divergence_fixed", 1000)
    assert stopped.value.key in ("d_loss", "g_grad_norm", "d_grad_norm")
    for key in ("d_loss", "g_grad_norm"):
        print(f"{key} growth: no constraint {growth(broken, key).tolist()}, penalty {growth(fixed, key).tolist()}")
        assert (growth(broken, key) >= 10).sum() >= 3, key  # an order of magnitude or more, on 3 of 4 seeds
        assert (growth(fixed, key) <= 2).all(), key
