"""The stability lab's grid for chosen fixes at the current budget, recorded as a lab store a chapter can resume from.

Chapter 09's table trains twelve fixes inside its CPU budget; minibatch discrimination, which
compares every pair of samples in a batch, takes several CPU minutes more than all of them
together (on the course's 2-core machine, under load, 433 s on the ring and 460 s on the grid for
8 seeds, against 7-23 s for spectral norm, minibatch stddev or unrolled steps). This script trains
it once with the chapter's exact set-up
(``lab.mlp_setup()``, ``runtime.seeds(8)``, ring and grid, the current ``GANCOURSE_BUDGET``)
and writes the lab's own store (``gancourse.lab.store``: one line per finished cell, written
atomically). Chapter 09 starts its grid from a copy of that store, so the lab reads those
cells back instead of training them, exactly as it resumes after a crash::

    python benchmarks/lab_grid.py --record lab_mbd        # minibatch discrimination, 8 seeds
    python benchmarks/lab_grid.py --fixes gan pack2 --store /tmp/grid.jsonl
"""

from __future__ import annotations

import argparse
import time

import torch

from gancourse import lab, recorded, runtime

RECORDED = ["minibatch_discrimination"]
"""The fixes whose cells chapter 09 reads from the recording at the default budget."""


def main(argv: list[str] | None = None) -> lab.LabTable:
    """Run the grid, print its tables; returns the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixes", nargs="+", default=RECORDED)
    parser.add_argument("--seeds", type=int, default=8, help="runtime.seeds(n)")
    parser.add_argument("--device", default=None)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--record", metavar="NAME", help="write the store to gancourse/recorded/NAME.jsonl")
    where.add_argument("--store", help="write the store here")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    device = torch.device(args.device) if args.device else runtime.default_device()
    store = recorded.store_path(args.record) if args.record else args.store
    setup = lab.mlp_setup()
    print(f"budget {runtime.budget()}, device {device}, threads {torch.get_num_threads()}, "
          f"{setup.config['steps']} G steps, seeds {runtime.seeds(args.seeds)}, store {store}")
    table = lab.run_grid(args.fixes, ["ring", "grid"], seeds=runtime.seeds(args.seeds), setup=setup, store=store,
                         device=device, on_cell=lambda r: print(f"  cell {r['fix']} on {r['dataset']} done",
                                                                 flush=True))
    for dataset in ("ring", "grid"):
        print()
        print(table.format(dataset, lab.PACGAN_TABLE1))
    print(f"total {time.perf_counter() - start:.0f} s")
    return table


if __name__ == "__main__":
    main()
