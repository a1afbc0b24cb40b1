"""Chapter 09's widget and the built-to-fail cases it shows: built from short real runs, driven Python-side."""

import pytest

from gancourse import lab
from gancourse.lab import cases
from gancourse.widgets.stability import SymptomBrowser


@pytest.fixture(scope="module")
def short_runs():
    """Two symptoms' broken and fixed runs, one seed, 100 steps (enough to draw; not to judge the fixes)."""
    return {name: tuple(cases.train_case(getattr(cases.CASES[name], part), 100, [0]) for part in ("broken", "fixed"))
            for name in ("d_wins", "diverging")}


def test_a_case_run_logs_the_engine_history_with_a_modes_column(short_runs):
    broken, fixed = short_runs["d_wins"]
    assert broken.log["d_loss"].shape == (100, 1) and broken.log.steps.tolist() == list(range(100))
    assert broken.log["modes"][99, 0] == broken.modes[0]  # measured after the chunk, at its last row
    assert broken.log["modes"][:99].isnan().all()
    assert broken.samples.shape == (1, 1000, 2)
    assert (broken.settings.lr_g, fixed.settings.lr_g) == (1e-5, 3e-3)


def test_every_case_changes_one_setting():
    for case in cases.CASES.values():
        changed = [k for k in vars(case.broken) if getattr(case.broken, k) != getattr(case.fixed, k)]
        if case.fix is not None:  # one fix of the registry, applied from there
            fix = lab.get_fix(case.fix)
            assert set(changed) == set(fix.config) | set(fix.D), (case.symptom, changed)
            assert all(getattr(case.fixed, k) == v for k, v in {**fix.config, **fix.D}.items())
        elif changed == ["lr_d", "lr_g"]:  # both learning rates scaled alike count as one change: the learning rate
            assert case.broken.lr_d / case.fixed.lr_d == case.broken.lr_g / case.fixed.lr_g
        else:
            assert len(changed) == 1, (case.symptom, changed)


def test_picking_a_symptom_redraws_and_shows_the_doctors_verdicts(short_runs):
    browser = SymptomBrowser(short_runs)
    assert browser.view.n_draws == 1 and browser.symptom.value == "d_wins"
    first_png, first_text = browser.view.png, browser.message.text
    assert "doctor on the broken run" in first_text and "balance D and G" in first_text
    browser.symptom.value = "diverging"
    assert browser.view.n_draws == 2 and browser.view.png != first_png
    assert "tenfold" in browser.message.text and browser.message.text != first_text


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="at least one"):
        SymptomBrowser({})
    with pytest.raises(ValueError, match="no case for"):
        SymptomBrowser({"sneezing": None})
    with pytest.raises(ValueError, match="unknown case"):
        cases.run_case("sneezing", [0])
    with pytest.raises(ValueError, match="1 to 4 seeds"):
        cases.train_case(cases.HEALTHY, 100, list(range(5)))
    with pytest.raises(ValueError, match="multiple of chunk"):
        cases.train_case(cases.HEALTHY, 150, [0])


def test_a_registry_fix_applies_to_playground_settings_or_says_what_it_cannot_set():
    base = cases.CaseSettings(lr_d=1e-3, lr_g=1e-3, simultaneous=True)
    ttur = cases.settings_with_fix(base, "ttur")
    assert (ttur.lr_d, ttur.lr_g, ttur.simultaneous, type(ttur)) == (4e-4, 1e-4, True, cases.CaseSettings)
    assert ttur.train_config().simultaneous and not cases.HEALTHY.train_config().simultaneous
    assert cases.settings_with_fix(cases.HEALTHY, "r1").r1_weight == 1.0
    assert cases.settings_with_fix(cases.HEALTHY, "spectral_norm").spectral_norm is True
    assert cases.settings_with_fix(cases.HEALTHY, "pack3").pack == 3
    for name, missing in (("wgan_gp", "betas"), ("feature_matching", "feature_matching"),
                          ("mad_gan", "n_generators"), ("minibatch_stddev", "D option minibatch_stddev")):
        with pytest.raises(ValueError, match=f"cannot apply fix '{name}': no setting for .*{missing}"):
            cases.settings_with_fix(cases.HEALTHY, name)
