"""Chapter 08's widget, pressed from Python: two fixes side by side, a missing one trained on demand."""

import pytest

from gancourse import fixes
from gancourse.widgets.fixes import FixComparison

TINY = fixes.GridSetup(steps=3, settle_steps=1, width=8, depth=2, batch_size=20, n_kernels=3, kernel_dim=2,
                       n_samples=100)


def test_shows_trained_fixes_and_trains_a_missing_one_on_click():
    runs = {"plain": fixes.run_fix("plain", [0, 1], setup=TINY, device="cpu")}
    explorer = FixComparison(runs, [0, 1], TINY, left="plain", right="R1", device="cpu")
    assert explorer.view.n_draws == 1 and explorer.missing() == ["R1"] and "R1" in explorer.message.text
    first = explorer.view.png
    explorer.train_button.click()
    assert set(explorer.runs) == {"plain", "R1"} and explorer.runs["R1"].seeds == [0, 1]
    assert explorer.missing() == [] and explorer.message.text == ""
    assert explorer.view.n_draws == 2 and explorer.view.png != first
    second = explorer.view.png
    explorer.seed.value = 1
    assert explorer.view.n_draws == 3 and explorer.view.png != second
    explorer.right.value = "plain"  # the same fix on both sides: nothing to train
    assert explorer.missing() == [] and explorer.view.n_draws == 4


def test_bad_settings_are_named():
    runs = {"plain": fixes.run_fix("plain", [0, 1], setup=TINY, device="cpu")}
    with pytest.raises(ValueError, match="left='nope' is not a fix"):
        FixComparison(runs, [0, 1], TINY, left="nope")
    with pytest.raises(ValueError, match="same seeds"):
        FixComparison(runs, [5, 6], TINY)
