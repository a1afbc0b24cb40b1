"""``python -m gancourse.instructor``: build the nbgrader course and the student versions of the chapters."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gancourse.instructor.course import CHAPTERS, DEFAULT_COURSE, ROOT, build_course, chapter_paths
from gancourse.instructor.exercises import exercises


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gancourse.instructor",
                                     description="Build the nbgrader course and the student versions of the chapters.")
    parser.add_argument("chapters", nargs="*", help="chapter numbers (03), stems or paths; default: every chapter")
    parser.add_argument("--course", type=Path, default=DEFAULT_COURSE,
                        help=f"the course folder (default {DEFAULT_COURSE.relative_to(ROOT)}, ignored by git)")
    args = parser.parse_args(argv)
    try:
        paths = chapter_paths(args.chapters)
    except ValueError as error:
        parser.error(str(error))
    if not paths:
        parser.error(f"no chapters found in {CHAPTERS}")
    start = time.perf_counter()
    import nbformat

    try:
        released = build_course(paths, args.course)
    except (ValueError, ImportError) as error:  # a chapter that breaks the exercise pattern; nbgrader missing
        print(f"python -m gancourse.instructor: {error}", file=sys.stderr)
        return 2
    print(f"course folder: {args.course}")
    for path in paths:
        found = exercises(nbformat.read(path, as_version=4))
        points = sum(exercise.points for exercise in found)
        print(f"  {path.stem}: {len(found)} exercises, {points:g} points -> {released[path.stem]}")
    print(f"built {len(paths)} student versions in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
