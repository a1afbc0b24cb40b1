"""gancourse.fixes: every fix is one option set, runs on the stacked 2-D nets, and is scored per seed (chapter 08)."""

import math

import pytest
import torch

from gancourse import datasets, fixes, lab
from gancourse.metrics import BatchedModeCoverage, mode_coverage
from gancourse.models.minibatch import MinibatchDiscrimination, MinibatchStdDev
from gancourse.models.multi_generator import MultiMLPGenerator

TINY = fixes.GridSetup(steps=3, settle_steps=2, width=8, depth=2, batch_size=20, n_kernels=3, kernel_dim=2,
                       n_samples=200)


@pytest.mark.parametrize("name", list(fixes.FIXES))
def test_every_fix_builds_its_nets_and_trains_on_stacked_seeds(name):
    run = fixes.run_fix(name, [0, 1], datasets.grid(), TINY, device="cpu")
    assert run.samples.shape == (2, 200, 2) and torch.isfinite(run.samples).all()
    assert run.steps == 5 and run.seconds > 0
    assert run.scores.modes.shape == (2,) and ((0 <= run.scores.modes) & (run.scores.modes <= 25)).all()


def test_the_nets_carry_the_fix():
    def modules(name):
        make_G, make_D = fixes.mlp_models(name, TINY)
        return make_G(), make_D()

    G, D = modules("minibatch discrimination")
    assert any(isinstance(m, MinibatchDiscrimination) for m in D.modules())
    G, D = modules("minibatch stddev")
    assert any(isinstance(m, MinibatchStdDev) for m in D.modules())
    assert modules("packing")[1].pack == 2 and modules("plain")[1].pack == 1
    G, D = modules("multiple generators")
    assert isinstance(G, MultiMLPGenerator) and D(torch.zeros(4, 2)).shape == (4, 6)  # 5 generators + "real"
    G, D = modules("spectral norm")
    assert all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in D.modules()
               if isinstance(getattr(m, "weight", None), torch.Tensor) and m.weight.dim() >= 2)
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in modules("plain")[1].modules())
    assert fixes.FIXES["multiple generators"].config["loss"] == "mad_gan"


def test_chapter_08_names_and_the_registry_name_the_same_fix_defined_once():
    """One registry: chapter 08's "packing" is the lab's "pack2" object itself, and a fix redefined in the
    registry is what chapter 08 sees."""
    assert list(fixes.FIXES)[0] == "plain" and len(fixes.FIXES) == 11
    for chapter_name, name in fixes.CHAPTER_08.items():
        assert fixes.FIXES[chapter_name] is lab.FIXES[name] is fixes.get_fix(chapter_name) is fixes.get_fix(name)
    assert fixes.get_fix("packing").config == {"pack": 2} and fixes.get_fix("packing").pack == 2
    old = lab.FIXES["r1"]
    try:
        lab.register_fix(lab.Fix("r1", config={"r1_weight": 10.0}, what="R1, gamma 10", chapter="08"), replace=True)
        assert fixes.FIXES["R1"].config == {"r1_weight": 10.0}
    finally:
        lab.register_fix(old, replace=True)
    # a registry fix that is not one of chapter 08's runs under its own name
    runs = fixes.run_fixes(["plain", "hinge"], [0, 1], setup=TINY, device="cpu")
    assert list(runs) == ["plain", "hinge"] and runs["hinge"].fix is lab.FIXES["hinge"]
    with pytest.raises(ValueError, match="lab.run_grid"):
        fixes.mlp_models(lab.Fix("wrapped", wrap_D=lambda D: D))


def test_each_seeds_scores_are_its_own_samples_scored_alone():
    """The batched scores equal the one-seed protocol on each seed's G, unstacked, on the same z."""
    grid = datasets.grid()
    run = fixes.run_fix("packing", [3, 4], grid, TINY, eval_seed=9, device="cpu")
    z = torch.randn(2, 200, TINY.z_dim, generator=torch.Generator().manual_seed(9))
    for i in range(2):
        G = run.result.G.unstack(i).eval()
        with torch.no_grad():
            x = G(z[i])
        torch.testing.assert_close(x, run.samples[i], rtol=1e-4, atol=1e-5)
        alone = mode_coverage(x, grid.centers, grid.std)
        assert alone.modes == int(run.scores.modes[i])
        assert math.isclose(alone.high_quality, float(run.scores.high_quality[i]), abs_tol=1e-6)


def _fake_run(name, modes, hq, kl, seconds, cpu_seconds):
    scores = BatchedModeCoverage(torch.tensor(modes), torch.tensor(hq), torch.tensor(kl), torch.zeros(len(modes), 25))
    return fixes.FixRun(fixes.get_fix(name), list(range(len(modes))), scores, torch.zeros(len(modes), 1, 2), None,
                        100, seconds, cpu_seconds)


def test_comparison_rows_are_mean_and_spread_and_time_relative_to_the_plain_gan():
    runs = {"plain": _fake_run("plain", [10, 14], [0.5, 0.7], [1.0, 0.6], 2.0, 1.0),
            "unrolled": _fake_run("unrolled", [20, 21, 25], [0.1, 0.2, 0.3], [0.2, 0.2, 0.5], 6.0, 4.0)}
    rows = fixes.comparison_rows(runs)
    assert [r["fix"] for r in rows] == ["plain", "unrolled"]
    plain, unrolled = rows
    assert plain["modes"] == 12 and math.isclose(plain["modes_spread"], math.sqrt(8))  # sample std of 10, 14
    close = lambda a, b: math.isclose(a, b, rel_tol=1e-6)  # noqa: E731 (scores are float32)
    assert close(unrolled["high_quality"], 20.0) and close(unrolled["high_quality_spread"], 10.0)
    assert close(unrolled["reverse_kl"], 0.3)
    assert plain["time_ratio"] == 1 and unrolled["time_ratio"] == 3 and unrolled["cpu_ratio"] == 4
    table = fixes.comparison_table(runs)
    assert "unrolled" in table and "12.0 ± 2.8" in table and "3.0x" in table
    with pytest.raises(ValueError, match="baseline 'R1'"):
        fixes.comparison_rows(runs, baseline="R1")


def test_bad_fixes_and_set_ups_are_named():
    with pytest.raises(ValueError, match="unknown fix 'packng'.*packing"):
        fixes.get_fix("packng")
    with pytest.raises(ValueError, match="MLPDiscriminator has no option dropout"):
        fixes.mlp_models(fixes.Fix("x", D={"dropout": True}), TINY)
    with pytest.raises(ValueError, match="pack"):
        fixes.Fix("x", config={"pack": 0})
    with pytest.raises(ValueError, match="n_generators"):
        fixes.Fix("x", n_generators=0)
    with pytest.raises(ValueError, match="GridSetup.steps"):
        fixes.GridSetup(steps=0)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        fixes.run_fix("plain", [0], setup=TINY)


def test_run_fixes_runs_each_fix_on_the_same_seeds():
    runs = fixes.run_fixes(["plain", "R1"], [0, 1], setup=TINY, device="cpu")
    assert list(runs) == ["plain", "R1"] and all(run.seeds == [0, 1] for run in runs.values())
    again = fixes.run_fix("R1", [0, 1], setup=TINY, device="cpu")  # the warm-up run does not change a fix's result
    torch.testing.assert_close(runs["R1"].samples, again.samples)
    with pytest.raises(ValueError, match="at least one fix"):
        fixes.run_fixes([], [0, 1], setup=TINY)
