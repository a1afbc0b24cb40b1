"""Every chapter's exercises, as an instructor hands them out and grades them (nbgrader, via gancourse.instructor).

For each chapter ``chapters/NN_*.ipynb`` (found by glob, so a chapter is tested as soon as it lands):

- its exercises follow the pattern (an answer cell with a solution region, then locked self-checks with points);
- the student version that ``nbgrader generate_assignment`` makes has no solutions, hidden tests or
  outputs, and the same self-checks;
- the student version, executed top to bottom, fails only where it should: each stripped answer cell
  raises the stub's ``NotImplementedError``, each self-check fails (a stripped solution must not pass)
  and no other cell fails (no cell outside an exercise may read what only a solution defines);
- the instructor version, submitted as it is, is autograded by ``nbgrader autograde`` to full marks.

Notebooks run at the ``smoke`` budget (structure, not numbers: nbval runs the chapters at the default
budget) in worker processes (``WORKERS``), one thread each, each within ``JOB_TIMEOUT_S``. One chapter:
``pytest tests/test_student_versions.py -k 03``. Needs the instructor requirements
(``requirements-instructor.txt``); skipped without nbgrader.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

try:
    import nbgrader  # noqa: F401
except ImportError:
    if os.environ.get("GANCOURSE_REQUIRE_INSTRUCTOR_TOOLS") == "1":  # set by .ci/run: there these tests must run
        raise
    pytest.skip("nbgrader is an instructor tool: pip install -r requirements-instructor.txt", allow_module_level=True)

import nbformat  # noqa: E402 (after the skip: nbgrader brings it)
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402

from gancourse import instructor  # noqa: E402
from gancourse.instructor import kernels  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own ORM use

WORKERS = 1 if os.environ.get("PYTEST_XDIST_WORKER") else 2
"""Chapters executed at once, each kernel on one thread: one beside the other pytest-xdist process on CI's two
cores (pyproject.toml runs two), two when the suite runs in one process (``-n 0``)."""

JOB_TIMEOUT_S = 900
"""Seconds one chapter's run may take (smoke budget: about a minute on two loaded cores). A run past it
raises TimeoutError: a kernel stopped answering (a CI run once waited on one until it was killed)."""

KNOWN_FAILURES: dict[tuple[str, str], str] = {}
"""(test, chapter stem) -> why it fails today; xfail(strict=False), so the chapter's fix turns it into a pass."""


def _params(test: str) -> list:
    params = []
    for path in instructor.chapter_paths():
        reason = KNOWN_FAILURES.get((test, path.stem))
        marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


JOBS = {"test_the_student_version_fails_only_at_each_self_check": instructor.check_student_version,
        "test_the_instructor_version_autogrades_to_full_marks": instructor.autograde_instructor_version}


@pytest.fixture(scope="module", autouse=True)
def runs(request, tmp_path_factory):
    """The chapter executions the selected tests need, started with the module's first test, ``WORKERS`` at a time.

    Keyed by (test name, chapter path); each test waits for its own, while the tests before it run.
    Workers are spawned (fresh interpreters importing only gancourse.instructor), not forked from a test
    process that may hold a browser and a web server from tests/site.
    """
    pool = ProcessPoolExecutor(min(WORKERS, os.cpu_count() or 1), mp_context=multiprocessing.get_context("spawn"))
    futures = {}
    for item in request.session.items:
        name = getattr(item, "originalname", None)
        if getattr(item, "module", None) is request.module and name in JOBS:
            chapter = item.callspec.params["chapter"]
            course = tmp_path_factory.mktemp(f"{name.split('_')[2]}-{chapter.stem}")
            futures[name, chapter] = pool.submit(kernels.within, JOB_TIMEOUT_S, JOBS[name], chapter, course)
    yield futures
    pool.shutdown(cancel_futures=True)


