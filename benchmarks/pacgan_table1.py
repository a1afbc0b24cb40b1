"""PacGAN's table 1 (Lin et al. 2018) reproduced with the paper's set-up, printed beside the paper's numbers.

Ring and grid; GAN against PacGAN2, 3, 4; 10 seeds each, the 10 seeds of a cell stacked into one
batched run (:mod:`gancourse.lab`). The set-up is :func:`gancourse.lab.setups.pacgan_setup`, as
their code runs it: z 2-D; G 4 x 400 with batch norm and ReLU; D 3 x 200 maxout (5 pieces); Adam
1e-4, beta1 0.8; batch 100; D and G updated simultaneously; a fixed set of 100,000 samples per
run; 400,000 steps (400 epochs). Shorter runs with ``--steps``::

    python benchmarks/pacgan_table1.py                          # the paper's length (a GPU: see README)
    python benchmarks/pacgan_table1.py --steps 2000 --seeds 4    # a shortened table
    python benchmarks/pacgan_table1.py --steps 2000 --store runs/pacgan.jsonl   # resumable

It prints the device, the versions, the steps per second of each cell (G steps of one stacked
run of all its seeds), the table of each dataset beside the paper's, and writes CSV/JSON with
``--out``. Chapter 09.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from gancourse import lab, runtime
from gancourse.lab.setups import PACGAN_STEPS

FIXES = ("gan", "pack2", "pack3", "pack4")


def main(argv: list[str] | None = None) -> list[str]:
    """Run the table and return the printed lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=PACGAN_STEPS, help="G steps per run (paper: 400,000)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds per cell (paper: 10)")
    parser.add_argument("--datasets", default="ring,grid")
    parser.add_argument("--width-g", type=int, default=400, help="units per hidden layer of G (paper: 400)")
    parser.add_argument("--width-d", type=int, default=200, help="maxout units per hidden layer of D (paper: 200)")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    parser.add_argument("--store", default=None, help="JSON-lines store: a killed run resumes from it")
    parser.add_argument("--out", default=None, help="folder for table.csv and table.json")
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else runtime.default_device()
    setup = lab.pacgan_setup(steps=args.steps, width_g=args.width_g, width_d=args.width_d)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    started = {"t": time.perf_counter()}

    def on_cell(record: dict) -> None:
        wall = time.perf_counter() - started["t"]
        started["t"] = time.perf_counter()
        say(f"cell {record['fix']} {record['dataset']} seeds {record['seeds']}: {wall:.1f} s, "
            f"{args.steps / wall:.1f} steps/s (all seeds at once)")

    say(f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}); "
        f"torch {torch.__version__}; steps {args.steps} (paper {PACGAN_STEPS}); seeds {args.seeds}; "
        f"G width {args.width_g}, D width {args.width_d}")
    total = time.perf_counter()
    table = lab.run_grid(FIXES, args.datasets.split(","), seeds=runtime.seeds(args.seeds), setup=setup,
                         store=args.store, device=device, on_cell=on_cell)
    say(f"total: {time.perf_counter() - total:.1f} s")
    for dataset in table.datasets:
        say(table.format(dataset, lab.PACGAN_TABLE1))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "table.csv")
        table.to_json(out / "table.json")
        say(f"written: {out / 'table.csv'}, {out / 'table.json'}")
    return lines


if __name__ == "__main__":
    main(sys.argv[1:])
