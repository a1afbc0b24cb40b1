"""Stacked Fashion-MNIST: the DCGAN on three garments stacked as channels, 1,000 modes, and the fixes on it.

The Stacked MNIST test of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018) with
Fashion-MNIST in place of the digits: a sample is three 28x28 images in three channels, its
mode the triple of classes the course's classifier gives the channels (10^3 = 1,000 modes).
Chapter 08 trains the plain DCGAN and some fixes of :data:`gancourse.fixes.FIXES` on it and
scores modes hit and ``KL(mode histogram || uniform)`` (:func:`gancourse.metrics.stacked_modes`).

The nets are :mod:`gancourse.models.dcgan`'s at ``channels=3``, the training settings
:mod:`gancourse.models.fashion_dcgan`'s (z of 64, batch 64, Adam 2e-4 / (0.5, 0.999), non-saturating).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gancourse import datasets
from gancourse.fixes import Fix, fix_name, get_fix
from gancourse.metrics import FIDScorer, load_classifier, make_stacked, stacked_modes
from gancourse.metrics.histograms import N_STACKED
from gancourse.metrics.scoring import sample_images
from gancourse.metrics.stats import mean_spread
from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gancourse.models.fashion_dcgan import BATCH_SIZE, Z_DIM
from gancourse.models.multi_generator import multi_dcgan_generator
from gancourse.runtime import default_device
from gancourse.training import TrainConfig, train
from gancourse.training.seeds import init_models

N_MODES = 10**N_STACKED


def stacked_data(n: int, seed: int = 0, device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """``n`` stacked training samples ``(n, 3, 28, 28)`` in [-1, 1] and their classes ``(n, 3)``, on ``device``.

    Each sample's channels are three Fashion-MNIST training images drawn uniformly with
    replacement from ``torch.Generator().manual_seed(seed)`` (:func:`gancourse.metrics.make_stacked`).
    """
    device = torch.device(device) if device is not None else default_device()
    images, labels = datasets.fashion_mnist("train", device=device)
    return make_stacked(images, labels, n, torch.Generator().manual_seed(seed))


def dcgan_models(fix: str | Fix, seed: int, width: int = 16) -> tuple[nn.Module, nn.Module]:
    """G and D of the stacked DCGAN with ``fix`` applied, built after ``torch.manual_seed(seed)``. Chapter 08.

    ``spectral_norm`` becomes ``norm="spectral"`` in D; MAD-GAN's ``k`` generators share a body
    (:func:`gancourse.models.multi_generator.multi_dcgan_generator`) against a ``(k+1)``-way D.
    """
    fix = get_fix(fix)
    unknown = set(fix.D) - {"minibatch_stddev", "minibatch_discrimination", "spectral_norm"}
    if unknown or fix.G or fix.wrap_D is not None or fix.train is not None:
        raise ValueError(f"fix {fix.name!r} changes the nets in a way the stacked DCGAN does not translate "
                         f"(D options {sorted(unknown)}, G options {dict(fix.G)}, a D wrapper or a loop of its own)")
    k = fix.n_generators
    d_args = dict(image_size=28, channels=N_STACKED, width=width, pack=fix.pack, out_dim=k + 1 if k > 1 else 1,
                  minibatch_stddev=bool(fix.D.get("minibatch_stddev", False)),
                  minibatch_discrimination=bool(fix.D.get("minibatch_discrimination", False)))
    if fix.D.get("spectral_norm"):
        d_args["norm"] = "spectral"
    g_args = dict(z_dim=Z_DIM, image_size=28, channels=N_STACKED, width=width)

    def make_G() -> nn.Module:
        return multi_dcgan_generator(k, shared_body=True, **g_args) if k > 1 else DCGANGenerator(**g_args)

    return init_models(seed, make_G, lambda: DCGANDiscriminator(**d_args))


def train_config(fix: str | Fix, steps: int, seed: int) -> TrainConfig:
    """The stacked DCGAN's training settings with ``fix``'s options: batch 64, Adam 2e-4 / (0.5, 0.999), z of 64."""
    return TrainConfig(steps=steps, batch_size=BATCH_SIZE, lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999), z_dim=Z_DIM,
                       seed=seed, progress=False, **get_fix(fix).config)


@dataclass
class StackedRun:
    """One fix on stacked Fashion-MNIST for one seed: the score and the cost."""

    fix: str
    seed: int
    modes: int
    """Modes (class triples) hit by at least one of the scored samples, of 1,000."""
    kl: float
    """``KL(mode histogram || uniform over 1,000)`` in nats."""
    fid: float | None
    """FID of the samples' channels, each channel one garment, against real Fashion-MNIST images (None: not scored)."""
    steps: int
    seconds: float
    """Wall-clock seconds of training (scoring excluded; measured, machine-dependent)."""
    G: nn.Module

    @property
    def ms_per_step(self) -> float:
        return 1e3 * self.seconds / self.steps


