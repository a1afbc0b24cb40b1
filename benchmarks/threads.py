"""Where more CPU threads start to pay: the measurement behind ``gancourse.training.threads``.

Run: ``python benchmarks/threads.py`` (about 10 minutes on a 2-core CPU; ``--quick`` half).

For each of the course's workloads (2-D GANs of several sizes, one seed and 16 stacked
seeds; the DCGAN at widths 16, 32, 64; FID scoring), prints the work's size in the measure
that :mod:`gancourse.training.threads` decides by (MFLOP of one forward pass over one batch) and the
time per step on 1 thread and on torch's default count, first on the machine as it is, then
while this script keeps one core busy with a spinning process (bounded in time, always
killed). One line per workload::

    dcgan_w32_b64: 463 MFLOP | idle 1t 61.2 ms, 2t 40.3 ms (x1.52) | busy 1t 63 ms, 2t 121 ms (x0.52)

(numbers invented to show the form). At the end, ``idle_threads_pay_from_mflop`` is the
smallest workload where more threads were at least 10% faster on the machine as it was, and
``idle_threads_do_not_pay_up_to_mflop`` the largest where they were not.

Counts timed: 1, every core but one (what the course uses for large work) and torch's default
(all physical cores). ``xR`` is the 1-thread time over that count's time: above 1 the extra
threads pay.
``gancourse.training.threads.PARALLEL_MFLOP`` should sit between the largest workload where they do not
pay on an idle machine and the smallest where they do. Timings on a loaded machine mean
little: the load average is printed before and after. ``--quick`` runs fewer steps, ``--smoke``
a few (the test suite runs it), ``--only NAME`` one workload.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path

import torch

from gancourse import datasets
from gancourse.models import dcgan, mlp
from gancourse.training import TrainConfig, threads, train
from gancourse.training.seeds import init_models, stacked_models


def _speed():
    """``benchmarks/speed.py`` as a module (the benchmarks folder is not a package): its busy core and load average."""
    spec = importlib.util.spec_from_file_location("speed", Path(__file__).resolve().with_name("speed.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PAYS = 1.1
"""Extra threads "pay" when the best count is at least this much faster than one thread."""


def gan_workload(make_G: Callable, make_D: Callable, data, batch_size: int, n_seeds: int = 1):
    """(MFLOP, run(steps)) for :func:`gancourse.training.train` on fresh copies of one pair of nets."""
    G0, D0 = stacked_models(list(range(n_seeds)), make_G, make_D) if n_seeds > 1 else init_models(0, make_G, make_D)
    z = torch.zeros((n_seeds, batch_size, G0.z_dim) if n_seeds > 1 else (batch_size, G0.z_dim))
    mflop = threads.gan_mflop(G0, D0, z)

    def run(steps: int) -> None:
        config = TrainConfig(steps=steps, batch_size=batch_size, lr_d=1e-3, lr_g=1e-3, log_every=steps,
                             progress=False)
        train(copy.deepcopy(G0), copy.deepcopy(D0), data, config, device="cpu",
              seeds=list(range(n_seeds)) if n_seeds > 1 else None)

    return mflop, run


def fid_workload(n_images: int):
    """(MFLOP, run(steps)): ``steps`` FID scores of ``n_images`` fakes against a fixed real set."""
    from gancourse.metrics import FIDScorer

    gen = torch.Generator().manual_seed(0)
    x_real = torch.rand(n_images, 1, 28, 28, generator=gen) * 2 - 1
    x_fake = torch.rand(n_images, 1, 28, 28, generator=gen) * 2 - 1
    scorer = FIDScorer(x_real)
    classifier = scorer.metric.inception.classifier
    mflop = threads.forward_mflop(lambda: classifier.features(x_fake[:1000]))

    def run(steps: int) -> None:
        for _ in range(steps):
            scorer(x_fake)

    return mflop, run


def workloads() -> dict[str, Callable]:
    ring = datasets.ring().sample
    images = torch.rand(4096, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    out = {}
    for width, batch in ((64, 64), (128, 256)):
        for S in (1, 16):
            name = f"gan2d_w{width}_b{batch}" + (f"_{S}seeds" if S > 1 else "")
            out[name] = (lambda w=width, b=batch, S=S: gan_workload(
                lambda: mlp.MLPGenerator(width=w), lambda: mlp.MLPDiscriminator(width=w), ring, b, S))
    for width in (16, 32, 64):
        out[f"dcgan_w{width}_b64"] = (lambda w=width: gan_workload(
            lambda: dcgan.DCGANGenerator(z_dim=64, width=w), lambda: dcgan.DCGANDiscriminator(width=w), images, 64))
    out["fid_2000"] = lambda: fid_workload(2000)
    return out


def per_step(run: Callable[[int], None], steps: int, repeats: int, n_threads: int) -> float:
    """Best seconds per step of ``run(steps)`` over ``repeats`` runs on exactly ``n_threads`` threads."""
    with threads.fixed(n_threads):
        run(max(1, steps // 10))  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run(steps)
            times.append((time.perf_counter() - start) / steps)
    return min(times)


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--only", default=None, help="one workload by name")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    speed = _speed()
    busy_core, load_average = speed.busy_core, speed.load_average
    many = threads.default_threads()
    counts = sorted({1, max(1, many - 1), many})  # one thread, the course's choice for large work, torch's default
    repeats = 1 if args.smoke else args.repeats or 3
    lines = [f"threads: {', '.join(map(str, counts))} ({many} is torch's default here)",
             f"load_average_before: {load_average()}", f"parallel_mflop_now: {threads.PARALLEL_MFLOP:g}"]
    for line in lines:
        print(line, flush=True)
    chosen = {k: v for k, v in workloads().items() if args.only in (None, k)}
    if not chosen:
        parser.error(f"unknown workload {args.only!r}; one of {', '.join(workloads())}")
    pays = {}
    for name, make in chosen.items():
        mflop, run = make()
        steps = 2 if args.smoke else (5 if name.startswith("fid") else 40) // (2 if args.quick else 1)
        cells, speedup = [], {}
        for busy in (False, True):
            with busy_core(seconds=600) if busy else contextlib.nullcontext():
                times = {n: per_step(run, steps, repeats, n) for n in counts}
            cells.append(f"{'busy' if busy else 'idle'} " + ", ".join(
                f"{n}t {t * 1e3:.3g} ms" + (f" (x{times[1] / t:.2f})" if n > 1 else "") for n, t in times.items()))
            speedup.setdefault(busy, times[1] / min(times.values()))
        pays[name] = (mflop, speedup[False])
        line = f"{name}: {mflop:.3g} MFLOP | " + " | ".join(cells)
        lines.append(line)
        print(line, flush=True)
    # where extra threads pay on the machine as it was (>= 10% faster than one thread)
    gain = sorted(m for m, x in pays.values() if x >= PAYS)
    no_gain = sorted(m for m, x in pays.values() if x < PAYS)
    for line in (f"idle_threads_pay_from_mflop: {gain[0]:.3g}" if gain else "idle_threads_pay_from_mflop: never",
                 f"idle_threads_do_not_pay_up_to_mflop: {no_gain[-1]:.3g}" if no_gain else
                 "idle_threads_do_not_pay_up_to_mflop: none",
                 f"load_average_after: {load_average()}"):
        lines.append(line)
        print(line, flush=True)
    return lines


if __name__ == "__main__":
    main()
