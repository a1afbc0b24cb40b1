"""scripts/seed_audit.py runs a notebook under several base seeds in parallel and lists every failing check cell."""

import nbformat
import pytest
from script_loader import load_script


def load():
    return load_script("scripts/seed_audit.py")


CELLS = [
    "from gancourse import runtime\nfrom gancourse.checks import check\nimport os\nbase = runtime.base_seed()",
    'check(os.environ["OMP_NUM_THREADS"] == "1", "one thread per job")',
    # a margin that holds for the committed seed but not for base seed 2: the audit's reason to exist
    'margin = 0.5 if base == 2 else 2.0\ncheck(margin > 1.0, f"margin {margin} > 1 (base seed {base})")',
    'check(True, "a later check still runs after a failed one")',
    "1 / (base - 3)  # another kind of error, for base seed 3",
]


@pytest.fixture
def fixture_notebook(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "fixture.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_audit_lists_the_failing_check_per_seed_and_exits_non_zero(fixture_notebook, capsys):
    before = fixture_notebook.read_bytes()
    code = load().main([str(fixture_notebook), "--seeds", "1", "2", "3", "--jobs", "3", "--budget", "default"])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    seed_1 = next(line for line in lines if "GANCOURSE_SEED=1:" in line)
    seed_2 = next(line for line in lines if "GANCOURSE_SEED=2:" in line)
    seed_3 = next(line for line in lines if "GANCOURSE_SEED=3:" in line)
    assert "ok (3 checks passed" in seed_1
    assert "1 check(s) failed, 0 other error(s) (2 checks passed" in seed_2
    assert "    cell 2: check failed: margin 0.5 > 1 (base seed 2)" in lines
    assert "0 check(s) failed, 1 other error(s)" in seed_3
    assert "    cell 4: ZeroDivisionError: division by zero" in lines
    assert lines[-1].startswith("seed audit: 1 failed check(s), 1 other error(s) in 3 run(s)")
    assert fixture_notebook.read_bytes() == before  # nothing written


def test_the_audit_exits_zero_when_every_check_holds(fixture_notebook, capsys):
    assert load().main([str(fixture_notebook), "--seeds", "0", "1", "--jobs", "2", "--budget", "default"]) == 0
    assert "seed audit: 0 failed check(s), 0 other error(s) in 2 run(s)" in capsys.readouterr().out


def test_the_audit_refuses_a_missing_notebook(tmp_path):
    with pytest.raises(SystemExit):
        load().main([str(tmp_path / "nowhere.ipynb")])
