"""requirements-instructor.txt: learners' requirements plus the instructor tools, each pinned exactly."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_instructor_requirements_extend_the_learners_and_pin_every_tool():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements-instructor.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert lines[0] == "-r requirements.txt"
    pins = dict(re.fullmatch(r"([A-Za-z0-9_.\-]+)==([\w.]+)", line).groups() for line in lines[1:])
    assert pins["jupyter-book"].startswith("1.")  # Jupyter Book 2 / mystmd fetch their theme at build time
    assert {"nbgrader", "jupyter-book", "sphinx", "myst-nb", "playwright"} <= set(pins)
