"""Mutation testing of gancourse's numeric core with mutmut: the share of mutants the unit tests kill, per module.

Runs outside CI (it takes long). For each module it mutates (mutmut 3, pinned in
``benchmarks/mutation/requirements.txt``), only that module's own unit tests run (``MODULES``
below), never the notebooks. Everything happens in a scratch copy of the repository, so the
working tree is never touched:

    python benchmarks/mutation/run.py                                  # every core module
    python benchmarks/mutation/run.py --module gancourse/training/steps.py      # one module (repeatable)
    python benchmarks/mutation/run.py --module gancourse/training/steps.py --sample 60   # 60 mutants of it
    python benchmarks/mutation/run.py --rev HEAD~3 --label before      # the code and tests of a commit
    python benchmarks/mutation/run.py --render                         # REPORT.md from results/*.json

Results go to ``benchmarks/mutation/results/<label>.json`` (merged module by module, so one
module can be re-run alone) and ``REPORT.md`` is rendered from every results file. Survivors
listed in ``explained.toml`` (equivalent mutants, deliberate tolerances, unreachable defensive
code) are marked as explained; every other survivor is listed as unexplained.

What the scratch copy changes, and why:

* ``raise`` statements are not mutated (mutmut's ``do_not_mutate_patterns``): their messages are
  the robust input checks' business (``tests/test_bad_inputs*.py``); the conditions that lead to
  them are mutated.
* mutmut 3 does not mutate decorated functions. A function whose only decorator is
  ``@torch.no_grad()`` is rewritten to the same function with its body inside
  ``with torch.no_grad():``, so that ``metrics.modes._scores``, ``count_objects``, ``clip_weights_``
  and the like are mutated too.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

# module -> the unit tests that pin it down (robust's tests/test_bad_inputs*.py join every module)
MODULES: dict[str, list[str]] = {
    "gancourse/losses.py": ["tests/test_losses.py"],
    "gancourse/regularizers.py": ["tests/test_regularizers.py"],
    # the second-order unrolled step and feature matching's G step have their own test files
    "gancourse/training/steps.py": ["tests/test_training.py", "tests/test_seeds.py", "tests/test_unrolled.py",
                           "tests/test_feature_matching.py"],
    "gancourse/training/loop.py": ["tests/test_training.py", "tests/test_seeds.py", "tests/test_checkpoint.py"],
    "gancourse/training/seeds.py": ["tests/test_seeds.py"],
    "gancourse/metrics/modes.py": ["tests/test_metrics_modes.py"],
    "gancourse/metrics/fid.py": ["tests/test_metrics_images.py"],
    "gancourse/metrics/histograms.py": ["tests/test_metrics_images.py"],
    "gancourse/metrics/counting.py": ["tests/test_metrics_counting.py"],
    "gancourse/diagnostics/gradients.py": ["tests/test_diagnostics.py"],
    "gancourse/diagnostics/health.py": ["tests/test_health.py"],
    "gancourse/plots.py": ["tests/test_plots.py"],
    # the new code of chapters 04-09 that carries numbers (issue 20: the same bar as the core)
    "gancourse/feature_matching.py": ["tests/test_feature_matching.py"],
    "gancourse/models/multi_generator.py": ["tests/test_multi_generator.py"],
    "gancourse/diagnostics/oscillation.py": ["tests/test_oscillation.py"],
    "gancourse/doctor.py": ["tests/test_doctor.py"],
    "gancourse/training/balancing.py": ["tests/test_balancing.py"],
    "gancourse/lab/table.py": ["tests/test_lab.py"],
    "gancourse/metrics/hopping.py": ["tests/test_hopping.py"],
    # not in the default set, runnable with --module
    "gancourse/theory/best_response.py": ["tests/test_best_response.py"],
    "gancourse/diagnostics/saturation.py": ["tests/test_saturation.py"],
    "gancourse/models/dcgan.py": ["tests/test_models.py"],
    "gancourse/models/minibatch.py": ["tests/test_models.py"],
    "gancourse/models/mlp.py": ["tests/test_models.py"],
    "gancourse/datasets.py": ["tests/test_datasets.py"],
    "gancourse/runtime.py": ["tests/test_runtime.py"],
    "gancourse/training/history.py": ["tests/test_history.py"],
    "gancourse/theory/games.py": ["tests/test_games.py"],
    "gancourse/theory/vector_fields.py": ["tests/test_games.py"],
}
CORE = list(MODULES)[:19]
EXTRA_TESTS = "tests/test_bad_inputs*.py"

# where modules went when the package was grouped into subpackages: results files recorded before that name
# them by their old paths (REPORT.md keeps those rows as they were; explained.toml and --recheck/--resume follow)
MOVED: dict[str, str] = {
    "gancourse/steps.py": "gancourse/training/steps.py",
    "gancourse/training.py": "gancourse/training/loop.py",
    "gancourse/seeds.py": "gancourse/training/seeds.py",
    "gancourse/history.py": "gancourse/training/history.py",
    "gancourse/balancing.py": "gancourse/training/balancing.py",
    "gancourse/diagnostics.py": "gancourse/diagnostics/gradients.py",
    "gancourse/health.py": "gancourse/diagnostics/health.py",
    "gancourse/oscillation.py": "gancourse/diagnostics/oscillation.py",
    "gancourse/saturation.py": "gancourse/diagnostics/saturation.py",
    "gancourse/multi_generator.py": "gancourse/models/multi_generator.py",
    "gancourse/dcgan.py": "gancourse/models/dcgan.py",
    "gancourse/minibatch.py": "gancourse/models/minibatch.py",
    "gancourse/mlp.py": "gancourse/models/mlp.py",
    "gancourse/best_response.py": "gancourse/theory/best_response.py",
    "gancourse/games.py": "gancourse/theory/games.py",
    "gancourse/vector_fields.py": "gancourse/theory/vector_fields.py",
}

# plots: only the functions that compute what is drawn (colours, arrows, bands, bars, shares);
# the styling kwargs of the others are not the numeric core
FUNCTIONS: dict[str, list[str]] = {
    "gancourse/plots.py": ["_host", "_check_points", "_extent", "_device_of", "decision_surface", "_band",
                           "loss_curves", "grad_norm_bars", "d_output_histogram", "_lattice", "mode_shares"],
}

# mutmut's exit codes, as in mutmut.stats.status_by_exit_code
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", -11: "segfault", -9: "segfault",
          None: "not checked"}
DETECTED = ("killed", "timeout", "segfault")


# ---------------------------------------------------------------- the scratch copy


def _without_no_grad_decorators(source: str) -> str:
    """``@torch.no_grad()`` on a function -> the same body inside ``with torch.no_grad():`` (mutmut skips decorated
    functions). Docstrings stay first."""
    import libcst as cst

    class Rewrite(cst.CSTTransformer):
        def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
            decorators = updated.decorators
            if len(decorators) != 1 or cst.Module([]).code_for_node(decorators[0].decorator) != "torch.no_grad()":
                return updated
            body = list(updated.body.body)
            head = []
            if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(body[0].body[0], cst.Expr) \
                    and isinstance(body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString)):
                head = [body.pop(0)]
            with_block = cst.With(items=[cst.WithItem(cst.parse_expression("torch.no_grad()"))],
                                  body=cst.IndentedBlock(body=body))
            return updated.with_changes(decorators=[], body=updated.body.with_changes(body=[*head, with_block]))

    return cst.parse_module(source).visit(Rewrite()).code


def prepare(work: Path, rev: str | None, modules: list[str], tests: list[str]) -> None:
    """A fresh scratch copy in ``work`` of the code and tests (of the working tree, or of commit ``rev``)."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    # what the tests read besides gancourse/ (test_lab runs benchmarks/pacgan_table1.py at a small scale)
    wanted = ["gancourse", "tests", "benchmarks/speed.py", "benchmarks/pacgan_table1.py", "requirements.txt",
              "environment.yml"]
    if rev is None:
        for name in wanted:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif src.exists():
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, work / name)
    else:
        wanted = [name for name in wanted  # an older commit may lack a file
                  if subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{rev}:{name}"]).returncode == 0]
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, *wanted], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    for path in modules:
        file = work / path
        file.write_text(_without_no_grad_decorators(file.read_text()))
    selection = sorted({t for t in tests if (work / t).exists()}
                       | {str(p.relative_to(work)) for p in work.glob(EXTRA_TESTS)})
    toml_list = lambda items: "[" + ", ".join(json.dumps(i) for i in items) + "]"  # noqa: E731
    (work / "pyproject.toml").write_text(f"""\
[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-p no:cacheprovider"
markers = ["slow: takes more than a few seconds"]

[tool.mutmut]
source_paths = ["gancourse"]
only_mutate = {toml_list(modules)}
also_copy = ["benchmarks", "requirements.txt", "environment.yml"]
pytest_add_cli_args = ["-q", "-p", "no:nbval"]
pytest_add_cli_args_test_selection = {toml_list(selection)}
do_not_mutate_patterns = ['^\\s*raise\\b']
process_isolation = "forkserver"
use_git_change_detection = false
""")


