"""The stability lab: fixes by name, cells that give each seed its own numbers, a store that survives a kill,
the table's statistics against hand-computed values, and the Ray backend against the local one."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from script_loader import load_script

from gancourse import lab
from gancourse.lab.fixes import FIXES
from gancourse.lab.store import Store, run_meta
from gancourse.models.mlp import MLPDiscriminator, MLPGenerator
from gancourse.models.multi_generator import MultiMLPGenerator
from gancourse.training import TrainConfig, train_seeds

TINY = dict(steps=12, width=8, depth=1, batch_size=16)


def tiny_setup(**changes):
    return lab.mlp_setup(**{**TINY, **changes})


def without_time(table):
    """The rows without their wall time, NaN written as "nan" (a NaN read back from JSON is another object, and
    NaN != NaN, so rows with NaN would never compare equal)."""
    return [{k: "nan" if isinstance(v, float) and math.isnan(v) else v for k, v in row.items() if k != "wall_s"}
            for row in table.rows]


def test_every_course_fix_builds_a_valid_config():
    setup = tiny_setup()
    for name in ("gan", "wgan_gp", "wgan_clip", "hinge", "least_squares", "ttur", "n_critic5", "r1", "instance_noise",
                 "label_smoothing", "pack2", "pack3", "pack4", "unrolled5", "minibatch_discrimination",
                 "minibatch_stddev", "spectral_norm", "feature_matching", "mad_gan"):
        fix = lab.get_fix(name)
        config = setup.train_config(fix)
        assert all(getattr(config, k) == (tuple(v) if isinstance(v, list) else v) for k, v in fix.config.items())
        assert fix.chapter and fix.what
    wgan_gp = setup.train_config(lab.get_fix("wgan_gp"))
    assert (wgan_gp.loss, wgan_gp.gp_weight, wgan_gp.n_critic, wgan_gp.betas) == ("wasserstein", 10.0, 5, (0.5, 0.9))
    assert lab.get_fix("spectral_norm").stacks  # MLPDiscriminator's spectral norm keeps one estimate per seed
    assert setup.train_config(lab.get_fix("feature_matching")).feature_matching
    mad_gan = lab.get_fix("mad_gan")
    assert mad_gan.n_generators == 5 and setup.train_config(mad_gan).loss == "mad_gan"
    with pytest.raises(ValueError, match="n_generators"):
        lab.Fix("none", n_generators=0)
    with pytest.raises(ValueError, match="pack"):
        lab.Fix("bad_pack", config={"pack": 0})


def test_mad_gan_cell_trains_k_generators_and_scores_their_mixture():
    """The lab's MAD-GAN cell is train_seeds on a stacked MultiMLPGenerator (5 heads) against a 6-way D, scored on
    the mixture of the heads; written out by hand here. A seed gets the same numbers stacked or alone."""
    setup = tiny_setup()
    rows = lab.run_cell(lab.get_fix("mad_gan"), "ring", [0, 1], setup)
    config = TrainConfig(**{**setup.config, "loss": "mad_gan", "progress": False})
    result = train_seeds([0, 1], lambda: MultiMLPGenerator(5, shared_body=True, width=8, depth=1, norm="batch"),
                         lambda: MLPDiscriminator(width=8, depth=1, out_dim=6), lab.DATASETS["ring"].mixture.sample,
                         config, device="cpu")
    assert isinstance(result.G, MultiMLPGenerator) and result.G.n_models == 2
    expected = lab.DATASETS["ring"].evaluate(result.G, [0, 1], 2500, torch.device("cpu"))
    for row, ref in zip(rows, expected, strict=True):
        assert row["modes"] == ref["modes"] and row["reverse_kl"] == pytest.approx(ref["reverse_kl"])
        assert not row["diverged"]
    alone = lab.run_cell(lab.get_fix("mad_gan"), "ring", [1], setup)
    assert alone[0]["reverse_kl"] == pytest.approx(rows[1]["reverse_kl"], rel=1e-5, abs=1e-6)
    # the scored samples come from all 5 heads: sample j from head j mod 5, so the heads' samples differ
    G = result.G.unstack(0).eval()
    with torch.no_grad():
        x = G(torch.zeros(10, 2))  # one z for every sample: only the head differs
    assert torch.equal(x[0], x[5]) and not torch.allclose(x[0], x[1])
    without = lab.Setup("no_multi", MLPGenerator, MLPDiscriminator, config={"steps": 2})
    with pytest.raises(ValueError, match="make_multi_G"):
        lab.run_cell(lab.get_fix("mad_gan"), "ring", [0], without)


def test_a_new_fix_registers_by_name_and_runs_without_changing_the_lab():
    fix = lab.Fix("r1_tenfold", config={"r1_weight": 10.0}, what="R1, gamma 10", chapter="08")
    try:
        lab.register_fix(fix)
        table = lab.run_grid(["r1_tenfold"], datasets=["ring"], seeds=[0], setup=tiny_setup(), device="cpu")
        assert table.fixes == ["r1_tenfold"] and len(table) == 1
        assert lab.register_fix(fix) is fix  # the same definition again is fine...
        with pytest.raises(ValueError, match="already registered"):  # ...another one under the name is not
            lab.register_fix(lab.Fix("r1_tenfold", config={"r1_weight": 5.0}))
    finally:
        FIXES.pop("r1_tenfold", None)
    with pytest.raises(ValueError, match="unknown fix 'nope'"):
        lab.get_fix("nope")
    with pytest.raises(ValueError, match="plain identifier"):
        lab.Fix("pack 2")


def test_plan_orders_cells_and_checks_its_arguments():
    cells = lab.plan(["gan", "pack2"], ["ring", "grid"], [3, 4, 5], seeds_per_run=2)
    assert [(f.name, d, s) for f, d, s in cells] == [
        ("gan", "ring", [3, 4]), ("gan", "ring", [5]), ("pack2", "ring", [3, 4]), ("pack2", "ring", [5]),
        ("gan", "grid", [3, 4]), ("gan", "grid", [5]), ("pack2", "grid", [3, 4]), ("pack2", "grid", [5])]
    with pytest.raises(ValueError, match="distinct"):
        lab.plan(["gan"], ["ring"], [1, 1])
    with pytest.raises(ValueError, match="once"):
        lab.plan(["gan", "gan"], ["ring"], [1])
    with pytest.raises(ValueError, match="unknown lab dataset 'moon'"):
        lab.plan(["gan"], ["moon"], [1])
    with pytest.raises(ValueError, match="backend"):
        lab.run_grid(["gan"], ["ring"], [0], setup=tiny_setup(), backend="spark")


def test_a_seed_gets_the_same_numbers_stacked_with_others_or_alone():
    setup = tiny_setup()
    fix = lab.get_fix("pack2")
    together = lab.run_cell(fix, "ring", [7, 8, 9], setup)
    alone = lab.run_cell(fix, "ring", [8], setup)
    assert [r["seed"] for r in together] == [7, 8, 9]
    for key in ("modes", "high_quality", "reverse_kl"):
        assert together[1][key] == pytest.approx(alone[0][key], rel=1e-5, abs=1e-6)
    assert together[0]["modes"] != together[1]["modes"] or together[0]["reverse_kl"] != together[1]["reverse_kl"]


def test_a_cell_scores_what_train_seeds_and_mode_coverage_give():
    # the same run written out by hand: train_seeds, then 2,500 samples of G in eval mode per seed
    setup = tiny_setup()
    rows = lab.run_cell(lab.get_fix("gan"), "grid", [0, 1], setup)
    config = TrainConfig(**{**setup.config, "progress": False})
    result = train_seeds([0, 1], lambda: MLPGenerator(width=8, depth=1, norm="batch"),
                         lambda: MLPDiscriminator(width=8, depth=1), lab.DATASETS["grid"].mixture.sample, config,
                         device="cpu")
    expected = lab.DATASETS["grid"].evaluate(result.G, [0, 1], 2500, torch.device("cpu"))
    for row, ref in zip(rows, expected, strict=True):
        assert row["modes"] == ref["modes"] and row["reverse_kl"] == pytest.approx(ref["reverse_kl"])
        assert math.isnan(row["fid"]) and row["steps"] == 12 and not row["diverged"]


def test_a_diverging_fix_gives_nan_rows_and_the_reason_not_a_crash():
    boom = lab.Fix("boom", config={"lr_d": 1e6, "lr_g": 1e6, "loss": "wasserstein"})
    rows = lab.run_cell(boom, "ring", [0, 1], tiny_setup(steps=60))
    assert all(r["diverged"] and math.isnan(r["modes"]) for r in rows)
    assert "diverg" in rows[0]["message"]


def test_fixed_training_set_per_seed_draws_from_its_own_set():
    sets = torch.stack([torch.full((5, 2), 1.0), torch.full((5, 2), 2.0)])
    sample = lab.setups.FixedSamples(sets)
    gens = [torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)]
    batch = sample(4, gens)
    assert batch.shape == (2, 4, 2) and (batch[0] == 1).all() and (batch[1] == 2).all()
    assert (sample(3, torch.Generator().manual_seed(0)) == 1).all()


def test_table_statistics_match_hand_computed_values():
    rows = [{"fix": "a", "dataset": "ring", "seed": s, "modes": m, "high_quality": 0.5, "reverse_kl": k,
             "fid": math.nan, "diverged": math.isnan(m), "wall_s": 1.0, "steps": 10, "message": ""}
            for s, (m, k) in enumerate([(6.0, 0.1), (8.0, 0.3), (7.0, 0.2), (math.nan, math.nan)])]
    table = lab.LabTable(rows, {"budget": "default"})
    s = table.summary("a", "ring", "modes")
    assert s.mean == pytest.approx(7.0) and s.std == pytest.approx(1.0) and s.sem == pytest.approx(1 / math.sqrt(3))
    assert s.diverged == 1 and len(s.values) == 4
    assert "7 ± 0.58 (1✗)" in table.format("ring")
    with pytest.raises(ValueError, match="unknown metric 'modez'"):
        table.values("a", "ring", "modez")
    assert table.values("a", "ring", "wall_s") == [1.0] * 4
    # every seed diverged: no mean, no spread (not a spread of 0)
    lost = lab.LabTable([{**r, "modes": math.nan} for r in rows], {}).summary("a", "ring", "modes")
    assert math.isnan(lost.mean) and math.isnan(lost.std) and math.isnan(lost.sem) and lost.diverged == 4
    one = lab.LabTable(rows[:1], {}).summary("a", "ring", "modes")
    assert (one.mean, one.std, one.sem) == (6.0, 0.0, 0.0)  # one seed: no spread to measure


def test_plot_seeds_draws_each_seed_where_it_is_and_diverged_seeds_as_crosses():
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    rows = [{"fix": f, "dataset": "ring", "seed": s, "modes": m, "high_quality": 0.5, "reverse_kl": 0.0,
             "fid": math.nan, "diverged": math.isnan(m), "wall_s": 0.0, "steps": 1, "message": ""}
            for f, ms in (("a", [6.0, 8.0, math.nan]), ("b", [1.0, 2.0, 3.0])) for s, m in enumerate(ms)]
    ax = lab.plot_seeds(lab.LabTable(rows, {}), "ring", "modes")
    scatters = [c.get_offsets() for c in ax.collections if isinstance(c, matplotlib.collections.PathCollection)]
    dots_a, cross_a, dots_b = scatters  # the bars (means) are line collections
    # jitter over 3 seeds: -0.2, 0, 0.2 around the fix's position (a at 0, b at 1); seed 2 of a diverged
    np.testing.assert_allclose(dots_a, [[-0.2, 6.0], [0.0, 8.0]], rtol=1e-6)
    np.testing.assert_allclose(cross_a, [[0.2, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(dots_b, [[0.8, 1.0], [1.0, 2.0], [1.2, 3.0]], rtol=1e-6)
    share = lab.plot_seeds(lab.LabTable(rows, {}), "ring", "high_quality")
    assert share.collections[0].get_offsets()[:, 1].tolist() == [50.0, 50.0, 50.0]  # high quality in %
    matplotlib.pyplot.close("all")


def test_a_ranking_reads_as_a_numbered_list():
    ranking = lab.Ranking(dataset="grid", metric="modes", order=("c", "a"), means={"c": 5.0, "a": 0.5},
                          p_best={"c": 1.0, "a": 0.0}, p_above_next=(0.75,), p_order=0.75,
                          rank_interval={"c": (1, 1), "a": (2, 2)}, n_boot=100)
    assert str(ranking).splitlines() == [
        "grid, ranked by modes (100 bootstrap resamples of the seeds; the whole order holds in 75%)",
        "  1. c" + " " * 25 + " mean 5; best in 100%, rank 1-1 in 95%, beats the next in 75%",
        "  2. a" + " " * 25 + " mean 0.5; best in 0%, rank 2-2 in 95%"]


def test_bootstrap_ranking_against_exact_probabilities():
    def row(fix, seed, modes):
        return {"fix": fix, "dataset": "grid", "seed": seed, "modes": modes, "high_quality": 0.0, "reverse_kl": 0.0,
                "fid": math.nan, "diverged": False, "wall_s": 0.0, "steps": 1, "message": ""}

    # a: seeds {0, 1}; its resampled mean is 0, 1/2, 1 with probability 1/4, 1/2, 1/4. b: always 1/2.
    table = lab.LabTable([row("a", 0, 0.0), row("a", 1, 1.0), row("b", 0, 0.5), row("b", 1, 0.5),
                          row("c", 0, 5.0), row("c", 1, 5.0)], {})
    ranking = lab.rank_fixes(table, "grid", "modes", n_boot=40_000, seed=1)
    assert ranking.order == ("c", "a", "b")  # a and b tie on the mean; the first listed goes first
    assert ranking.p_best == {"c": 1.0, "a": 0.0, "b": 0.0}
    assert ranking.p_above_next[0] == 1.0
    assert ranking.p_above_next[1] == pytest.approx(0.25, abs=0.01)  # a strictly beats b only when both seeds are 1
    assert ranking.p_order == pytest.approx(0.25, abs=0.01)
    assert ranking.rank_interval["c"] == (1, 1) and ranking.rank_interval["b"] == (2, 3)
    # lower is better for the KL
    kl = lab.LabTable([{**row("a", 0, 0), "reverse_kl": 0.1}, {**row("b", 0, 0), "reverse_kl": 0.5}], {})
    assert lab.rank_fixes(kl, "grid", "reverse_kl", n_boot=10).order == ("a", "b")


def test_csv_and_json_carry_versions_device_and_budget(tmp_path):
    table = lab.run_grid(["gan"], ["ring"], [0, 1], setup=tiny_setup(), device="cpu")
    meta = table.meta
    assert meta["torch"] == torch.__version__ and meta["device"] == "cpu" and meta["budget"] == "default"
    assert meta["setup"]["config"]["steps"] == 12 and meta["gancourse"]
    table.to_csv(tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].startswith("fix,dataset,seed,modes,high_quality,reverse_kl,fid") and "budget" in lines[0]
    assert len(lines) == 3 and lines[1].startswith("gan,ring,0,")
    table.to_json(tmp_path / "t.json")
    back = lab.LabTable.from_json(tmp_path / "t.json")
    assert back.meta == meta and without_time(back)[1]["modes"] == table.rows[1]["modes"]


def test_store_refuses_another_setup_and_reruns_a_redefined_fix(tmp_path):
    path = tmp_path / "grid.jsonl"
    ran = []
    lab.run_grid(["gan"], ["ring"], [0], setup=tiny_setup(), store=path, device="cpu", on_cell=ran.append)
    lab.run_grid(["gan"], ["ring"], [0], setup=tiny_setup(), store=path, device="cpu", on_cell=ran.append)
    assert len(ran) == 1  # the second call read the cell back
    with pytest.raises(ValueError, match="another set-up"):
        lab.run_grid(["gan"], ["ring"], [0], setup=tiny_setup(steps=13), store=path, device="cpu")
    changed = lab.Fix("gan", config={"lr_d": 5e-4})
    lab.run_grid([changed], ["ring"], [0], setup=tiny_setup(), store=path, device="cpu", on_cell=ran.append)
    assert len(ran) == 2  # same name, other definition: run again, and stored once
    assert len(Store(path, run_meta(tiny_setup().spec(), "cpu")).cells) == 1
    path.write_text("not json\n")
    with pytest.raises(ValueError, match="not a lab store"):
        lab.run_grid(["gan"], ["ring"], [0], setup=tiny_setup(), store=path, device="cpu")


KILLED_GRID = """
import sys
from gancourse import lab
setup = lab.mlp_setup(steps=40, width=8, depth=1, batch_size=16)
lab.run_grid(["gan", "pack2", "r1"], ["ring", "grid"], [0, 1], setup=setup, store=sys.argv[1], device="cpu",
             on_cell=lambda record: print("cell done", flush=True))
