"""gancourse.recorded: runs recorded by a script and read back by a chapter, with where and how they ran."""

import json

import pytest

from gancourse import recorded

ROWS = [{"fix": "plain", "seed": 0, "modes": 3}, {"fix": "plain", "seed": 1, "modes": 5},
        {"fix": "packing", "seed": 0, "modes": 9}]


def test_a_recording_comes_back_with_its_rows_and_provenance(tmp_path):
    path = recorded.save("demo", {"steps": 10}, ROWS, "cpu", seconds=125.0, command="python x.py --record",
                         directory=tmp_path)
    assert path == tmp_path / "demo.json" and sorted(p.name for p in tmp_path.iterdir()) == ["demo.json"]
    rec = recorded.load("demo", directory=tmp_path)
    assert rec.rows == ROWS and rec.meta["settings"] == {"steps": 10} and rec.meta["device"] == "cpu"
    assert rec.column("modes", fix="plain") == [3, 5] and rec.column("seed") == [0, 1, 0]
    line = rec.describe()
    assert "on cpu" in line and "in 2 min" in line and "`python x.py --record`" in line and rec.meta["date"] in line


def test_missing_fields_bad_names_and_bad_files_are_named(tmp_path):
    recorded.save("demo", {}, ROWS, "cpu", seconds=1.0, directory=tmp_path)
    rec = recorded.load("demo", directory=tmp_path)
    with pytest.raises(KeyError, match="no field 'fid'"):
        rec.column("fid")
    with pytest.raises(FileNotFoundError, match=r"no recording 'other'.*\['demo'\].*--record"):
        recorded.load("other", directory=tmp_path)
    with pytest.raises(ValueError, match="letters, digits"):
        recorded.load("../etc/passwd")
    (tmp_path / "broken.json").write_text('{"meta": {"format": 1}, "rows": [')
    with pytest.raises(ValueError, match="not a gancourse recording"):
        recorded.load("broken", directory=tmp_path)
    (tmp_path / "old.json").write_text(json.dumps({"meta": {"format": 0}, "rows": []}))
    with pytest.raises(ValueError, match="layout 0"):
        recorded.load("old", directory=tmp_path)


def test_values_that_json_cannot_hold_are_refused_and_nothing_is_left_behind(tmp_path):
    with pytest.raises(ValueError):
        recorded.save("nan", {}, [{"fid": float("nan")}], "cpu", seconds=1.0, directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


STACKED_KEYS = ("fix", "seed", "modes", "kl", "fid", "ms_per_step")


@pytest.mark.parametrize("name, keys", [("stacked_fashion", STACKED_KEYS), ("stacked_fashion_b", STACKED_KEYS),
                                        ("stacked_fashion_c", STACKED_KEYS), ("stacked_fashion_d", STACKED_KEYS),
                                        ("balancing_images", ("recipe", "seed", "fid", "final_fid", "d_loss_end"))])
def test_the_committed_recordings_hold_every_run_they_say_they_ran(name, keys):
    rec = recorded.load(name)
    settings = rec.meta["settings"]
    groups = list(settings["recipes"]) if name == "balancing_images" else settings["fixes"]
    group_key = "recipe" if name == "balancing_images" else "fix"
    assert [(r[group_key], r["seed"]) for r in rec.rows] == [(g, s) for g in groups for s in settings["seeds"]]
    assert all(key in row for row in rec.rows for key in keys)
    assert rec.meta["seconds"] > 0 and rec.meta["command"].startswith("python benchmarks/")


def test_the_stacked_recordings_together_cover_every_fix_on_the_same_set_up():
    from gancourse.fixes import FIXES

    recs = [recorded.load(name) for name in ("stacked_fashion", "stacked_fashion_b", "stacked_fashion_c",
                                             "stacked_fashion_d")]
    fixes = [fix for rec in recs for fix in rec.meta["settings"]["fixes"]]
    assert sorted(fixes) == sorted(FIXES)  # each fix once, none left out
    same = ("seeds", "steps", "width", "samples", "n_data", "n_fid", "batch_size")
    assert all(rec.meta["settings"][k] == recs[0].meta["settings"][k] for rec in recs for k in same)


def test_the_recorded_step_costs_time_every_fix_against_plain():
    import math

    from gancourse.fixes import FIXES

    rec = recorded.load("stacked_fashion_costs")
    rows = rec.rows
    assert [r["fix"] for r in rows][0] == "plain" and sorted(r["fix"] for r in rows) == sorted(FIXES)
    assert rows[0]["time_ratio"] == 1.0 and rows[0]["cpu_ratio"] == 1.0
    for r in rows:
        assert math.isclose(r["time_ratio"], r["ms_per_step"] / rows[0]["ms_per_step"], rel_tol=0.01)
        assert math.isclose(r["cpu_ratio"], r["cpu_ms_per_step"] / rows[0]["cpu_ms_per_step"], rel_tol=0.01)
    assert rec.meta["command"].startswith("python benchmarks/stacked_fashion.py --costs")