def channels_as_images(x: Tensor) -> Tensor:
    """Stacked samples ``(N, 3, 28, 28)`` as the ``3N`` one-channel garments they are made of: ``(3N, 1, 28, 28)``."""
    if x.dim() != 4 or x.shape[1] != N_STACKED:
        raise ValueError(f"expected stacked samples (N, {N_STACKED}, H, W), got {tuple(x.shape)}")
    return x.reshape(-1, 1, *x.shape[2:])


def run_stacked(fix: str | Fix, seeds: Sequence[int], data: Tensor, steps: int, width: int = 16,
                n_samples: int = 26_000, device: torch.device | str | None = None,
                fid_scorer: FIDScorer | None = None, n_fid: int = 2000) -> list[StackedRun]:
    """Train ``fix`` on the stacked ``data`` ``(N, 3, 28, 28)`` for ``steps`` G steps, once per seed; score each.

    Each seed's G then makes ``n_samples`` samples (26,000 in the published protocol) from
    ``z`` drawn with ``torch.Generator().manual_seed(seed)``; the classifier labels each channel.
    With a ``fid_scorer`` (on real Fashion-MNIST images), the channels of the first ``n_fid``
    samples (:func:`channels_as_images`, ``3 * n_fid`` garments) are scored by FID too: what a fix
    costs in image quality. Chapter 08 (three fixes, three seeds); ``benchmarks/stacked_fashion.py``.
    """
    name, fix = fix_name(fix), get_fix(fix)
    if data.dim() != 4 or tuple(data.shape[1:]) != (N_STACKED, 28, 28):
        raise ValueError(f"data must be stacked samples (N, 3, 28, 28) from stacked_data(n), got {tuple(data.shape)}")
    if steps < 1 or n_samples < 1:
        raise ValueError(f"steps and n_samples must be >= 1, got {steps} and {n_samples}")
    if fid_scorer is not None and not 1 <= n_fid <= n_samples:
        raise ValueError(f"n_fid must be between 1 and n_samples ({n_samples}), got {n_fid}")
    device = torch.device(device) if device is not None else default_device()
    classifier = load_classifier(device)
    runs = []
    for seed in seeds:
        G, D = dcgan_models(fix, seed, width)
        config = train_config(fix, steps, seed)
        start = time.perf_counter()
        result = train(G, D, data, config, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        z = torch.randn(n_samples, Z_DIM, generator=torch.Generator().manual_seed(seed)).to(device)
        x = sample_images(result.G, z)  # (n_samples, 3, 28, 28)
        modes, kl = stacked_modes(x, classifier)
        fid = None if fid_scorer is None else fid_scorer(channels_as_images(x[:n_fid]))
        runs.append(StackedRun(name, seed, modes, kl, fid, steps, seconds, result.G))
    return runs


def step_costs(fixes: Sequence[str | Fix], data: Tensor, steps: int = 50, width: int = 16, repeats: int = 3,
               seed: int = 0, device: torch.device | str | None = None, baseline: str = "plain") -> list[dict]:
    """Time per G step of each fix on the stacked DCGAN, against ``baseline``, measured in one run.

    Each of ``repeats`` rounds trains every fix for ``steps`` G steps (nets built after
    ``torch.manual_seed(seed)``), the fixes one after another, so that a change in the machine's
    load lands on every fix alike, and each round starts one fix further down the list, so that no
    fix always runs first; a fix's time is its fastest round (wall clock and this process's CPU
    time, each). A two-step run of every fix goes first and is not timed (start-up costs).
    Returns one row per fix, ``baseline`` first: ``fix``, ``ms_per_step``, ``cpu_ms_per_step``,
    ``time_ratio`` and ``cpu_ratio`` (each over ``baseline``'s), and ``ms_rounds``, the wall-clock
    time per step of every round (how much one step varies on this machine).
    ``benchmarks/stacked_fashion.py --costs``; chapter 08.
    """
    names = [fix_name(f) for f in fixes]
    if baseline in names:
        fixes = [f for f, n in zip(fixes, names, strict=True) if n != baseline]
        names = [n for n in names if n != baseline]
    fixes, names = [baseline, *fixes], [baseline, *names]
    if len(set(names)) != len(names):
        raise ValueError(f"each fix once, please: got {names}")
    if steps < 1 or repeats < 1:
        raise ValueError(f"steps and repeats must be >= 1, got {steps} and {repeats}")
    if data.dim() != 4 or tuple(data.shape[1:]) != (N_STACKED, 28, 28):
        raise ValueError(f"data must be stacked samples (N, 3, 28, 28) from stacked_data(n), got {tuple(data.shape)}")
    device = torch.device(device) if device is not None else default_device()

    def timed(fix: str | Fix, n_steps: int) -> tuple[float, float]:
        fix = get_fix(fix)
        G, D = dcgan_models(fix, seed, width)
        config = train_config(fix, n_steps, seed)
        start, cpu_start = time.perf_counter(), time.process_time()
        train(G, D, data, config, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return 1e3 * (time.perf_counter() - start) / n_steps, 1e3 * (time.process_time() - cpu_start) / n_steps

    for fix in fixes:
        timed(fix, 2)  # warm-up, not timed
    times: list[list[tuple[float, float]]] = [[] for _ in fixes]
    for r in range(repeats):
        for i in [*range(r % len(fixes), len(fixes)), *range(r % len(fixes))]:  # each round starts one fix later
            times[i].append(timed(fixes[i], steps))
    best = [(min(ms for ms, _ in t), min(cpu for _, cpu in t)) for t in times]
    base_ms, base_cpu = best[0]
    return [{"fix": name, "ms_per_step": round(ms, 2), "cpu_ms_per_step": round(cpu, 2),
             "time_ratio": round(ms / base_ms, 3), "cpu_ratio": round(cpu / base_cpu, 3),
             "ms_rounds": [round(t, 2) for t, _ in rounds]}
            for name, (ms, cpu), rounds in zip(names, best, times, strict=True)]


def stacked_table(rows: Sequence[Mapping]) -> str:
    """Rows of per-seed scores (``fix``, ``seed``, ``modes``, ``kl``, ``fid``; e.g. a recording of
    ``benchmarks/stacked_fashion.py``) as a text table: per fix, the mean ± sd over seeds and every seed's modes."""
    def mean_sd(values: list[float]) -> str:
        mean, spread = mean_spread(values)
        return f"{mean:.1f} ± {spread:.1f}"

    lines = [f"{'fix':<26}{'modes (of 1000)':>17}{'KL':>13}{'FID':>14}   modes per seed"]
    for fix in dict.fromkeys(r["fix"] for r in rows):
        mine = [r for r in rows if r["fix"] == fix]
        lines.append(f"{fix:<26}{mean_sd([r['modes'] for r in mine]):>17}{mean_sd([r['kl'] for r in mine]):>13}"
                     f"{mean_sd([r['fid'] for r in mine]):>14}   {[r['modes'] for r in mine]}")
    return "\n".join(lines)
