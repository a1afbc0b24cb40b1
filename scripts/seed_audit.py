"""Run the chapters under other base seeds and list every check cell that fails: do the margins hold beyond seed 0?

Usage::

    python scripts/seed_audit.py                          # every chapter, base seeds 1, 2, 3
    python scripts/seed_audit.py chapters/03_mode_collapse.ipynb --seeds 1 2 3 4 5 --jobs 2

Every experiment of a chapter derives its seeds from ``GANCOURSE_SEED`` (``gancourse.runtime.seed``),
so one variable re-runs a whole chapter with other seeds. Each (chapter, base seed) pair runs in
its own process and fresh kernel, with ``GANCOURSE_SEED`` set, ``OMP_NUM_THREADS=1`` (so that
parallel jobs do not fight over cores) and the working directory ``chapters/``, at the budget of the
environment (or ``--budget``); at most ``--jobs`` at a time. Execution goes on after a failing cell,
so every failing check is found, not only the first. Nothing is written: the notebooks on disk stay
as they are.

Prints, per chapter and seed, the failing check cells (cell index and the check's message) and any
other cell that raised; then a summary. Exits 1 if any check failed or any cell raised, else 0. At the
smoke budget checks do not assert; those that would have failed are listed for information only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_FAILED = "check failed: "  # what gancourse.checks.check raises with
WOULD_FAIL = "check NOT asserted at the smoke budget (it would fail): "  # what it prints instead at the smoke budget


def audit_one(path: Path, timeout: int) -> dict:
    """Execute ``path`` in a fresh kernel (this process's environment), keep going after errors, report the errors.

    Returns ``{"failed": [(cell, message)], "errors": [(cell, "Name: value")], "passed": n, "seconds": s,
    "would_fail": [(cell, message)]}`` (the last only at the smoke budget, where checks do not assert).
    """
    import nbformat

    from gancourse.instructor.kernels import execute_notebook

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    execute_notebook(nb, path.parent, timeout, allow_errors=True)  # private sockets: audits run in parallel
    report = {"failed": [], "errors": [], "passed": 0, "seconds": time.perf_counter() - start, "would_fail": []}
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = output.get("text", "")
                report["passed"] += text.count("check passed:")
                report["would_fail"] += [(index, line[len(WOULD_FAIL):]) for line in text.splitlines()
                                         if line.startswith(WOULD_FAIL)]
            if output.get("output_type") != "error":
                continue
            value = str(output.get("evalue", ""))
            if output.get("ename") == "AssertionError" and value.startswith(CHECK_FAILED):
                report["failed"].append((index, value[len(CHECK_FAILED):]))
            else:
                report["errors"].append((index, f"{output.get('ename')}: {value}"))
    return report


def run_job(path: Path, seed: int, budget: str | None, timeout: int) -> dict:
    """:func:`audit_one` for ``path`` under base seed ``seed``, in a child process with its own environment."""
    env = {**os.environ, "GANCOURSE_SEED": str(seed), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if budget is not None:
        env["GANCOURSE_BUDGET"] = budget
    child = subprocess.run([sys.executable, __file__, "--one", str(path), "--timeout", str(timeout)],
                           env=env, capture_output=True, text=True)
    lines = child.stdout.strip().splitlines()
    if child.returncode != 0 or not lines:
        tail = (child.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"failed": [], "errors": [(-1, f"the notebook could not be run: {tail}")], "passed": 0, "seconds": 0.0}
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapters/NN_*.ipynb")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="base seeds (default: 1 2 3)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="notebooks run at once")
    parser.add_argument("--budget", choices=("smoke", "default", "full"), default=None,
                        help="GANCOURSE_BUDGET for the runs (default: the environment's)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell (default 1200)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # internal: run one notebook, print JSON
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(audit_one(args.one.resolve(), args.timeout)))
        return 0
    if args.jobs < 1 or any(seed < 0 for seed in args.seeds):
        parser.error("--jobs must be >= 1 and base seeds >= 0")
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    jobs = [(path, seed) for path in paths for seed in args.seeds]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each job is a child process; threads only wait
        reports = pool.map(lambda job: run_job(*job, args.budget, args.timeout), jobs)  # in order, as they end
        n_failed, n_errors = _print_reports(jobs, reports)
    print(f"seed audit: {n_failed} failed check(s), {n_errors} other error(s) in {len(jobs)} run(s) "
          f"({len(paths)} notebook(s) x base seeds {', '.join(map(str, args.seeds))})")
    return 1 if n_failed or n_errors else 0


def _print_reports(jobs: list, reports) -> tuple[int, int]:
    """Print each run's verdict as soon as it is known (a long audit shows its progress); return the totals."""
    n_failed = n_errors = 0
    for (path, seed), report in zip(jobs, reports, strict=True):
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        failed, errors = report["failed"], report["errors"]
        n_failed, n_errors = n_failed + len(failed), n_errors + len(errors)
        verdict = "ok" if not (failed or errors) else f"{len(failed)} check(s) failed, {len(errors)} other error(s)"
        print(f"{name} GANCOURSE_SEED={seed}: {verdict} ({report['passed']} checks passed, "
              f"{report['seconds']:.0f} s)")
        for cell, message in failed:
            print(f"    cell {cell}: check failed: {message}")
        for cell, message in errors:
            print(f"    cell {cell}: {message}")
        for cell, message in report.get("would_fail", []):  # smoke budget: numbers mean nothing, so no verdict
            print(f"    cell {cell}: not asserted at the smoke budget, would fail: {message}")
        sys.stdout.flush()
    return n_failed, n_errors


if __name__ == "__main__":
    sys.exit(main())
