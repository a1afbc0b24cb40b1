"""Chapter 08's fixes for mode collapse under the chapter's names, and one function that runs a fix over seeds.

Every fix is defined once, in the course's registry :data:`gancourse.lab.fixes.FIXES` (a
:class:`~gancourse.lab.fixes.Fix`: D's options, G's, fields of
:class:`~gancourse.training.TrainConfig`, a number of generators), which chapter 09's lab reads
too. This module names chapter 08's choices as the chapter writes them (:data:`CHAPTER_08`:
``"packing"`` is the registry's ``pack2``); :func:`get_fix` takes either name. The same fix runs
on the 2-D MLPs (:func:`mlp_models`, stacked seeds) and on the DCGAN
(:mod:`gancourse.stacked_fashion`); :data:`FIXES` holds the chapter's choices:

=========================  =====================================================================
plain                      the non-saturating GAN, nothing added
minibatch discrimination   D sees each sample's closeness to the others (Salimans et al. 2016)
minibatch stddev           D sees the batch's spread, one feature (Karras et al. 2018)
packing                    D judges 2 samples at once, PacGAN2 (Lin et al. 2018)
feature matching           G matches the mean of D's last hidden layer (Salimans et al. 2016)
label smoothing            D's target for real data is 0.9, one-sided (Salimans et al. 2016)
instance noise             N(0, 0.1^2) noise on D's inputs, annealed to 0 (Sønderby et al. 2017;
                           Arjovsky & Bottou 2017)
unrolled                   G steps against D unrolled 5 steps ahead (Metz et al. 2017)
multiple generators        MAD-GAN: 5 generators sharing a body, a 6-way D (Ghosh et al. 2018)
spectral norm              every layer of D divided by its largest singular value (Miyato et al. 2018)
R1                         penalty gamma/2 E||grad D(x_real)||^2 with gamma = 1 (Mescheder et al. 2018)
=========================  =====================================================================

:func:`run_fix` trains one fix on a mixture for ``S`` seeds in one batched run, with
:class:`GridSetup`'s nets and schedule, and returns a :class:`FixRun` (the scores of the
VEEGAN/PacGAN protocol per seed, the samples, the time per step).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from gancourse import datasets
from gancourse.lab import fixes as registry
from gancourse.lab.fixes import Fix
from gancourse.metrics import BatchedModeCoverage, mode_coverage_batched
from gancourse.metrics.stats import mean_spread
from gancourse.models import mlp
from gancourse.models.multi_generator import MultiMLPGenerator
from gancourse.runtime import default_device
from gancourse.training import TrainConfig, TrainResult, train, train_seeds

CHAPTER_08: dict[str, str] = {
    "plain": "gan",
    "minibatch discrimination": "minibatch_discrimination",
    "minibatch stddev": "minibatch_stddev",
    "packing": "pack2",
    "feature matching": "feature_matching",
    "label smoothing": "label_smoothing",
    "instance noise": "instance_noise",
    "unrolled": "unrolled5",
    "multiple generators": "mad_gan",
    "spectral norm": "spectral_norm",
    "R1": "r1",
}
"""Chapter 08's name of each of its fixes -> the fix's name in the registry (:data:`gancourse.lab.fixes.FIXES`)."""


class _ChapterFixes(Mapping):
    """Chapter 08's fixes by the chapter's names, read from the registry on every access (never a copy)."""

    def __getitem__(self, name: str) -> Fix:
        return registry.FIXES[CHAPTER_08[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(CHAPTER_08)

    def __len__(self) -> int:
        return len(CHAPTER_08)


FIXES: Mapping[str, Fix] = _ChapterFixes()
"""Chapter 08's fixes by the chapter's names, ``plain`` first: a read-only view of the registry."""


def get_fix(fix: str | Fix) -> Fix:
    """``fix`` itself, or the fix called ``fix`` in chapter 08 (``"packing"``) or in the registry (``"pack2"``)."""
    if isinstance(fix, Fix):
        return fix
    if isinstance(fix, str) and fix in CHAPTER_08:
        return FIXES[fix]
    if isinstance(fix, str) and fix in registry.FIXES:
        return registry.FIXES[fix]
    raise ValueError(f"unknown fix {fix!r}; use one of chapter 08's: {', '.join(CHAPTER_08)}, or a name of "
                     f"gancourse.lab.FIXES ({', '.join(registry.FIXES)}), or build a gancourse.lab.Fix")


def fix_name(fix: str | Fix) -> str:
    """The name to show for ``fix``: a string as given (chapter 08's or the registry's), else the fix's name."""
    return fix if isinstance(fix, str) else fix.name


