"""Balancing D and G on images: chapter 04's recipes on the course's DCGAN, scored by FID over seeds.

Chapter 04, section 5 measures k D steps, two time-scales and "let the strong network wait" on
a 2-D GAN inside the chapter's budget; on images one DCGAN run per recipe and seed takes
minutes on a CPU, so this script runs them once. Every recipe of
:data:`gancourse.training.balancing.IMAGE_RECIPES` trains the DCGAN of :mod:`gancourse.models.fashion_dcgan`
(same seeds, so the same initial weights, batches and ``z`` for every recipe) for ``--steps``
G steps, scored by FID (the course's classifier, 2,000 test images) every ``--every`` steps.
Prints one row per recipe: final FID and best FID over the checkpoints (mean +- sd and every
seed's), D's loss over the last 10% of steps, and the time per G step relative to the plain
run. ``--record`` writes ``gancourse/recorded/balancing_images.json``, which chapter 04 reads::

    python benchmarks/balancing_images.py --record         # 3 seeds, 3,000 steps, width 16
    python benchmarks/balancing_images.py --steps 20 --every 10 --seeds 1 --n-fid 200   # does it run
"""

from __future__ import annotations

import argparse
import time

import torch

from gancourse import datasets, recorded, runtime
from gancourse.metrics import FIDScorer
from gancourse.metrics.scoring import recipe_rows, recipe_table, score_recipes
from gancourse.models.fashion_dcgan import fashion_dcgan
from gancourse.training.balancing import IMAGE_RECIPES


def main(argv: list[str] | None = None) -> list[dict]:
    """Run, print the table, record with ``--record``; returns the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per recipe (runtime.seeds(n, start=100))")
    parser.add_argument("--steps", type=int, default=3000, help="G steps per run (batches of 64)")
    parser.add_argument("--every", type=int, default=500, help="G steps between two FID checkpoints")
    parser.add_argument("--width", type=int, default=16, help="DCGAN width")
    parser.add_argument("--n-fid", type=int, default=2000, help="generated images per FID")
    parser.add_argument("--device", default=None)
    parser.add_argument("--record", action="store_true", help="write gancourse/recorded/balancing_images.json")
    parser.add_argument("--record-dir", default=None, help="write the recording here instead (tests)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    device = torch.device(args.device) if args.device else runtime.default_device()
    seeds = runtime.seeds(args.seeds, start=100)
    images, _ = datasets.fashion_mnist("train", device=device)
    test_images, _ = datasets.fashion_mnist("test", device=device)
    fid_scorer = FIDScorer(test_images[:2000])
    print(f"device {device}, threads {torch.get_num_threads()}, seeds {seeds}, {args.steps} G steps, "
          f"width {args.width}, FID of {args.n_fid} samples vs 2,000 test images every {args.every} steps")

    def make_setup(seed: int, **fields):
        return fashion_dcgan(seed=seed, width=args.width, data=images, steps=args.steps, device=device, **fields)

    rows = []
    for name, recipe in IMAGE_RECIPES.items():  # one recipe at a time, so that each prints as it ends
        runs = score_recipes({name: recipe}, seeds, make_setup, fid_scorer, args.every, device=device,
                             n_samples=args.n_fid, n_fixed=16)
        for row in recipe_rows(runs):
            rows.append(row)
            print(f"  {name:<24} seed {row['seed']}: FID {row['fid']}, D loss at the end {row['d_loss_end']:.3f}, "
                  f"{row['ms_per_step']:.1f} ms/step", flush=True)
    print()
    print(recipe_table(rows))
    seconds = time.perf_counter() - start
    print(f"total {seconds:.0f} s")
    if args.record:
        settings = {"recipes": IMAGE_RECIPES, "seeds": seeds, "steps": args.steps, "every": args.every,
                    "width": args.width, "n_fid": args.n_fid, "fid_real": 2000, "batch_size": 64}
        print("wrote", recorded.save("balancing_images", settings, rows, device, seconds,
                                     directory=args.record_dir))
    return rows


if __name__ == "__main__":
    main()
