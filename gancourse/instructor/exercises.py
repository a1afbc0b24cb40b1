"""What an exercise of a chapter is, and what breaks the pattern (the instructor's kit, README "For instructors").

An exercise is an nbgrader *answer* code cell (``solution: true``, with ``### BEGIN SOLUTION`` /
``### END SOLUTION``) followed by one or more autograded *self-check* cells (``grade: true``,
``points``, ``locked``; ``### BEGIN HIDDEN TESTS`` where a visible check would give the answer
away). :func:`exercises` finds them in a notebook; :func:`structure_problems` lists what breaks the
pattern, and the course build refuses a chapter that has any. Notebooks are ``nbformat`` nodes or
plain dicts of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


@dataclass(frozen=True)
class Exercise:
    """One exercise of a chapter: its answer cell and the self-check cells that grade it (cell indices)."""

    grade_id: str
    answer_cell: int
    check_cells: tuple[int, ...]
    points: float


def nbgrader_metadata(cell: Any) -> dict[str, Any]:
    """The cell's ``nbgrader`` metadata (empty for a cell nbgrader does not manage)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def is_answer(cell: Any) -> bool:
    """An nbgrader answer cell (``solution: true``): stripped in the student version."""
    return bool(nbgrader_metadata(cell).get("solution"))


def is_self_check(cell: Any) -> bool:
    """An autograded test cell (``grade: true``, ``solution: false``, code): kept, locked, in the student version."""
    meta = nbgrader_metadata(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def exercises(nb: Any) -> list[Exercise]:
    """The exercises of notebook ``nb`` (an ``nbformat`` notebook): each answer code cell with the self-checks after it.

    The self-checks of an answer are the code cells that follow it, up to the next code cell
    that is not a self-check (markdown cells in between are skipped). An answer with none gets
    an empty ``check_cells``; :func:`structure_problems` reports it.
    """
    cells = nb["cells"]
    found = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code" or not is_answer(cell):
            continue
        checks = []
        for j in range(i + 1, len(cells)):
            if cells[j]["cell_type"] != "code":
                continue
            if not is_self_check(cells[j]):
                break
            checks.append(j)
        points = sum(float(nbgrader_metadata(cells[j]).get("points") or 0) for j in checks)
        found.append(Exercise(nbgrader_metadata(cell).get("grade_id", f"cell {i}"), i, tuple(checks), points))
    return found


def structure_problems(nb: Any) -> list[str]:
    """What in ``nb`` breaks the course's exercise pattern (see the module docstring); empty when none.

    Checked: every nbgrader cell has schema version 3 and a unique ``grade_id``; an answer code
    cell marks its solution with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` and is followed by
    a self-check; a self-check is locked, has points, is preceded by an answer, and balances its
    hidden-test markers; a graded markdown answer has points.
    """
    problems = []
    seen: dict[str, int] = {}
    checked = {j for exercise in exercises(nb) for j in exercise.check_cells}
    for i, cell in enumerate(nb["cells"]):
        meta = nbgrader_metadata(cell)
        if not meta:
            continue
        where = f"cell {i} ({meta.get('grade_id', 'no grade_id')})"
        grade_id = meta.get("grade_id")
        if not grade_id:
            problems.append(f"{where}: nbgrader cell without a grade_id")
        elif grade_id in seen:
            problems.append(f"{where}: grade_id also used by cell {seen[grade_id]}")
        else:
            seen[grade_id] = i
        if meta.get("schema_version") != 3:
            problems.append(f"{where}: nbgrader schema_version {meta.get('schema_version')!r}, expected 3")
        source = cell["source"]
        if cell["cell_type"] == "code" and is_answer(cell):
            begin, end = source.find(BEGIN_SOLUTION), source.find(END_SOLUTION)
            if begin < 0 or end < begin or source.count(BEGIN_SOLUTION) != source.count(END_SOLUTION):
                problems.append(f"{where}: answer cell without one {BEGIN_SOLUTION} ... {END_SOLUTION} region")
        if is_self_check(cell):
            if not meta.get("locked"):
                problems.append(f"{where}: self-check not locked (a learner could edit it)")
            if not meta.get("points"):
                problems.append(f"{where}: self-check without points")
            if i not in checked:
                problems.append(f"{where}: self-check that follows no answer cell")
            if source.count(BEGIN_HIDDEN) != source.count(END_HIDDEN):
                problems.append(f"{where}: unbalanced {BEGIN_HIDDEN} / {END_HIDDEN}")
        if cell["cell_type"] == "markdown" and meta.get("solution") and meta.get("grade") and not meta.get("points"):
            problems.append(f"{where}: graded answer without points")
    for exercise in exercises(nb):
        if not exercise.check_cells:
            problems.append(f"cell {exercise.answer_cell} ({exercise.grade_id}): answer cell with no self-check "
                            f"after it")
    return problems