print("grid done", flush=True)
"""


def test_a_killed_grid_resumes_to_the_same_table(tmp_path):
    path = tmp_path / "grid.jsonl"
    script = tmp_path / "grid.py"
    script.write_text(textwrap.dedent(KILLED_GRID))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    process = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        for _ in range(2):  # two of the six cells finished, the third is in progress
            assert process.stdout.readline().strip() == "cell done"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    stored = len(path.read_text().splitlines()) - 1  # the description line and one line per finished cell
    assert 2 <= stored < 6
    ran = []
    setup = lab.mlp_setup(steps=40, width=8, depth=1, batch_size=16)
    resumed = lab.run_grid(["gan", "pack2", "r1"], ["ring", "grid"], [0, 1], setup=setup, store=path, device="cpu",
                           on_cell=ran.append)
    assert len(ran) == 6 - stored  # only the cells the kill left unfinished ran again
    fresh = lab.run_grid(["gan", "pack2", "r1"], ["ring", "grid"], [0, 1], setup=setup, device="cpu")
    assert without_time(resumed) == without_time(fresh)
    assert resumed.same_rows(fresh) and not resumed.same_rows(lab.LabTable(fresh.rows[::-1], fresh.meta))
    assert len(json.loads(path.read_text().splitlines()[0])["setup"]["config"]) > 0


def _start_ray():
    reason = lab.ray_available()
    if reason is not None:
        pytest.skip(reason)
    import ray

    started = time.time()
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as error:  # Ray's own startup failure, not the lab's
        pytest.skip(f"a local Ray node did not start in {time.time() - started:.0f} s on this machine ({error}); "
                    f"Ray issue #65983: its raylet gives the dashboard agent a fixed 15 s to start, too little on a "
                    f"loaded machine")
    return ray


def test_ray_backend_gives_the_local_numbers():
    ray = _start_ray()
    try:
        setup = tiny_setup()
        on_ray = lab.run_grid(["gan", "pack2"], ["ring"], [0, 1], setup=setup, backend="ray", device="cpu")
        local = lab.run_grid(["gan", "pack2"], ["ring"], [0, 1], setup=setup, device="cpu")
        assert without_time(on_ray) == without_time(local)
    finally:
        ray.shutdown()


def test_the_pacgan_table_script_runs_at_a_small_scale(tmp_path, capsys):
    script = load_script("benchmarks/pacgan_table1.py")
    lines = script.main(["--steps", "6", "--seeds", "2", "--width-g", "8", "--width-d", "4", "--device", "cpu",
                         "--out", str(tmp_path)])
    assert sum(line.startswith("cell ") for line in lines) == 8  # 4 packings x 2 data sets, one stacked run each
    table = lab.LabTable.from_json(tmp_path / "table.json")
    assert table.fixes == ["gan", "pack2", "pack3", "pack4"] and len(table) == 16
    assert table.meta["setup"]["name"] == "pacgan" and table.meta["setup"]["config"]["simultaneous"]
    printed = capsys.readouterr().out
    assert "6.3 ± 0.5" in printed and "24.8 ± 0.2" in printed  # the paper's ring GAN and grid PacGAN4 beside ours
