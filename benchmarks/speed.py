"""How fast the training engine is, against the obvious alternatives. Run: ``python benchmarks/speed.py``.

Prints one figure per line as ``name: value``:

* ``batched_seeds_speedup``: 16 seeds of the 2-D MLP GAN trained one after another with
  :func:`gancourse.training.train`, divided by the time of the same 16 seeds trained in one
  batched run (:func:`gancourse.training.train_seeds`), same steps.
* ``plain_loop_batched_seeds_speedup``: the same ratio for a hand-written stacked step with
  the engine's layers and tricks but nothing else (no records, checks or per-seed random
  streams): the floor that the engine's batched run can approach on this device.
* ``dcgan_<device>_speedup_vs_reference``: the engine's DCGAN 28x28 training throughput
  (images/s) on Fashion-MNIST, divided by that of a plain loop written the way
  pytorch/examples ``dcgan/main.py`` writes it: its data pipeline (a ``DataLoader`` with
  its default 2 worker processes over a dataset that turns each image into a PIL image and
  applies ``Resize``, ``ToTensor``, ``Normalize``), ``BCELoss`` on sigmoid outputs,
  ``.item()`` logging every step; same models, batch size and precision, in the same process.
* ``dcgan_<device>_speedup_vs_reference_in_memory``: the same against that loop fed from a
  ``DataLoader`` over a ``TensorDataset`` of ready tensors, a stronger baseline than the
  example: what is left is the training step itself.
* ``busy_machine_slowdown``: chapter 00's 2-D GAN step (width 128, batch 256, on the CPU) while
  this script keeps one core busy with a spinning process (stopped after a bounded time and
  always killed), divided by the step on the machine as it was, in one run; the process runs
  as a learner's (no ``OMP_NUM_THREADS``), so gancourse chooses the threads. Goal: at most 1.5.
  The full run also gives the ratio on torch's default thread count, the problem avoided.

``--quick`` runs a shorter version (``--smoke``: a few steps, to check that it runs),
``--save`` also writes the output to ``benchmarks/results/<device>.txt``, ``--threads N``
sets ``torch.set_num_threads``, ``--profile`` adds where the DCGAN time goes: FLOPs per step of each loop
(``torch.utils.flop_counter``) and the share of CPU time in the convolution layers' kernels
(``torch.profiler``). Timings on a shared machine are noisy: each side is timed ``--repeats``
times, interleaved, and the best time of each side is used; the load average is printed
before and after, and figures taken at a 1-minute load above ``LOAD_LIMIT`` are flagged.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from gancourse import datasets
from gancourse.models import dcgan, mlp
from gancourse.runtime import default_device
from gancourse.training import TrainConfig, threads, train, train_seeds
from gancourse.training.seeds import init_models

RESULTS = Path(__file__).resolve().parent / "results"
LOAD_LIMIT = 2.5
"""1-minute load average above which timings on a 2-core machine are not trustworthy."""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _best_time(fn, device: torch.device, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return min(times)


# ---------------------------------------------------------------- many seeds of a 2-D GAN


def bench_seeds(device: torch.device, n_seeds: int, steps: int, repeats: int, width: int, batch_size: int) -> dict:
    """Seconds for ``n_seeds`` 2-D GANs trained one by one vs batched (same seeds, same steps)."""
    seeds = list(range(n_seeds))
    sample_real = datasets.ring().sample

    def make_G():
        return mlp.MLPGenerator(width=width)

    def make_D():
        return mlp.MLPDiscriminator(width=width)

    def config(n_steps: int, seed: int = 0) -> TrainConfig:
        return TrainConfig(steps=n_steps, batch_size=batch_size, lr_d=1e-3, lr_g=1e-3, seed=seed,
                           log_every=n_steps, progress=False)

    def one_seed(s: int, n_steps: int = steps) -> None:
        G, D = init_models(s, make_G, make_D)
        train(G, D, sample_real, config(n_steps, s), device=device)

    def batched(n_steps: int = steps) -> None:
        train_seeds(seeds, make_G, make_D, sample_real, config(n_steps), device=device)

    for s in seeds:  # warm-up: allocator, kernels, lazy imports
        one_seed(s, 5)
    batched(5)
    t_seed, t_bat = {s: [] for s in seeds}, []
    for _ in range(repeats):  # interleaved, so that a burst of load on a shared machine hits both sides
        t_bat.append(_best_time(batched, device, 1))
        for s in seeds:
            t_seed[s].append(_best_time(lambda s=s: one_seed(s), device, 1))
    # each seed's best time, summed: the one-by-one side gets as many chances to dodge a burst as the batched one
    one_by_one = sum(min(t) for t in t_seed.values())
    return {"seeds_one_by_one_s": one_by_one, "seeds_batched_s": min(t_bat),
            "batched_seeds_speedup": one_by_one / min(t_bat)}


def plain_stacked_step(n_seeds: int, width: int, batch_size: int, device: torch.device) -> Callable[[], None]:
    """One training step of ``n_seeds`` stacked 2-D GANs written as plainly as possible: the floor.

    The engine's layers and tricks (``baddbmm`` per layer, D's output as a dot product, real
    and fake through D as one batch, per-seed losses as reductions, fused Adam, no D weight
    gradients in G's step) on bare tensors, without anything the engine adds: no records,
    no gradient norms, no checks, one generator for all seeds instead of one per seed.
    """
    gen = torch.Generator(device=device).manual_seed(0)

    def layers(sizes: list[int]) -> list[torch.Tensor]:
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            params.append((torch.randn(n_seeds, fan_in, fan_out, generator=gen, device=device) / fan_in ** 0.5)
                          .requires_grad_())
            params.append(torch.zeros(n_seeds, 1, fan_out, device=device, requires_grad=True))
        return params

    def net(params: list[torch.Tensor], x: torch.Tensor, act: Callable) -> torch.Tensor:
        for i in range(0, len(params), 2):
            W, b = params[i], params[i + 1]
            x = (x * W.mT).sum(-1, keepdim=True) + b if W.shape[2] == 1 else torch.baddbmm(b, x, W)
            x = act(x) if i < len(params) - 2 else x
        return x

    Gp, Dp = layers([2, width, width, width, 2]), layers([2, width, width, width, 1])
    opt_g = torch.optim.Adam(Gp, lr=1e-3, betas=(0.5, 0.999), fused=True)
    opt_d = torch.optim.Adam(Dp, lr=1e-3, betas=(0.5, 0.999), fused=True)
    centers, B = datasets.ring().centers.to(device), batch_size

    def leaky(x):
        return F.leaky_relu(x, 0.2)

    def step() -> None:
        real = centers[torch.randint(len(centers), (n_seeds, B), generator=gen, device=device)]
        real = real + 0.01 * torch.randn(n_seeds, B, 2, generator=gen, device=device)
        with torch.no_grad():
            fake = net(Gp, torch.randn(n_seeds, B, 2, generator=gen, device=device), torch.relu)
        logits = net(Dp, torch.cat([real, fake], dim=1), leaky)
        d_loss = F.softplus(-logits[:, :B]).mean((1, 2)) + F.softplus(logits[:, B:]).mean((1, 2))
        opt_d.zero_grad(set_to_none=True)
        d_loss.sum().backward()
        opt_d.step()
        fake = net(Gp, torch.randn(n_seeds, B, 2, generator=gen, device=device), torch.relu)
        g_loss = F.softplus(-net(Dp, fake, leaky)).mean((1, 2))
        opt_g.zero_grad(set_to_none=True)
        g_loss.sum().backward(inputs=Gp)
        opt_g.step()

    return step


def bench_floor(device: torch.device, n_seeds: int, steps: int, repeats: int, width: int, batch_size: int) -> dict:
    """The speedup of the plain stacked step (:func:`plain_stacked_step`) for ``n_seeds`` seeds over one seed."""
    one, many = (plain_stacked_step(n, width, batch_size, device) for n in (1, n_seeds))

    def run(step: Callable[[], None]) -> Callable[[], None]:
        return lambda: [step() for _ in range(steps)]

    for step in (one, many):
        step()  # warm-up
    t_one, t_many = [], []
    for _ in range(repeats):
        t_many.append(_best_time(run(many), device, 1))
        t_one.append(_best_time(run(one), device, 1))
    return {"plain_loop_batched_seeds_speedup": n_seeds * min(t_one) / min(t_many)}


# ---------------------------------------------------------------- a busy machine


@contextlib.contextmanager
def as_a_learner() -> Iterator[None]:
    """The block runs as a learner's process would: no thread variables, torch at its default thread count.

    Developers run with ``OMP_NUM_THREADS=1``, which gancourse counts as an explicit choice and
    leaves alone; a learner sets nothing. Both are restored afterwards.
    """
    saved = {name: os.environ.pop(name) for name in threads.THREAD_ENV if name in os.environ}
    before = torch.get_num_threads()
    torch.set_num_threads(threads.default_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)
        os.environ.update(saved)


def bench_busy_machine(steps: int, repeats: int, compare_torch_default: bool) -> dict:
    """Chapter 00's 2-D GAN step with one core kept busy by a spinning process, divided by the step on the idle machine.

    Runs as a learner's process (:func:`as_a_learner`), so gancourse picks the threads. Idle and busy
    timings alternate ``repeats`` times; the best of each is kept. With ``compare_torch_default`` the
    same ratio is also measured on torch's default thread count (``threads.fixed``): the problem
    gancourse's choice avoids.
    """
    G0, D0 = init_models(0, lambda: mlp.MLPGenerator(width=128), lambda: mlp.MLPDiscriminator(width=128))
    config = TrainConfig(steps=steps, batch_size=256, lr_d=2e-4, lr_g=2e-4, log_every=steps, progress=False)
    sample_real = datasets.ring().sample

    def run(n_steps: int = steps) -> float:
        start = time.perf_counter()
        train(copy.deepcopy(G0), copy.deepcopy(D0), sample_real,
              TrainConfig(**{**config.to_dict(), "steps": n_steps, "log_every": n_steps}), device="cpu")
        return (time.perf_counter() - start) / n_steps

    def ratio(fixed: int | None) -> tuple[float, float, float]:
        with threads.fixed(fixed) if fixed else contextlib.nullcontext():
            run(2)  # warm-up
            idle, busy = [], []
            for _ in range(repeats):  # alternated, so that a burst of outside load hits both sides
                idle.append(run())
                with busy_core(seconds=max(30.0, 50 * steps * idle[-1])):
                    busy.append(run())
        return min(busy) / min(idle), min(idle), min(busy)

    with as_a_learner():
        work = threads.gan_mflop(G0, D0, torch.zeros(256, 2))
        figures = {"busy_machine_threads": threads.threads_for(work)}
        slowdown, idle, busy = ratio(None)
        figures.update(busy_machine_idle_step_ms=idle * 1e3, busy_machine_busy_step_ms=busy * 1e3,
                       busy_machine_slowdown=slowdown)
        if compare_torch_default and threads.default_threads() > 1:
            figures["busy_machine_slowdown_torch_default_threads"] = ratio(threads.default_threads())[0]
    return figures


# ---------------------------------------------------------------- DCGAN on Fashion-MNIST


class RecipeImages(Dataset):
    """Grey 28x28 images served the way torchvision's ``FashionMNIST`` serves them to the PyTorch example.

    ``__getitem__`` makes a PIL image from the uint8 pixels and applies the example's
    transform (``Resize``, ``ToTensor``, ``Normalize((0.5,), (0.5,))``), one sample at a time,
    as ``torchvision.datasets.FashionMNIST`` does; built from the tensors the course already
    has, so it runs whether the data came from ``data/``, the Debian package or nowhere.
    """

    def __init__(self, images: torch.Tensor, image_size: int = 28) -> None:
        from torchvision import transforms

        self.pixels = ((images.squeeze(1) + 1) * 127.5).round().to(torch.uint8)  # back to the IDX file's bytes
        self.transform = transforms.Compose([transforms.Resize(image_size), transforms.ToTensor(),
                                             transforms.Normalize((0.5,), (0.5,))])

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.pixels[i].numpy(), mode="L")), 0


def recipe_batches(images: torch.Tensor, batch_size: int, workers: int = 2) -> Iterator:
    """The example's data pipeline, started: ``DataLoader(dataset, batch_size, shuffle=True, num_workers=2)``.

    Its ``--workers`` default is 2. The iterator is made (worker processes started) before
    the caller times anything, and restarts at the end of an epoch as the example's loop does.
    """
    loader = DataLoader(RecipeImages(images), batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True)
    while True:
        yield from loader


def in_memory_batches(images: torch.Tensor, batch_size: int) -> Iterator:
    """A stronger baseline than the example: a ``DataLoader`` over a ``TensorDataset`` of ready tensors."""
    loader = DataLoader(TensorDataset(images), batch_size=batch_size, shuffle=True, drop_last=True)
    while True:
        yield from loader


def reference_dcgan_loop(netG: nn.Module, netD: nn.Module, batches: Iterator, device: torch.device, steps: int,
                         nz: int, log: list[str]) -> None:
    """``steps`` iterations written the way pytorch/examples ``dcgan/main.py`` writes its loop.

    ``batches`` yields ``(images, labels)`` from a ``DataLoader`` (:func:`recipe_batches` or
    :func:`in_memory_batches`); each batch is moved to ``device``; ``BCELoss`` on sigmoid
    outputs, fresh labels every step, ``zero_grad``, one fake batch for the D and the G step,
    and a log line built from ``.item()`` every iteration. The nets are the course's (raw
    logits), so the sigmoid is applied here.
    """
    criterion = nn.BCELoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    real_label, fake_label = 1.0, 0.0
    for i in range(steps):
        data = next(batches)
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        # train with real
        netD.zero_grad()
        real_cpu = data[0].to(device)
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=real_cpu.dtype, device=device)
        output = torch.sigmoid(netD(real_cpu)).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        # train with fake
        noise = torch.randn(b_size, nz, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = torch.sigmoid(netD(fake.detach())).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        netG.zero_grad()
        label.fill_(real_label)  # fake labels are real for generator cost
        output = torch.sigmoid(netD(fake)).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        log.append(f"[{i}/{steps}] Loss_D: {errD.item():.4f} Loss_G: {errG.item():.4f} "
                   f"D(x): {D_x:.4f} D(G(z)): {D_G_z1:.4f} / {D_G_z2:.4f}")


def bench_dcgan(device: torch.device, steps: int, repeats: int, width: int, batch_size: int) -> dict:
    """Training images/s of the engine, of the example's loop and of that loop on in-memory tensors."""
    try:
        images, _ = datasets.fashion_mnist("train")
        data_name = "fashion-mnist"
    except datasets.DatasetNotFoundError:  # the ratio does not depend on the pixels
        images = torch.rand(60_000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
        data_name = "random (Fashion-MNIST not found)"
    z_dim = 64
    G0, D0 = init_models(0, lambda: dcgan.DCGANGenerator(z_dim=z_dim, width=width),
                         lambda: dcgan.DCGANDiscriminator(width=width))
    images_dev = images.to(device)  # the engine keeps the dataset on the device
    config = TrainConfig(steps=steps, batch_size=batch_size, lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999),
                         log_every=steps, progress=False)
    # started before any timing: worker processes up, first batches prefetched
    sources = {"recipe": recipe_batches(images, batch_size), "in_memory": in_memory_batches(images, batch_size)}

    def engine(n_steps: int = steps) -> None:
        train(copy.deepcopy(G0), copy.deepcopy(D0), images_dev,
              TrainConfig(**{**config.to_dict(), "steps": n_steps, "log_every": n_steps}), device=device)

    def reference(source: str, n_steps: int = steps) -> None:
        # pytorch/examples moves each batch from the loader to the device; so does this loop
        reference_dcgan_loop(copy.deepcopy(G0).to(device), copy.deepcopy(D0).to(device), sources[source], device,
                             n_steps, z_dim, [])

    loops = {"engine": engine, "recipe": lambda: reference("recipe"), "in_memory": lambda: reference("in_memory")}
    engine(3)  # warm-up
    reference("recipe", 3)
    reference("in_memory", 3)
    times = {name: [] for name in loops}
    for _ in range(repeats):  # interleaved
        for name, loop in loops.items():
            times[name].append(_best_time(loop, device, 1))
    ips = {name: steps * batch_size / min(t) for name, t in times.items()}
    return {"dcgan_data": data_name, "dcgan_engine_images_per_s": ips["engine"],
            "dcgan_reference_images_per_s": ips["recipe"],
            f"dcgan_{device.type}_speedup_vs_reference": ips["engine"] / ips["recipe"],
            "dcgan_reference_in_memory_images_per_s": ips["in_memory"],
            f"dcgan_{device.type}_speedup_vs_reference_in_memory": ips["engine"] / ips["in_memory"]}