@dataclass(frozen=True)
class GridSetup:
    """The nets, batch and schedule every fix shares on a 2-D mixture (chapter 08's defaults).

    G: ``depth`` hidden layers of ``width`` ReLU units with batch norm, ``z`` of ``z_dim``
    dimensions; D: ``depth`` hidden layers of ``width`` LeakyReLU units (chapter 03's nets).
    Adam (0.5, 0.999) at ``lr`` for ``steps`` G steps, then fresh optimizers at ``settle_lr``
    for ``settle_steps`` more, so that the samples settle onto the modes. Minibatch
    discrimination uses ``n_kernels`` kernels of dimension ``kernel_dim`` (fewer than the
    reference code's 100: its cost grows as kernels x batch^2, on 2-D inputs).
    """

    steps: int = 1000
    settle_steps: int = 200
    width: int = 64
    depth: int = 3
    z_dim: int = 2
    batch_size: int = 100
    lr: float = 1e-3
    settle_lr: float = 1e-4
    n_kernels: int = 10
    kernel_dim: int = 5
    n_samples: int = 2500
    """Samples per seed for the protocol (2,500 as in VEEGAN and PacGAN)."""

    def __post_init__(self) -> None:
        for name in ("steps", "width", "z_dim", "batch_size", "n_kernels", "kernel_dim", "n_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GridSetup.{name} must be an int >= 1, got {value!r}")
        if isinstance(self.settle_steps, bool) or not isinstance(self.settle_steps, int) or self.settle_steps < 0:
            raise ValueError(f"GridSetup.settle_steps must be an int >= 0, got {self.settle_steps!r}")
        if not (self.lr > 0 and self.settle_lr > 0):
            raise ValueError(f"GridSetup.lr and settle_lr must be > 0, got {self.lr} and {self.settle_lr}")


def mlp_models(fix: str | Fix, setup: GridSetup = GridSetup(), out_dim: int = 2
               ) -> tuple[Callable[[], nn.Module], Callable[[], nn.Module]]:
    """``(make_G, make_D)`` building one seed's 2-D G and D with ``fix`` applied (for ``train_seeds``). Chapter 08.

    The fix's ``D`` and ``G`` options go to the MLPs' constructors; ``n_generators`` > 1 builds MAD-GAN's
    generators sharing a body. Fixes with a D wrapper or a loop of their own run in the lab only.
    """
    fix = get_fix(fix)
    if fix.wrap_D is not None or fix.train is not None:
        raise ValueError(f"fix {fix.name!r} has its own D wrapper or training loop, which run_fix does not run; "
                         f"train it with gancourse.lab.run_grid")
    G_class = MultiMLPGenerator if fix.n_generators > 1 else mlp.MLPGenerator
    for part, net in (("D", mlp.MLPDiscriminator), ("G", G_class)):
        unknown = set(getattr(fix, part)) - set(inspect.signature(net).parameters)
        if unknown:
            raise ValueError(f"fix {fix.name!r}: {net.__name__} has no option {', '.join(sorted(unknown))}")
    k = fix.n_generators
    g_args = dict(z_dim=setup.z_dim, out_dim=out_dim, width=setup.width, depth=setup.depth, norm="batch", **fix.G)
    d_args = dict(in_dim=out_dim, width=setup.width, depth=setup.depth, activation="leaky_relu", pack=fix.pack,
                  n_kernels=setup.n_kernels, kernel_dim=setup.kernel_dim, out_dim=k + 1 if k > 1 else 1, **fix.D)

    def make_G() -> nn.Module:
        return MultiMLPGenerator(k, shared_body=True, **g_args) if k > 1 else mlp.MLPGenerator(**g_args)

    def make_D() -> nn.Module:
        return mlp.MLPDiscriminator(**d_args)

    return make_G, make_D


