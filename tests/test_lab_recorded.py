"""The lab grid recorded for chapter 09 (benchmarks/lab_grid.py): the chapter resumes from it and trains nothing."""

import importlib.util
import shutil
from pathlib import Path

import pytest

from gancourse import lab, recorded, runtime

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "lab_grid.py"


def _script():
    spec = importlib.util.spec_from_file_location("lab_grid", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def default_budget(monkeypatch):
    monkeypatch.delenv("GANCOURSE_BUDGET", raising=False)
    monkeypatch.delenv("GANCOURSE_SEED", raising=False)


def test_the_script_writes_a_store_that_run_grid_resumes(tmp_path, default_budget, capsys):
    store = tmp_path / "grid.jsonl"
    table = _script().main(["--fixes", "gan", "--seeds", "2", "--device", "cpu", "--store", str(store)])
    assert table.fixes == ["gan"] and len(table) == 4 and store.exists()
    trained = []
    again = lab.run_grid(["gan"], ["ring", "grid"], seeds=runtime.seeds(2), setup=lab.mlp_setup(), store=store,
                         device="cpu", on_cell=trained.append)
    assert trained == [] and again.same_rows(table)
    assert "cell gan on ring done" in capsys.readouterr().out


def test_chapter_09_reads_the_costly_fixes_from_the_recording_without_training(tmp_path, default_budget):
    costly = _script().COSTLY
    store = tmp_path / "grid.jsonl"
    shutil.copy(recorded.store_path("lab_costly"), store)
    trained = []
    table = lab.run_grid(costly, ["ring", "grid"], seeds=runtime.seeds(8), setup=lab.mlp_setup(), store=store,
                         device="cpu", on_cell=trained.append)
    assert trained == [] and table.fixes == costly and len(table) == len(costly) * 2 * 8
    assert all(isinstance(row["modes"], int) and 0 <= row["modes"] <= 25 for row in table.rows)
    meta = recorded.store_meta("lab_costly")
    assert meta["budget"] == "default" and meta["setup"] == lab.mlp_setup().spec()


@pytest.mark.slow
def test_a_recorded_cell_is_what_the_code_trains_today(tmp_path, default_budget):
    # the cheapest costly fix, retrained: same seeds, same set-up; modes are integers, so compare them seed by seed
    store = tmp_path / "grid.jsonl"
    table = lab.run_grid(["minibatch_stddev"], ["ring"], seeds=runtime.seeds(8), setup=lab.mlp_setup(), store=store,
                         device="cpu")
    shutil.copy(recorded.store_path("lab_costly"), tmp_path / "rec.jsonl")
    rec = lab.run_grid(["minibatch_stddev"], ["ring"], seeds=runtime.seeds(8), setup=lab.mlp_setup(),
                       store=tmp_path / "rec.jsonl", device="cpu")
    ours, theirs = ([r["modes"] for r in t.rows] for t in (table, rec))
    assert sum(a == b for a, b in zip(ours, theirs, strict=True)) >= 7, (ours, theirs)