# the kernels of the nets' layers: convs, the matmuls and col2im of LatentProjection / ToImage, D's linear layer
_CONV_KERNELS = ("conv", "mm", "col2im", "im2col")


def profile_dcgan(device: torch.device, steps: int, width: int, batch_size: int) -> dict:
    """FLOPs per step of the engine's and the reference's DCGAN loops, and their share of CPU time in layer kernels."""
    from torch.profiler import ProfilerActivity, profile
    from torch.utils.flop_counter import FlopCounterMode

    images = torch.rand(4 * batch_size, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    G0, D0 = init_models(0, lambda: dcgan.DCGANGenerator(z_dim=64, width=width),
                         lambda: dcgan.DCGANDiscriminator(width=width))
    config = TrainConfig(steps=steps, batch_size=batch_size, log_every=steps, progress=False)
    loops = {
        "engine": lambda: train(copy.deepcopy(G0), copy.deepcopy(D0), images.to(device), config, device=device),
        "reference": lambda: reference_dcgan_loop(copy.deepcopy(G0).to(device), copy.deepcopy(D0).to(device),
                                                  in_memory_batches(images, batch_size), device, steps, 64, []),
    }
    figures = {}
    for name, loop in loops.items():
        loop()  # warm-up
        with FlopCounterMode(display=False) as flops:
            loop()
        figures[f"dcgan_{name}_gflop_per_step"] = flops.get_total_flops() / steps / 1e9
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            loop()
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        conv = sum(e.self_cpu_time_total for e in events if any(k in e.key for k in _CONV_KERNELS))
        figures[f"dcgan_{name}_layer_kernel_time_fraction"] = conv / total
    return figures


_SPIN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


@contextlib.contextmanager
def busy_core(seconds: float = 120.0) -> Iterator[subprocess.Popen]:
    """Keep one core busy during the block: a Python process that spins, as a browser tab or a build would.

    The process stops by itself after ``seconds`` (so a benchmark killed mid-run leaves nothing
    behind for long) and is killed when the block ends, whatever happens inside it.
    """
    spinner = subprocess.Popen([sys.executable, "-c", _SPIN, str(seconds)])
    try:
        time.sleep(0.2)  # let it start spinning before anything is timed
        yield spinner
    finally:
        spinner.kill()
        spinner.wait()


def load_average() -> str:
    """``1-min / 5-min`` load average of the machine, or ``n/a`` where the OS has none."""
    try:
        one, five, _ = os.getloadavg()
    except (AttributeError, OSError):
        return "n/a"
    flag = f" (above {LOAD_LIMIT}: timings not trustworthy)" if one > LOAD_LIMIT else ""
    return f"{one:.2f} / {five:.2f}{flag}"


def device_name(device: torch.device) -> str:
    """``NVIDIA H100 80GB HBM3``, or ``cpu AMD EPYC (2 threads)``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return f"{device.type} {model} ({torch.get_num_threads()} threads)"


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (about a minute on a 2-core CPU)")
    parser.add_argument("--smoke", action="store_true", help="a few steps of everything: checks that it runs")
    parser.add_argument("--save", action="store_true", help="also write benchmarks/results/<device>.txt")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=None, help="timings per side (best is kept)")
    parser.add_argument("--device", default=None, help="device (default: gancourse.runtime.default_device())")
    parser.add_argument("--profile", action="store_true", help="also count DCGAN FLOPs and time in conv kernels")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else default_device()
    repeats = 1 if args.smoke else args.repeats or 3
    seeds_small = dict(n_seeds=16, steps=2 if args.smoke else 40 if args.quick else 100, width=64, batch_size=64)
    seeds_large = dict(n_seeds=16, steps=40, width=128, batch_size=256)
    dcgan_cfg = dict(steps=2 if args.smoke else 8 if args.quick else 25, width=32, batch_size=64)

    lines = [f"device: {device_name(device)}", f"torch: {torch.__version__}", f"threads: {torch.get_num_threads()}",
             f"load_average_before: {load_average()}",
             f"seeds_setup: 16 seeds, MLP G and D of depth 3, width {seeds_small['width']}, batch "
             f"{seeds_small['batch_size']}, {seeds_small['steps']} steps, ring data from its sampler "
             f"(large: width 128, batch 256, 40 steps)",
             f"dcgan_setup: 28x28, width {dcgan_cfg['width']}, z_dim 64, batch {dcgan_cfg['batch_size']}, "
             f"{dcgan_cfg['steps']} steps, float32"]
    for line in lines:
        print(line, flush=True)

    def emit(figures: dict, suffix: str = "") -> None:
        for name, value in figures.items():
            line = f"{name}{suffix}: {value:.3g}" if isinstance(value, float) else f"{name}{suffix}: {value}"
            lines.append(line)
            print(line, flush=True)

    emit(bench_busy_machine(steps=2 if args.smoke else 20 if args.quick else 50, repeats=repeats,
                            compare_torch_default=not (args.quick or args.smoke)))
    # engine and baselines on the same thread count (the "threads" line), as before gancourse chose threads itself
    with threads.fixed(torch.get_num_threads()):
        emit(bench_seeds(device, repeats=repeats, **seeds_small))
        emit(bench_floor(device, repeats=repeats, **seeds_small))
        if not (args.quick or args.smoke):
            emit(bench_seeds(device, repeats=repeats, **seeds_large), suffix="_width128_batch256")
        emit(bench_dcgan(device, repeats=repeats, **dcgan_cfg))
        if args.profile:
            emit(profile_dcgan(device, steps=2 if args.smoke else 4, width=dcgan_cfg["width"],
                               batch_size=dcgan_cfg["batch_size"]))
    emit({"load_average_after": load_average()})
    if args.save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", device_name(device).lower()).strip("-")
        (RESULTS / f"{slug}{'-quick' if args.quick else ''}.txt").write_text("\n".join(lines) + "\n")
    return lines


if __name__ == "__main__":
    main()
