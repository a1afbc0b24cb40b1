"""Stacked Fashion-MNIST (1,000 modes): the plain DCGAN against fixes for collapse, at a length a chapter cannot run.

Chapter 08, section 4. Each fix of ``--fixes`` trains the DCGAN of :mod:`gancourse.stacked_fashion`
for ``--steps`` G steps, once per seed; each seed's G is scored on ``--samples`` samples (modes
hit of 1,000 and KL to uniform, the VEEGAN/PacGAN protocol) and the channels of the first
2,000 by FID against the Fashion-MNIST test set (what the fix costs in image quality). Prints
one row per fix (mean ± sd over seeds and every seed's modes; :func:`gancourse.stacked_fashion.stacked_table`)
beside the published Stacked MNIST figures; each run's time per step is printed as it ends. ``--record`` writes the rows
to ``gancourse/recorded/stacked_fashion.json`` (or ``--record NAME``), which chapter 08 reads at the
default budget. ``--costs`` measures instead what each fix costs in time: every fix (default: all
eleven of :data:`gancourse.fixes.FIXES`) trains ``--costs`` G steps per round, in ``--repeats``
rounds, all in one process (:func:`gancourse.stacked_fashion.step_costs`), and ``--record`` writes
``stacked_fashion_costs.json``::

    python benchmarks/stacked_fashion.py --record                # 3 seeds, 3,000 steps, width 16
    python benchmarks/stacked_fashion.py --costs 40 --repeats 5 --record   # time per step of every fix over plain's
    python benchmarks/stacked_fashion.py --fixes R1 "spectral norm" --record stacked_fashion_more
    python benchmarks/stacked_fashion.py --steps 20 --samples 500 --seeds 1   # does it run
"""

from __future__ import annotations

import argparse
import time

import torch

from gancourse import datasets, fixes, recorded, runtime
from gancourse.metrics import FIDScorer
from gancourse.stacked_fashion import run_stacked, stacked_data, stacked_table, step_costs

PUBLISHED = {  # Stacked MNIST, 26,000 samples (COURSE.md)
    "DCGAN (Srivastava et al. 2017, VEEGAN)": "99 modes, KL 3.40",
    "PacDCGAN2 (Lin et al. 2018, PacGAN)": "1000 modes, KL 0.06",
}


def main(argv: list[str] | None = None) -> list[dict]:
    """Run, print the table, record with ``--record``; returns the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixes", nargs="+", default=None,
                        help="default: plain, packing, minibatch discrimination (with --costs: every fix)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per fix (runtime.seeds(n, start=100))")
    parser.add_argument("--steps", type=int, default=3000, help="G steps per run (batches of 64)")
    parser.add_argument("--width", type=int, default=16, help="DCGAN width")
    parser.add_argument("--samples", type=int, default=26_000, help="samples scored per run")
    parser.add_argument("--n-data", type=int, default=60_000, help="stacked training samples")
    parser.add_argument("--device", default=None)
    parser.add_argument("--costs", nargs="?", type=int, const=50, default=None, metavar="STEPS",
                        help="time STEPS G steps of each fix (default 50) instead of training and scoring")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of --costs; each fix keeps its fastest")
    parser.add_argument("--record", nargs="?", const="", metavar="NAME",
                        help="write gancourse/recorded/NAME.json "
                             "(default NAME: stacked_fashion, with --costs stacked_fashion_costs)")
    parser.add_argument("--record-dir", default=None, help="write the recording here instead (tests)")
    args = parser.parse_args(argv)
    if args.fixes is None:
        args.fixes = list(fixes.FIXES) if args.costs else ["plain", "packing", "minibatch discrimination"]
    if args.costs is not None:
        return costs(args)

    start = time.perf_counter()
    device = torch.device(args.device) if args.device else runtime.default_device()
    seeds = runtime.seeds(args.seeds, start=100)
    data, _ = stacked_data(args.n_data, seed=runtime.seed(3), device=device)
    test_images, _ = datasets.fashion_mnist("test", device=device)
    fid_scorer = FIDScorer(test_images[:2000])
    n_fid = min(2000, args.samples)
    print(f"device {device}, threads {torch.get_num_threads()}, seeds {seeds}, {args.steps} steps, "
          f"width {args.width}, {args.samples} samples scored, FID of {3 * n_fid} channels vs 2,000 test images")
    rows = []
    for fix in args.fixes:
        for run in run_stacked(fix, seeds, data, args.steps, width=args.width, n_samples=args.samples,
                               device=device, fid_scorer=fid_scorer, n_fid=n_fid):
            rows.append({"fix": run.fix, "seed": run.seed, "modes": run.modes, "kl": round(run.kl, 4),
                         "fid": round(run.fid, 2), "ms_per_step": round(run.ms_per_step, 2)})
            print(f"  {run.fix:<26} seed {run.seed}: {run.modes} modes, KL {run.kl:.2f}, FID {run.fid:.1f}, "
                  f"{run.ms_per_step:.1f} ms/step", flush=True)

    print()
    print(stacked_table(rows))
    print("published (Stacked MNIST, other nets and lengths): "
          + "; ".join(f"{k}: {v}" for k, v in PUBLISHED.items()))
    seconds = time.perf_counter() - start
    print(f"total {seconds:.0f} s")
    if args.record is not None:
        settings = {"fixes": args.fixes, "seeds": seeds, "steps": args.steps, "width": args.width,
                    "samples": args.samples, "n_data": args.n_data, "n_fid": n_fid, "fid_real": 2000,
                    "batch_size": 64}
        print("wrote", recorded.save(args.record or "stacked_fashion", settings, rows, device, seconds,
                                     directory=args.record_dir))
    return rows


def costs(args: argparse.Namespace) -> list[dict]:
    """``--costs``: every fix's time per step on the stacked DCGAN over the plain one's, in one run."""
    start = time.perf_counter()
    device = torch.device(args.device) if args.device else runtime.default_device()
    data, _ = stacked_data(min(args.n_data, 10_000), seed=runtime.seed(3), device=device)
    print(f"device {device}, threads {torch.get_num_threads()}, width {args.width}, batch 64: each fix "
          f"{args.costs} G steps per round, {args.repeats} rounds, the fastest kept")
    rows = step_costs(args.fixes, data, steps=args.costs, width=args.width, repeats=args.repeats, device=device)
    print(f"{'fix':<26}{'ms/step':>9}{'CPU ms/step':>13}{'time/step':>11}{'CPU/step':>10}  slowest round")
    for r in rows:
        slowest = 100 * (max(r["ms_rounds"]) / min(r["ms_rounds"]) - 1)
        print(f"{r['fix']:<26}{r['ms_per_step']:>9.1f}{r['cpu_ms_per_step']:>13.1f}"
              f"{r['time_ratio']:>10.2f}x{r['cpu_ratio']:>9.2f}x  +{slowest:.0f}%")
    seconds = time.perf_counter() - start
    print(f"total {seconds:.0f} s")
    if args.record is not None:
        settings = {"fixes": [r["fix"] for r in rows], "steps": args.costs, "repeats": args.repeats,
                    "width": args.width, "batch_size": 64, "threads": torch.get_num_threads()}
        print("wrote", recorded.save(args.record or "stacked_fashion_costs", settings, rows, device, seconds,
                                     directory=args.record_dir))
    return rows


if __name__ == "__main__":
    main()