@dataclass
class FixRun:
    """One fix trained on a 2-D mixture for ``S`` seeds: scores, samples, nets and cost."""

    fix: Fix
    seeds: list[int]
    scores: BatchedModeCoverage
    """Per seed (``(S,)`` tensors on the host): ``modes``, ``high_quality``, ``reverse_kl``, ``counts`` (S, K)."""
    samples: Tensor
    """``(S, n_samples, 2)`` host tensor: G's samples (eval mode) the scores were computed on."""
    result: TrainResult
    """The settle phase's result: the stacked nets (``result.G.unstack(i)`` is seed ``seeds[i]``) and its record."""
    steps: int
    """G steps in all (both phases)."""
    seconds: float
    """Wall-clock seconds of training (both phases, scoring excluded)."""
    cpu_seconds: float
    """CPU seconds of this process during training (less sensitive than wall time to other programs)."""

    @property
    def ms_per_step(self) -> float:
        """Wall-clock milliseconds per G step (all ``S`` seeds together; measured, machine-dependent)."""
        return 1e3 * self.seconds / self.steps

    @property
    def cpu_ms_per_step(self) -> float:
        """CPU milliseconds per G step (all seeds together)."""
        return 1e3 * self.cpu_seconds / self.steps

    def summary(self) -> dict[str, tuple[float, float]]:
        """``mean, spread`` over seeds of ``modes``, ``high_quality`` (in %) and ``reverse_kl``."""
        return {"modes": mean_spread(self.scores.modes.double()),
                "high_quality": mean_spread(100 * self.scores.high_quality.double()),
                "reverse_kl": mean_spread(self.scores.reverse_kl.double())}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_fix(fix: str | Fix, seeds: Sequence[int], mixture: datasets.Mixture | None = None,
            setup: GridSetup = GridSetup(), eval_seed: int = 2025, device: torch.device | str | None = None
            ) -> FixRun:
    """Train ``fix`` on ``mixture`` (default the 25-Gaussian grid) for every seed in one batched run; score it.

    Seed ``s`` builds its nets after ``torch.manual_seed(s)`` and draws its own batches
    (:func:`~gancourse.training.train_seeds`); the settle phase draws from seeds ``s + 500``.
    Instance noise anneals to 0 over the first phase. Each seed's G (eval mode) then maps
    ``setup.n_samples`` latent vectors drawn from ``eval_seed`` (the same for every fix) to the
    samples that are scored with the VEEGAN/PacGAN protocol. Chapter 08 (every fix on the
    grid), chapter 09's lab (larger budgets); take ``seeds`` from :func:`gancourse.runtime.seeds`.
    """
    fix = get_fix(fix)
    seeds = list(seeds)
    if len(seeds) < 2:
        raise ValueError(f"run_fix trains seeds side by side: pass at least 2 seeds, got {seeds}")
    mixture = datasets.grid() if mixture is None else mixture
    device = torch.device(device) if device is not None else default_device()
    make_G, make_D = mlp_models(fix, setup, out_dim=mixture.centers.shape[1])
    fields = dict(fix.config)
    if fields.get("instance_noise"):
        fields.setdefault("instance_noise_anneal", setup.steps)
    config = TrainConfig(steps=setup.steps, batch_size=setup.batch_size, lr_d=setup.lr, lr_g=setup.lr,
                         z_dim=setup.z_dim, progress=False, **fields)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = train_seeds(seeds, make_G, make_D, mixture.sample, config, device=device)
    if setup.settle_steps:
        settle = replace(config, steps=setup.settle_steps, lr_d=setup.settle_lr, lr_g=setup.settle_lr,
                         instance_noise=0.0, instance_noise_anneal=None)
        result = train(result.G, result.D, mixture.sample, settle, seeds=[s + 500 for s in seeds], device=device)
    _sync(device)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    z = torch.randn(len(seeds), setup.n_samples, setup.z_dim, generator=torch.Generator().manual_seed(eval_seed))
    with torch.no_grad():
        samples = result.G.eval()(z.to(device)).float()  # (S, n_samples, 2)
    result.G.train()
    scores = mode_coverage_batched(samples, mixture.centers, mixture.std)
    host = BatchedModeCoverage(*(t.cpu() for t in (scores.modes, scores.high_quality, scores.reverse_kl,
                                                   scores.counts)))
    return FixRun(fix, seeds, host, samples.cpu(), result, setup.steps + setup.settle_steps, seconds, cpu_seconds)


