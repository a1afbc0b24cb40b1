"""The instructor's kit: an nbgrader course built from ``chapters/``, with a student version of every chapter.

Run from the repository root (README, "For instructors")::

    python -m gancourse.instructor                 # every chapters/NN_*.ipynb -> build/course/
    python -m gancourse.instructor 03 05           # only chapters 03 and 05
    python -m gancourse.instructor --course DIR    # another course folder

Each chapter becomes one nbgrader assignment named after its file (``03_mode_collapse``):
``source/<assignment>/<assignment>.ipynb`` is the chapter as committed (the instructor
version, solutions in), ``release/<assignment>/<assignment>.ipynb`` the student version
that ``nbgrader generate_assignment`` makes from it (solutions replaced by a stub that
raises ``NotImplementedError``, self-checks kept and locked, hidden tests removed, outputs
cleared). The folder also gets a generated ``nbgrader_config.py`` and nbgrader's
``gradebook.db``; a rebuild refreshes ``source/`` and ``release/`` and leaves submissions,
grades and the gradebook alone.

- :mod:`~gancourse.instructor.exercises`: what an exercise is (an answer cell, then self-checks) and
  what breaks the pattern;
- :mod:`~gancourse.instructor.course`: the nbgrader course folder and the student versions;
- :mod:`~gancourse.instructor.checks`: a student version run top to bottom, an instructor version
  autograded (what ``tests/test_student_versions.py`` asserts on every chapter);
- :mod:`~gancourse.instructor.kernels`: the kernels those runs start, on private sockets, and a
  deadline for a whole run.

nbgrader is an instructor tool, not a learner's (``requirements-instructor.txt``): it is imported
only when a course is built or graded. Importing this package imports nothing heavy.
"""

from gancourse.instructor.checks import (
    Score,
    autograde,
    autograde_instructor_version,
    check_student_version,
    run_student_version,
    student_version_problems,
)
from gancourse.instructor.course import CHAPTERS, DEFAULT_COURSE, build_course, chapter_paths, nbgrader_api
from gancourse.instructor.exercises import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    Exercise,
    exercises,
    is_answer,
    is_self_check,
    structure_problems,
)

__all__ = [
    "BEGIN_HIDDEN", "BEGIN_SOLUTION", "CHAPTERS", "DEFAULT_COURSE", "END_HIDDEN", "END_SOLUTION", "Exercise", "Score",
    "autograde", "autograde_instructor_version", "build_course", "chapter_paths", "check_student_version",
    "exercises", "is_answer", "is_self_check", "nbgrader_api", "run_student_version", "structure_problems",
    "student_version_problems",
]
