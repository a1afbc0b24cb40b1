"""Run a grid of (fix, dataset, seeds) cells, locally or on Ray, resuming from what a store already holds.

:func:`run_grid` plans one cell per fix, dataset and group of seeds (all seeds in one group by
default: one batched run per fix and dataset), skips the cells its store already finished with
the same fix, runs the rest and returns the tidy :class:`~gancourse.lab.table.LabTable`.

Backends: ``"local"`` runs the cells one after another in this process; ``"ray"`` submits each
cell as a Ray task (``pip install -r requirements-ray.txt``; it connects to a running Ray
cluster or starts a local one) and writes each result to the store as it arrives. A cell is a
pure function of its fix, dataset, seeds and set-up (:func:`~gancourse.lab.setups.run_cell`), so
both backends give the same numbers for the same seeds. Chapter 09.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import torch

from gancourse.lab.fixes import Fix, get_fix
from gancourse.lab.setups import Setup, get_dataset, mlp_setup, run_cell
from gancourse.lab.store import Store, cell_key, run_meta
from gancourse.lab.table import LabTable
from gancourse.runtime import default_device
from gancourse.runtime import seeds as default_seeds

BACKENDS = ("local", "ray")


def plan(fixes: Sequence[str | Fix], datasets: Sequence[str], seeds: Sequence[int],
         seeds_per_run: int | None = None) -> list[tuple[Fix, str, list[int]]]:
    """The cells of a grid, in the order they run: datasets, then fixes, then groups of seeds."""
    fixes = [get_fix(f) for f in fixes]
    names = [f.name for f in fixes]
    if len(set(names)) != len(names):
        raise ValueError(f"each fix may appear once in a grid, got {names}")
    datasets = [get_dataset(d).name for d in datasets]
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds) or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be distinct non-negative ints, got {seeds}")
    size = len(seeds) if seeds_per_run is None else seeds_per_run
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"seeds_per_run must be None (all seeds in one run) or an int >= 1, got {seeds_per_run!r}")
    groups = [seeds[i:i + size] for i in range(0, len(seeds), size)]
    return [(fix, dataset, group) for dataset in datasets for fix in fixes for group in groups]


def run_grid(fixes: Sequence[str | Fix], datasets: Sequence[str] = ("ring", "grid"), seeds: Sequence[int] | None = None,
             setup: Setup | None = None, store: str | os.PathLike | None = None, backend: str = "local",
             seeds_per_run: int | None = None, device: torch.device | str | None = None,
             on_cell: Callable[[dict], None] | None = None) -> LabTable:
    """Train every fix on every dataset for every seed and return the table of scores. Chapter 09.

    ``fixes``: names registered in :data:`~gancourse.lab.fixes.FIXES` or :class:`Fix` objects;
    ``datasets``: ``"ring"``, ``"grid"``; ``seeds`` default to ``runtime.seeds(8)``; ``setup``
    defaults to :func:`~gancourse.lab.setups.mlp_setup` at the current budget. With ``store`` (a
    file path) each finished cell is written to disk atomically and a later call with the same
    arguments resumes: finished cells are read back, not run again (a cell whose fix was
    redefined since is run again). ``on_cell(record)`` is called after each finished cell.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    setup = mlp_setup() if setup is None else setup
    seeds = default_seeds(8) if seeds is None else list(seeds)
    device = torch.device(device) if device is not None else default_device()
    cells = plan(fixes, datasets, seeds, seeds_per_run)
    meta = run_meta(setup.spec(), device)
    box = Store(store, meta)
    todo = []
    for fix, dataset, group in cells:
        if box.done(cell_key(fix.name, dataset, group), fix.spec()) is None:
            todo.append((fix, dataset, group))

    def finished(fix: Fix, dataset: str, group: list[int], rows: list[dict]) -> None:
        record = box.add(cell_key(fix.name, dataset, group), fix.spec(), rows)
        if on_cell is not None:
            on_cell(record)

    if backend == "local":
        for fix, dataset, group in todo:
            finished(fix, dataset, group, run_cell(fix, dataset, group, setup, device))
    else:
        _run_on_ray(todo, setup, device, finished)
    rows = []
    for fix, dataset, group in cells:  # in plan order, whatever order the cells finished in
        rows += box.cells[cell_key(fix.name, dataset, group)]["rows"]
    return LabTable(rows, meta)


def ray_available() -> str | None:
    """None if Ray can be imported, else the reason it cannot (what to install)."""
    try:
        import ray  # noqa: F401
    except ImportError as error:
        return (f"Ray is not installed ({error}); install the lab's optional backend with "
                f"pip install -r requirements-ray.txt")
    return None


def _run_on_ray(todo: list, setup: Setup, device: torch.device,
                finished: Callable[[Fix, str, list[int], list[dict]], None]) -> None:
    """Each cell as a Ray task; results are stored as they arrive."""
    reason = ray_available()
    if reason is not None:
        raise ImportError(reason)
    import ray

    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=1, num_gpus=1 if device.type == "cuda" else 0)(run_cell)
    pending = {task.remote(fix, dataset, group, setup, device): (fix, dataset, group) for fix, dataset, group in todo}
    while pending:
        (ready,), _ = ray.wait(list(pending), num_returns=1)
        fix, dataset, group = pending.pop(ready)
        finished(fix, dataset, group, ray.get(ready))