def run_fixes(fixes: Sequence[str | Fix], seeds: Sequence[int], mixture: datasets.Mixture | None = None,
              setup: GridSetup = GridSetup(), **kwargs) -> dict[str, FixRun]:
    """:func:`run_fix` for each of ``fixes`` with the same seeds, mixture and set-up: ``name -> FixRun``.

    Each run is keyed by the name it was given (chapter 08's ``"packing"`` or the registry's ``"pack2"``).
    A two-step run of the first fix goes first and is thrown away, so that one-time start-up costs
    (allocations, lazy initialisation) do not land in the first fix's time per step.
    """
    if not fixes:
        raise ValueError("run_fixes needs at least one fix, e.g. list(gancourse.fixes.FIXES)")
    run_fix(fixes[0], seeds, mixture, replace(setup, steps=2, settle_steps=0), **kwargs)  # warm-up, not timed
    return {fix_name(f): run_fix(f, seeds, mixture, setup, **kwargs) for f in fixes}


def comparison_rows(runs: Mapping[str, FixRun], baseline: str = "plain") -> list[dict[str, Any]]:
    """One row per run: the mean and spread of each score and the time per step relative to ``baseline``."""
    if baseline not in runs:
        raise ValueError(f"the baseline {baseline!r} is not among the runs ({', '.join(runs)})")
    base = runs[baseline]
    rows = []
    for name, run in runs.items():
        row: dict[str, Any] = {"fix": name, "seeds": len(run.seeds)}
        for key, (mean, spread) in run.summary().items():
            row[key], row[key + "_spread"] = mean, spread
        row["time_ratio"] = run.ms_per_step / base.ms_per_step
        row["cpu_ratio"] = run.cpu_ms_per_step / base.cpu_ms_per_step
        rows.append(row)
    return rows


def comparison_table(runs: Mapping[str, FixRun], baseline: str = "plain") -> str:
    """:func:`comparison_rows` as a text table (mean ± spread over seeds; times relative to ``baseline``)."""
    lines = [f"{'fix':<26}{'seeds':>6}{'modes (of K)':>16}{'% high quality':>18}{'reverse KL':>16}"
             f"{'time/step':>11}{'CPU/step':>10}"]
    for r in comparison_rows(runs, baseline):
        lines.append(f"{r['fix']:<26}{r['seeds']:>6}{r['modes']:>9.1f} ± {r['modes_spread']:<4.1f}"
                     f"{r['high_quality']:>11.1f} ± {r['high_quality_spread']:<4.1f}"
                     f"{r['reverse_kl']:>9.2f} ± {r['reverse_kl_spread']:<4.2f}"
                     f"{r['time_ratio']:>10.1f}x{r['cpu_ratio']:>9.1f}x")
    return "\n".join(lines)