def _result(runs, test: str, chapter: Path, tmp_path: Path):
    """The job's result; a run whose kernel hung is run once more here, with a warning that says so."""
    try:
        return runs[test, chapter].result()
    except TimeoutError as hang:
        warnings.warn(f"{chapter.stem}: {hang}; running it once more", stacklevel=2)
        return kernels.within(JOB_TIMEOUT_S, JOBS[test], chapter, tmp_path / "again")


@pytest.mark.parametrize("chapter", _params("structure"))
def test_exercises_follow_the_pattern(chapter: Path):
    nb = nbformat.read(chapter, as_version=4)
    assert instructor.exercises(nb), "a chapter ends with exercises (COURSE.md); this one has none"
    assert instructor.structure_problems(nb) == []


@pytest.mark.parametrize("chapter", _params("stripped"))
def test_the_student_version_strips_solutions_and_keeps_the_self_checks(chapter: Path, tmp_path: Path):
    student_path = instructor.build_course([chapter], tmp_path)[chapter.stem]
    source, student = nbformat.read(chapter, as_version=4), nbformat.read(student_path, as_version=4)
    assert len(student.cells) == len(source.cells)
    for i, (cell, stripped) in enumerate(zip(source.cells, student.cells, strict=True)):
        assert stripped.get("outputs", []) == [], f"cell {i}: the student version keeps outputs (they may show answers)"
        assert instructor.BEGIN_SOLUTION not in stripped.source, f"cell {i}: solution left in the student version"
        assert instructor.BEGIN_HIDDEN not in stripped.source, f"cell {i}: hidden tests left in the student version"
        if cell.cell_type == "code" and instructor.is_answer(cell):
            assert "raise NotImplementedError()" in stripped.source, f"cell {i}: no stub where the solution was"
        if instructor.is_self_check(cell):
            visible = cell.source
            while instructor.BEGIN_HIDDEN in visible:  # what a learner sees of a self-check: all but hidden tests
                head, rest = visible.split(instructor.BEGIN_HIDDEN, 1)
                visible = head + rest.split(instructor.END_HIDDEN, 1)[1]
            assert stripped.source.strip() == visible.strip(), f"cell {i}: the self-check changed"
            assert stripped.metadata["nbgrader"]["locked"], f"cell {i}: the self-check is not locked"
    assert [e.grade_id for e in instructor.exercises(student)] == [e.grade_id for e in instructor.exercises(source)]


@pytest.mark.parametrize("chapter", _params("student"))
def test_the_student_version_fails_only_at_each_self_check(chapter: Path, runs, tmp_path: Path):
    assert _result(runs, "test_the_student_version_fails_only_at_each_self_check", chapter, tmp_path) == []


@pytest.mark.parametrize("chapter", _params("autograde"))
def test_the_instructor_version_autogrades_to_full_marks(chapter: Path, runs, tmp_path: Path):
    scores = _result(runs, "test_the_instructor_version_autogrades_to_full_marks", chapter, tmp_path)
    cells = nbformat.read(chapter, as_version=4).cells
    assert set(scores) == {cell.metadata.nbgrader.grade_id for cell in cells if instructor.is_self_check(cell)}
    assert {name: score for name, score in scores.items() if score.score != score.max_score} == {}


# The checks themselves, on a made-up chapter with the faults they must catch.

def _answer(source: str, grade_id: str):
    return new_code_cell(source, metadata={"nbgrader": {"solution": True, "grade": False, "locked": False,
                                                        "grade_id": grade_id, "schema_version": 3}})


def _self_check(source: str, grade_id: str, points: float = 1, locked: bool = True):
    return new_code_cell(source, metadata={"nbgrader": {"solution": False, "grade": True, "locked": locked,
                                                        "points": points, "grade_id": grade_id,
                                                        "schema_version": 3}})