def mutant_names(work: Path, module: str) -> list[str]:
    """Every mutant mutmut makes of ``module`` (in the scratch copy), in a stable order."""
    code = (
        "import json\n"
        "from pathlib import Path\n"
        "from mutmut.mutation.file_mutation import mutate_file_contents\n"
        "from mutmut.utils.format_utils import get_mutant_name\n"
        f"path = {module!r}\n"
        "names = mutate_file_contents(path, open(path).read()).mutant_names\n"
        "print(json.dumps([get_mutant_name(Path(path), n) for n in names]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=work, check=True, capture_output=True, text=True)
    names = json.loads(out.stdout)
    wanted = FUNCTIONS.get(module)
    if wanted:
        names = [n for n in names if _function_of(n) in wanted]
    return sorted(names, key=lambda n: (_function_of(n), int(n.rpartition("_")[2])))


def _function_of(mutant: str) -> str:
    """``gancourse.plots.x_decision_surface__mutmut_3`` -> ``decision_surface``; methods -> ``Class.method``."""
    mangled = mutant.rpartition(".")[2].rpartition("__mutmut_")[0]
    if mangled.startswith("xǁ"):
        return ".".join(mangled[2:].split("ǁ"))
    return mangled[2:]


# ---------------------------------------------------------------- running mutmut


def run_module(work: Path, module: str, names: list[str], jobs: int, timeout: float) -> dict:
    """Run mutmut on ``names`` of ``module`` in ``work``; the status of every mutant and each survivor's diff."""
    start = time.monotonic()
    log = work / f"mutmut-{module.replace('/', '_')}.log"
    with open(log, "w") as out:
        done = subprocess.run(["timeout", str(int(timeout)), "mutmut", "run", "--max-children", str(jobs), *names],
                              cwd=work, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - start
    meta = json.loads((work / "mutants" / (module + ".meta")).read_text())
    codes = meta["exit_code_by_key"]
    status = {n: STATUS.get(codes.get(n), "suspicious") for n in names}
    survivors = []
    for name in names:
        if status[name] in (*DETECTED, "not checked", "skipped"):
            continue
        diff = subprocess.run(["mutmut", "show", name], cwd=work, capture_output=True, text=True).stdout
        lines = diff.splitlines()
        changed = [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")]
        removed = [line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")]
        survivors.append({"mutant": name, "function": _function_of(name), "status": status[name],
                          "line": " / ".join(changed), "old": " / ".join(removed), "diff": diff.strip()})
    return {"mutants": len(names), "seconds": round(seconds), "timed_out": done.returncode == 124,
            "counts": {s: sum(v == s for v in status.values()) for s in sorted(set(status.values()))},
            "survivors": survivors, "status": status}


def load_explanations() -> list[dict]:
    path = HERE / "explained.toml"
    return tomllib.loads(path.read_text())["survivor"] if path.exists() else []


def explanation(survivor: dict, module: str, explained: list[dict]) -> str | None:
    """The ``why`` of the first entry of ``explained.toml`` that matches: module, function (a glob), the mutated
    line (``"*"``: any) and, if the entry gives it, the original line ``old``; spaces are ignored."""
    for entry in explained:
        if entry["module"] != MOVED.get(module, module) \
                or not fnmatch.fnmatchcase(survivor["function"], entry["function"]):
            continue
        if entry["line"] != "*" and _normal(entry["line"]) != _normal(survivor["line"]):
            continue
        removed = [line[1:].strip() for line in survivor["diff"].splitlines()
                   if line.startswith("-") and not line.startswith("---")]
        if "old" in entry and _normal(entry["old"]) != _normal(" / ".join(removed)):
            continue
        return entry["why"]
    return None


def recorded(modules: dict, module: str) -> tuple[str | None, dict | None]:
    """``module``'s entry in a results file and the path it is recorded under: its current path, or the path it
    had before it moved (``MOVED``), then with its mutant names renamed to the current module's."""
    if module in modules:
        return module, modules[module]
    old = next((o for o, new in MOVED.items() if new == module and o in modules), None)
    if old is None:
        return None, None
    before, after = old.removesuffix(".py").replace("/", ".") + ".", module.removesuffix(".py").replace("/", ".") + "."
    rename = lambda name: after + name[len(before):] if name.startswith(before) else name  # noqa: E731
    entry = json.loads(json.dumps(modules[old]))
    for survivor in entry["survivors"]:
        survivor["mutant"] = rename(survivor["mutant"])
    if "status" in entry:
        entry["status"] = {rename(name): status for name, status in entry["status"].items()}
    return old, entry


def at_revision(rev: str, module: str) -> str:
    """The path of ``module`` in commit ``rev``: in a commit from before it moved (``MOVED``), its old path."""
    def exists(path: str) -> bool:
        return subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{rev}:{path}"],
                              capture_output=True).returncode == 0

    old = next((o for o, new in MOVED.items() if new == module), None)
    return old if old is not None and not exists(module) and exists(old) else module


def _normal(line: str) -> str:
    return re.sub(r"\s+", "", line)


# ---------------------------------------------------------------- the report


def score(result: dict) -> float:
    detected = sum(result["counts"].get(s, 0) for s in DETECTED)
    checked = result["mutants"] - result["counts"].get("not checked", 0) - result["counts"].get("skipped", 0)
    return detected / checked if checked else float("nan")


def without_explained(result: dict, n_explained: int) -> float:
    """The score with the explained survivors left out of the mutants checked (no test can kill them)."""
    checked = result["mutants"] - result["counts"].get("not checked", 0) - result["counts"].get("skipped", 0)
    detected = sum(result["counts"].get(s, 0) for s in DETECTED)
    return detected / (checked - n_explained) if checked > n_explained else float("nan")


def render() -> str:
    """REPORT.md: one table of scores per results file (before/after), then every survivor, explained or not."""
    explained = load_explanations()
    runs = {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))}
    order = sorted(runs, key=lambda k: (k != "before", k))
    lines = ["# Mutation testing of the numeric core", "",
             "Rendered by `python benchmarks/mutation/run.py --render` from `results/*.json`; how to run it: "
             "`README.md`. Score = mutants killed (a test failed, or the tests timed out) / mutants checked; "
             "`no tests` mutants (no test runs the function) count as not killed; `not checked` mutants "
             "(the run was stopped by `--timeout` before them) are left out. A score `a -> b` is a module re-run with "
             "`--recheck`: `a` before the new tests, `b` after them. `without explained`: the same score with the "
             "explained survivors (equivalent mutants, code this suite cannot reach) left out of the mutants "
             "checked, as no test can kill them.", ""]
    for label in order:
        run = runs[label]
        lines += [f"## {label}", "", f"- date: {run['date']}, mutmut {run['mutmut']}, torch {run['torch']}, "
                  f"code: {run['code']}", f"- machine: {run['machine']}", ""]
        lines += ["| module | tests | mutants | killed | survived | no tests | timeout | not checked | score | "
                  "explained survivors | without explained | run time |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for module, result in run["modules"].items():
            c = result["counts"]
            n_explained = sum(explanation(s, module, explained) is not None for s in result["survivors"])
            sample = f" (sample of {result['population']})" if result.get("population", result["mutants"]) \
                != result["mutants"] else ""
            # after --recheck: the score before the new tests, then after them
            first = f"{score({**result, 'counts': result['first_counts']}):.0%} -> " if "first_counts" in result else ""
            lines.append(f"| {module} | {', '.join(Path(t).name for t in result['tests'])} | {result['mutants']}"
                         f"{sample} | {c.get('killed', 0)} | {c.get('survived', 0)} | {c.get('no tests', 0)} | "
                         f"{c.get('timeout', 0)} | {c.get('not checked', 0)} | {first}{score(result):.0%} | "
                         f"{n_explained} of {len(result['survivors'])} | "
                         f"{without_explained(result, n_explained):.0%} | {result['seconds']} s"
                         f"{' (stopped by --timeout)' if result['timed_out'] else ''} |")
        lines.append("")
    for label in [k for k in order if k != "before"]:  # the survivors of every run after the tests
        lines += [f"## Survivors of `{label}`", ""]
        for module, result in runs[label]["modules"].items():
            if not result["survivors"]:
                continue
            lines += [f"### {module}", ""]
            for s in result["survivors"]:
                why = explanation(s, module, explained)
                tag = f"explained: {why}" if why else "**unexplained**"
                lines.append(f"- `{s['function']}` ({s['status']}): `{s['line'] or '(line removed)'}`: {tag}")
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help=f"a module to mutate (default: {', '.join(CORE)})")
    parser.add_argument("--rev", help="mutate the code and run the tests of this git revision (default: working tree)")
    parser.add_argument("--label", default="current", help="results file name: results/<label>.json")
    parser.add_argument("--sample", type=int, default=0, help="mutate a random sample of N mutants per module")
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested in parallel (mutmut --max-children)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per module before mutmut is stopped")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "gancourse-mutation")
    parser.add_argument("--recheck", action="store_true",
                        help="run only the survivors recorded in results/<label>.json again (after new tests)")
    parser.add_argument("--resume", action="store_true",
                        help="run only the mutants a run stopped by --timeout did not reach (results/<label>.json)")
    parser.add_argument("--render", action="store_true", help="only render REPORT.md from results/*.json")
    args = parser.parse_args()
    if args.render:
        (HERE / "REPORT.md").write_text(render() + "\n")
        return
    if args.recheck and args.resume:
        parser.error("--recheck and --resume are separate passes: resume a stopped run first, then recheck")
    modules = args.module or CORE
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; known: {', '.join(MODULES)}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    os.environ.pop("PYTHONPATH", None)  # the tests must import the mutated copy, not the working tree
    import torch

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.label}.json"
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.rev or "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    about = dict(date=date.today().isoformat(), mutmut=_version("mutmut"), torch=torch.__version__,
                 code=f"commit {head}" if args.rev else f"working tree on {head}",
                 machine=f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start, "
                         f"{args.jobs} mutmut worker(s), OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    for current in modules:
        tests = MODULES[current]
        module = at_revision(args.rev, current) if args.rev else current  # a commit from before a move: the old path
        work = args.work / module.replace("/", "_").removesuffix(".py")
        prepare(work, args.rev, [module], tests)
        names = mutant_names(work, module)
        population = len(names)
        if args.sample and args.sample < len(names):
            # keyed by the path the module had when the samples of results/ were drawn: a moved module draws the same
            key = next((old for old, new in MOVED.items() if new == module), module)
            names = sorted(random.Random(f"{args.sample_seed}:{key}").sample(names, args.sample))
        recorded_as, previous = recorded((json.loads(out.read_text()) if out.exists() else {"modules": {}})["modules"],
                                         module)
        if args.recheck:  # the unexplained survivors only: an explained one is expected to survive
            if previous is None:
                parser.error(f"--recheck: results/{args.label}.json has no {module}")
            explained = load_explanations()
            kept = [s for s in previous["survivors"] if explanation(s, module, explained) is not None]
            again = [s for s in previous["survivors"] if explanation(s, module, explained) is None]
            names = [s["mutant"] for s in again]
        if args.resume:  # the mutants a stopped run did not reach
            if previous is None or "status" not in previous:
                parser.error(f"--resume: results/{args.label}.json has no per-mutant status of {module}")
            names = [n for n, st in previous["status"].items() if st == "not checked"]
        print(f"{module}: {len(names)} of {population} mutants, tests {tests}", flush=True)
        result = run_module(work, module, names, args.jobs, args.timeout)
        result.update(tests=tests, population=population, sample_seed=args.sample_seed)
        if args.recheck:  # the mutants killed before stay killed: the tests that killed them are still there
            counts = dict(previous["counts"])
            for s in again:
                counts[s["status"]] -= 1
            for status, n in result["counts"].items():
                counts[status] = counts.get(status, 0) + n
            result.update(mutants=previous["mutants"], seconds=previous["seconds"] + result["seconds"],
                          counts={k: v for k, v in counts.items() if v}, rechecked=len(names),
                          first_counts=previous.get("first_counts", previous["counts"]),
                          survivors=kept + result["survivors"])
        if args.resume:
            counts = dict(previous["counts"])
            counts["not checked"] -= len(names)
            for status, n in result["counts"].items():
                counts[status] = counts.get(status, 0) + n
            result.update(mutants=previous["mutants"], seconds=previous["seconds"] + result["seconds"],
                          counts={k: v for k, v in counts.items() if v},
                          survivors=previous["survivors"] + result["survivors"])
            if "first_counts" in previous:
                result["first_counts"] = previous["first_counts"]
        if (args.recheck or args.resume) and "status" in previous:
            result["status"] = {**previous["status"], **result["status"]}
        elif args.recheck or args.resume:
            result.pop("status")  # a status of the rechecked mutants only would read as the whole sample's
        print(f"  {score(result):.0%} killed ({result['counts']}) in {result['seconds']} s", flush=True)
        # merged into the file after every module: a long run can be stopped, modules re-run one by one
        run = json.loads(out.read_text()) if out.exists() else {"modules": {}}
        run.update(about)
        if recorded_as not in (None, module):  # a module recorded before it moved: its row goes on under its path
            del run["modules"][recorded_as]
        run["modules"][module] = result
        out.write_text(json.dumps(run, indent=1) + "\n")
    (HERE / "REPORT.md").write_text(render() + "\n")


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
