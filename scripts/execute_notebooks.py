"""Execute chapter notebooks top to bottom in a fresh kernel and save them as JupyterLab writes them.

Usage::

    python scripts/execute_notebooks.py chapters/03_mode_collapse.ipynb [more.ipynb ...]
    python scripts/execute_notebooks.py --all          # every chapters/NN_*.ipynb

Each notebook runs in the current Python environment with the working directory
``chapters/`` (as JupyterLab and nbval run it), at the budget and base seed of the
environment (``GANCOURSE_BUDGET``, ``GANCOURSE_SEED``). The executed notebook is written
with ``nbformat.write``, which is what JupyterLab's file manager calls on save, so opening a
committed notebook in JupyterLab does not change it. The wall time of each notebook is
printed; a failing cell stops that notebook, leaves the file on disk untouched, and makes
the script exit non-zero.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError

from gancourse.instructor.kernels import execute_notebook

ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path, timeout: int = 1200, write: bool = True) -> float:
    """Run ``path`` in a fresh ``python3`` kernel; write it back in place if ``write``. Returns seconds."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    execute_notebook(nb, path.parent, timeout)  # private sockets: other processes may start kernels meanwhile
    seconds = time.perf_counter() - start
    if write:
        nb.metadata["kernelspec"] = kernelspec()
        nbformat.write(nb, path)
    return seconds


def kernelspec(name: str = "python3") -> dict:
    """The ``metadata.kernelspec`` JupyterLab writes for the installed kernel ``name``.

    JupyterLab marks a notebook modified when its kernelspec differs from the kernel it starts
    (e.g. ``"Python 3"`` against ipykernel's ``"Python 3 (ipykernel)"``), and autosave rewrites it.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(name)
    return {"display_name": spec.display_name, "language": spec.language, "name": name}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--all", action="store_true", help="every chapters/NN_*.ipynb")
    parser.add_argument("--no-write", action="store_true", help="run only; leave the files as they are")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell (default 1200)")
    args = parser.parse_args(argv)
    paths = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")) if args.all else args.notebooks
    if not paths:
        parser.error("name notebooks or pass --all")
    failed = []
    for path in paths:
        try:
            seconds = execute(path.resolve(), args.timeout, write=not args.no_write)
        except CellExecutionError as error:
            failed.append(path)
            print(f"{path}: FAILED\n{error}", file=sys.stderr)
            continue
        print(f"{path}: {seconds:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
