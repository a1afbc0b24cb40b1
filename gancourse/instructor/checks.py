"""A chapter checked as an instructor uses it: the student version run top to bottom, the instructor version autograded.

``tests/test_student_versions.py`` runs both on every chapter at the ``smoke`` budget (structure, not
numbers); a chapter author can call them on one chapter (``pytest tests/test_student_versions.py -k 03``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gancourse.instructor.course import CELL_TIMEOUT_S, build_course, nbgrader_api
from gancourse.instructor.exercises import is_answer, is_self_check, nbgrader_metadata
from gancourse.instructor.kernels import execute_notebook, ipc_settings, private_socket_folder, quiet_output_widgets


@contextlib.contextmanager
def _environment(**variables: str) -> Iterator[None]:
    """Set environment variables for the kernels started inside the block (they inherit ``os.environ``)."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


KERNEL_ENVIRONMENT = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Checks run two kernels at once on two cores: one thread each, so torch's threads do not spin against each other."""


def run_student_version(student_path: Path, budget: str = "smoke", timeout: int = CELL_TIMEOUT_S) -> Any:
    """Execute the student version ``student_path`` top to bottom, past every error; return the executed notebook.

    Runs in a fresh ``python3`` kernel (on private sockets: :mod:`gancourse.instructor.kernels`) in the
    notebook's folder, at ``budget`` (``GANCOURSE_BUDGET``; ``smoke`` checks structure in seconds).
    Cells that fail keep their ``error`` output, as in JupyterLab.
    """
    import nbformat

    nb = nbformat.read(student_path, as_version=4)
    with _environment(GANCOURSE_BUDGET=budget, **KERNEL_ENVIRONMENT):
        return execute_notebook(nb, Path(student_path).parent, timeout, allow_errors=True)


def error_output(cell: Any) -> dict[str, Any] | None:
    """The first ``error`` output of an executed cell, or None."""
    return next((out for out in cell.get("outputs", []) if out["output_type"] == "error"), None)


def _describe(error: dict[str, Any]) -> str:
    return f"{error['ename']}: {error['evalue'][:200]}"


def student_version_problems(executed: Any) -> list[str]:
    """What is wrong with an executed student version (see :func:`run_student_version`); empty when nothing.

    A student version must fail exactly where an exercise is left undone: each stripped answer
    cell may raise only the stub's ``NotImplementedError``; each self-check must fail (a stripped
    solution must not pass); every other cell must run (a cell outside an exercise must not read
    what only a solution defines), unless it is tagged ``raises-exception``.
    """
    problems = []
    for i, cell in enumerate(executed["cells"]):
        if cell["cell_type"] != "code":
            continue
        error = error_output(cell)
        grade_id = nbgrader_metadata(cell).get("grade_id", "")
        if is_answer(cell):
            if error and error["ename"] != "NotImplementedError":
                problems.append(f"cell {i} ({grade_id}): the stripped answer cell fails before its stub: "
                                f"{_describe(error)}")
        elif is_self_check(cell):
            if not error:
                problems.append(f"cell {i} ({grade_id}): the self-check passes with the solution stripped")
        elif error and "raises-exception" not in cell.get("metadata", {}).get("tags", []):
            first = cell["source"].strip().splitlines()[0][:80] if cell["source"].strip() else ""
            problems.append(f"cell {i} (not an exercise: `{first}`) fails in the student version: {_describe(error)}")
    return problems


@dataclass(frozen=True)
class Score:
    """nbgrader's automatic score of one self-check of a submission, with the error that lost the points."""

    score: float
    max_score: float
    error: str = ""


def autograde(course: Path, assignment: str, student: str, budget: str | None = None) -> dict[str, Score]:
    """Run ``nbgrader autograde`` for one submission in ``course``; return each self-check's score by grade_id.

    The submission must be in ``course/submitted/<student>/<assignment>/``. ``budget`` sets
    ``GANCOURSE_BUDGET`` for the grading kernel (None: as the environment says). Raises
    ``RuntimeError`` with nbgrader's log when nbgrader itself fails.
    """
    import nbformat

    course = Path(course).resolve()
    variables = dict(KERNEL_ENVIRONMENT, **({"GANCOURSE_BUDGET": budget} if budget else {}))
    with _environment(**variables), private_socket_folder() as sockets, quiet_output_widgets():
        result = nbgrader_api(course, kernel=ipc_settings(sockets)).autograde(assignment, student, force=True,
                                                                             create=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader autograde {assignment} {student} failed:\n{result.get('error', '')}\n"
                           f"{result.get('log', '')}")
    errors = {}
    for path in (course / "autograded" / student / assignment).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            error = error_output(cell)
            if error and nbgrader_metadata(cell).get("grade_id"):
                errors[nbgrader_metadata(cell)["grade_id"]] = _describe(error)

    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.cell.cell_type == "code":  # autograded; markdown answers are graded by hand
                    scores[grade.name] = Score(grade.auto_score or 0.0, grade.max_score, errors.get(grade.name, ""))
    return scores


def check_student_version(chapter: Path, course: Path, budget: str = "smoke") -> list[str]:
    """Build ``chapter``'s student version in ``course``, execute it at ``budget``, and list what is wrong with it.

    See :func:`student_version_problems`; empty when the student version fails exactly at its exercises.
    """
    released = build_course([Path(chapter)], Path(course))[Path(chapter).stem]
    return student_version_problems(run_student_version(released, budget=budget))


def autograde_instructor_version(chapter: Path, course: Path, student: str = "instructor",
                                 budget: str = "smoke") -> dict[str, Score]:
    """Submit ``chapter`` as it is (solutions in) to the course ``course`` as ``student`` and autograde it.

    ``course`` should be a throw-away folder. Returns each self-check's score (see :func:`autograde`):
    an instructor version must get full marks.
    """
    chapter, course = Path(chapter), Path(course)
    build_course([chapter], course)
    submitted = course / "submitted" / student / chapter.stem
    submitted.mkdir(parents=True, exist_ok=True)
    shutil.copy2(chapter, submitted / chapter.name)
    return autograde(course, chapter.stem, student, budget=budget)