def _made_up_chapter(folder: Path) -> Path:
    nb = new_notebook(cells=[
        new_markdown_cell("# 99 A made-up chapter"),
        new_code_cell("x = 1"),
        _answer("### BEGIN SOLUTION\ny = x + 1\n### END SOLUTION", "ex1"),
        _self_check("assert x == 1  # checks nothing the learner wrote: passes without the solution", "ex1_check"),
        new_code_cell("print(y)  # not an exercise, reads what only ex1's solution defines"),
        _answer("### BEGIN SOLUTION\nz = 3\n### END SOLUTION", "ex2"),
        _self_check("assert z == 3\n### BEGIN HIDDEN TESTS\nassert z == 4  # wrong on purpose\n"
                    "### END HIDDEN TESTS", "ex2_check", points=2),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = folder / "99_made_up.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_checks_catch_a_self_check_without_teeth_and_a_cell_that_needs_a_solution(tmp_path: Path):
    chapter = _made_up_chapter(tmp_path)
    problems = instructor.check_student_version(chapter, tmp_path / "course")
    assert len(problems) == 2, problems
    assert problems[0].startswith("cell 3 (ex1_check): the self-check passes with the solution stripped")
    assert problems[1].startswith("cell 4 (not an exercise") and "NameError" in problems[1]


def test_autograding_finds_the_points_a_wrong_hidden_test_loses(tmp_path: Path):
    chapter = _made_up_chapter(tmp_path)
    scores = instructor.autograde_instructor_version(chapter, tmp_path / "course")
    assert scores["ex1_check"] == instructor.Score(1.0, 1.0)
    assert (scores["ex2_check"].score, scores["ex2_check"].max_score) == (0.0, 2.0)
    assert scores["ex2_check"].error.startswith("AssertionError")


def test_structure_problems_name_each_broken_cell(tmp_path: Path):
    nb = new_notebook(cells=[
        _answer("y = 1  # no solution region", "ex1"),
        _self_check("assert y == 1", "ex1_check", locked=False),
        _answer("### BEGIN SOLUTION\nz = 1\n### END SOLUTION", "ex1"),  # same grade_id, and no self-check after it
        new_code_cell("print(z)"),
        _self_check("assert z == 1", "lonely_check", points=0),
    ])
    problems = instructor.structure_problems(nb)
    assert problems == [
        "cell 0 (ex1): answer cell without one ### BEGIN SOLUTION ... ### END SOLUTION region",
        "cell 1 (ex1_check): self-check not locked (a learner could edit it)",
        "cell 2 (ex1): grade_id also used by cell 0",
        "cell 4 (lonely_check): self-check without points",
        "cell 4 (lonely_check): self-check that follows no answer cell",
        "cell 2 (ex1): answer cell with no self-check after it",
    ]
    nbformat.write(nb, tmp_path / "98_broken.ipynb")
    with pytest.raises(ValueError, match="98_broken.ipynb: cell 4 .lonely_check.: self-check without points"):
        instructor.build_course([tmp_path / "98_broken.ipynb"], tmp_path / "course")
    assert not (tmp_path / "course").exists()  # refused before writing anything


def test_the_command_builds_a_course_and_refuses_a_broken_chapter(tmp_path: Path, capsys):
    from gancourse.instructor.__main__ import main

    chapter = _made_up_chapter(tmp_path)
    assert main([str(chapter), "--course", str(tmp_path / "course")]) == 0
    out = capsys.readouterr().out
    assert "99_made_up: 2 exercises, 3 points" in out
    assert (tmp_path / "course" / "release" / "99_made_up" / "99_made_up.ipynb").exists()
    broken = nbformat.read(chapter, as_version=4)
    broken.cells[3].metadata.nbgrader["locked"] = False
    nbformat.write(broken, tmp_path / "98_broken.ipynb")
    assert main([str(tmp_path / "98_broken.ipynb"), "--course", str(tmp_path / "course")]) == 2
    assert "98_broken.ipynb: cell 3 (ex1_check): self-check not locked" in capsys.readouterr().err
