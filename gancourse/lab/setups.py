"""What one cell of the lab trains and measures: a set-up (nets, baseline config) and a dataset.

A :class:`Setup` is the baseline every fix changes: the constructors of G and D with their
options, the :class:`~gancourse.training.TrainConfig` fields of the baseline run, and how the
data are fed (fresh samples each step, or a fixed training set per seed as in PacGAN's code).
:func:`mlp_setup` is the course's small 2-D GAN at the current budget (chapter 09's table);
:func:`pacgan_setup` is PacGAN's table-1 set-up (``benchmarks/pacgan_table1.py``).

:func:`run_cell` trains one fix on one dataset for a group of seeds (stacked into one batched
run where the models stack) and scores every seed: the 2-D protocol on 2,500 samples for the
mixtures (modes, high-quality share, reverse KL), FID for image datasets. It is a pure function
of its arguments: the same seeds give the same numbers in any process, which is what lets the
lab resume a grid and run cells on Ray.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from gancourse import datasets
from gancourse.lab.fixes import Fix
from gancourse.metrics import mode_coverage_batched
from gancourse.models.mlp import MLPDiscriminator, MLPGenerator
from gancourse.models.multi_generator import MultiMLPGenerator
from gancourse.models.pacgan import PacGANDiscriminator, PacGANGenerator
from gancourse.runtime import by_budget
from gancourse.training import TrainConfig, TrainingDiverged, train_seeds

METRICS = ("modes", "high_quality", "reverse_kl", "fid")
"""What a cell measures per seed (NaN where it does not apply: FID for 2-D data, modes for images)."""

EVAL_STREAM = 0x5EED_E7A1
"""Mixed into each seed for the ``z`` the samples are scored on, so they are not the training stream's draws."""


@dataclass(frozen=True)
class Setup:
    """The baseline of a grid: nets, options, training config and data feeding. See the module docstring.

    ``make_G(**G)`` and ``make_D(**D)`` build one seed's nets (classes with ``stack`` stack over seeds);
    the lab adds ``pack`` to D's options, and to G's if ``g_takes_pack`` (PacGAN's G normalises per
    pack position). ``make_multi_G(n_generators=k, shared_body=True, **G)`` builds MAD-GAN's ``k``
    generators as one G (None: the set-up cannot run a fix with ``n_generators`` > 1); D then
    gets ``out_dim=k + 1``. ``config`` holds TrainConfig fields; ``train_size`` draws a fixed training set
    of that many samples per seed (None: fresh samples every step); ``n_samples`` are scored per seed.
    """

    name: str
    make_G: Callable[..., nn.Module]
    make_D: Callable[..., nn.Module]
    G: Mapping[str, Any] = field(default_factory=dict)
    D: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    g_takes_pack: bool = False
    train_size: int | None = None
    n_samples: int = 2500
    make_multi_G: Callable[..., nn.Module] | None = None

    def __post_init__(self) -> None:
        TrainConfig(**self.config)  # a bad baseline fails here, naming the field
        if self.train_size is not None and self.train_size < 1:
            raise ValueError(f"Setup.train_size must be None or >= 1, got {self.train_size}")
        if self.n_samples < 1:
            raise ValueError(f"Setup.n_samples must be >= 1, got {self.n_samples}")

    def spec(self) -> dict:
        """Plain JSON values describing the set-up (stored with a grid's results)."""
        plain = lambda d: {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(d.items())}  # noqa: E731
        spec = {"name": self.name, "make_G": _qualname(self.make_G), "make_D": _qualname(self.make_D),
                "G": plain(self.G), "D": plain(self.D), "config": plain(self.config),
                "g_takes_pack": self.g_takes_pack, "train_size": self.train_size, "n_samples": self.n_samples}
        if self.make_multi_G is not None:  # only then, so that stores of set-ups without it still resume
            spec["make_multi_G"] = _qualname(self.make_multi_G)
        return spec

    def train_config(self, fix: Fix) -> TrainConfig:
        """The baseline config with the fix's fields on top (no progress bar)."""
        return TrainConfig(**{**self.config, **fix.config, "progress": False})


def _qualname(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def mlp_setup(steps: int | None = None, width: int = 32, depth: int = 2, lr: float = 1e-3,
              batch_size: int = 100) -> Setup:
    """The course's small 2-D GAN: MLPs of ``depth`` x ``width`` (batch norm in G, LeakyReLU in D), Adam.

    ``steps`` defaults to the budget's (smoke 20, default 400, full 5,000). MAD-GAN's generators
    are :class:`~gancourse.models.multi_generator.MultiMLPGenerator` (stacked seeds). Chapter 09's table.
    """
    steps = by_budget(smoke=20, default=400, full=5_000) if steps is None else steps
    return Setup("mlp", MLPGenerator, MLPDiscriminator, G={"width": width, "depth": depth, "norm": "batch"},
                 D={"width": width, "depth": depth}, config={"steps": steps, "batch_size": batch_size, "lr_d": lr,
                                                             "lr_g": lr, "log_every": max(1, min(100, steps))},
                 make_multi_G=MultiMLPGenerator)


PACGAN_STEPS = 400_000
"""400 epochs of 100,000 samples at batch 100: the length of PacGAN's runs."""


def pacgan_setup(steps: int = PACGAN_STEPS, simultaneous: bool = True, width_g: int = 400, width_d: int = 200) -> Setup:
    """PacGAN's table 1 (Lin et al. 2018) as their code runs it; see :mod:`gancourse.models.pacgan` for the nets.

    Adam lr 1e-4, beta1 0.8 (beta2 0.999, Blocks' default), batch 100 (inputs of D: 100 packs of m
    samples), non-saturating loss, D and G updated simultaneously from one batch, a fixed set of
    100,000 samples per run, 2,500 samples scored. ``simultaneous=False`` alternates instead.
    """
    return Setup("pacgan", PacGANGenerator, PacGANDiscriminator, G={"width": width_g}, D={"width": width_d},
                 config={"steps": steps, "batch_size": 100, "lr_d": 1e-4, "lr_g": 1e-4, "betas": (0.8, 0.999),
                         "simultaneous": simultaneous, "log_every": max(1, min(1000, steps))},
                 g_takes_pack=True, train_size=100_000)


# ---------------------------------------------------------------- data


class FixedSamples:
    """A fixed training set per seed, ``data (S, N, ...)``, drawn from as ``sample(n, generator(s))``.

    Each call takes ``n`` rows at random (with replacement) from each seed's own set, seed ``s`` with
    its own generator: ``(S, n, ...)`` for a list of generators, ``(n, ...)`` from set 0 for one.
    """

    accepts_generator_list = True

    def __init__(self, data: Tensor) -> None:
        self.data = data

    def __call__(self, n: int, generator: torch.Generator | Sequence[torch.Generator]) -> Tensor:
        if isinstance(generator, torch.Generator) or generator is None:
            idx = torch.randint(self.data.shape[1], (n,), generator=generator, device=self.data.device)
            return self.data[0, idx]
        idx = torch.stack([torch.randint(self.data.shape[1], (n,), generator=g, device=self.data.device)
                           for g in generator])  # (S, n)
        return torch.gather(self.data, 1, idx[..., None].expand(-1, -1, *self.data.shape[2:]))


@dataclass(frozen=True)
class LabDataset:
    """A dataset of the lab: ``sample(n, generator)`` for training and ``evaluate`` for the scores."""

    name: str
    mixture: datasets.Mixture | None = None

    def training_data(self, seeds: Sequence[int], train_size: int | None, device: torch.device):
        """Fresh samples each step, or a fixed set of ``train_size`` samples per seed."""
        if train_size is None:
            return self.mixture.sample
        sets = torch.stack([self.mixture.sample(train_size, torch.Generator().manual_seed(_derived(s, 1)))
                            for s in seeds])
        return FixedSamples(sets.to(device))

    def evaluate(self, G: nn.Module, seeds: Sequence[int], n_samples: int, device: torch.device) -> list[dict]:
        """Per seed: modes covered, high-quality share and reverse KL of ``n_samples`` samples (2-D protocol)."""
        z_dim = G.z_dim
        z = torch.stack([torch.randn(n_samples, z_dim, generator=torch.Generator().manual_seed(_derived(s, 2)))
                         for s in seeds]).to(device)  # (S, n, z_dim)
        was_training = G.training
        G.eval()  # batch norm's population statistics, as PacGAN's code samples
        with torch.no_grad():
            x = G(z if getattr(G, "n_models", 1) > 1 else z[0])
        G.train(was_training)
        x = x if x.dim() == 3 else x[None]
        if not torch.isfinite(x).all():
            return [dict.fromkeys(METRICS, math.nan) for _ in seeds]
        scores = mode_coverage_batched(x, self.mixture.centers, self.mixture.std)
        return [{"modes": float(scores.modes[i]), "high_quality": float(scores.high_quality[i]),
                 "reverse_kl": float(scores.reverse_kl[i]), "fid": math.nan} for i in range(len(seeds))]


def _derived(seed: int, stream: int) -> int:
    """A seed for stream ``stream`` of seed ``seed`` (1: the fixed training set, 2: the scored ``z``)."""
    return (seed * 1_000_003 + stream * EVAL_STREAM) % (2**63 - 1)


DATASETS: dict[str, LabDataset] = {
    "ring": LabDataset("ring", datasets.ring()),
    "grid": LabDataset("grid", datasets.grid()),
}
"""The lab's datasets by name: chapter 03's 8-Gaussian ring and 25-Gaussian grid."""


def get_dataset(name: str | LabDataset) -> LabDataset:
    """The lab dataset called ``name``."""
    if isinstance(name, LabDataset):
        return name
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown lab dataset {name!r}; use one of {', '.join(DATASETS)}") from None


# ---------------------------------------------------------------- one cell


def run_cell(fix: Fix, dataset: str | LabDataset, seeds: Sequence[int], setup: Setup,
             device: torch.device | str = "cpu") -> list[dict]:
    """Train ``fix`` on ``dataset`` for ``seeds`` and score each seed: one row per seed. Chapter 09.

    Seeds run stacked in one batched run where the fix and the nets allow it, else one by one.
    A fix with ``n_generators = k > 1`` (MAD-GAN) trains the set-up's ``make_multi_G`` against a
    ``(k+1)``-way D and scores the mixture of the ``k`` generators (sample ``j`` from generator ``j mod k``).
    A run that diverges (:class:`~gancourse.training.TrainingDiverged`) gives rows with NaN scores,
    ``diverged=True`` and the message; it does not stop the grid. ``wall_s`` is the cell's wall
    time shared equally among its seeds.
    """
    device = torch.device(device)
    data_set = get_dataset(dataset)
    seeds = list(seeds)
    config = setup.train_config(fix)
    G_options = {**setup.G, **fix.G, **({"pack": config.pack} if setup.g_takes_pack else {})}
    D_options = {**setup.D, **fix.D, "pack": config.pack}
    k = fix.n_generators
    if k > 1:
        if setup.make_multi_G is None:
            raise ValueError(f"fix {fix.name!r} trains {k} generators, but set-up {setup.name!r} cannot build them "
                             f"(Setup.make_multi_G is None); use lab.mlp_setup() or give the set-up make_multi_G")
        G_class = setup.make_multi_G
        G_options = {"n_generators": k, "shared_body": True, **G_options}
        D_options["out_dim"] = k + 1  # which generator made the sample, or real
    else:
        G_class = setup.make_G
    make_G = lambda: G_class(**G_options)  # noqa: E731
    make_D = (lambda: fix.wrap_D(setup.make_D(**D_options))) if fix.wrap_D else (lambda: setup.make_D(**D_options))
    trainer = fix.train or train_seeds
    stacks = fix.stacks and hasattr(G_class, "stack") and hasattr(setup.make_D, "stack")
    groups = [seeds] if stacks else [[s] for s in seeds]
    start = time.perf_counter()
    rows: list[dict] = []
    for group in groups:
        data = data_set.training_data(group, setup.train_size, device)
        try:
            result = trainer(group, make_G, make_D, data, config, device=device)
        except TrainingDiverged as error:
            rows += [{**dict.fromkeys(METRICS, math.nan), "diverged": True, "message": str(error)} for _ in group]
            continue
        rows += [{**scores, "diverged": False, "message": ""}
                 for scores in data_set.evaluate(result.G, group, setup.n_samples, device)]
    wall = time.perf_counter() - start
    return [{"fix": fix.name, "dataset": data_set.name, "seed": s, **row, "wall_s": wall / len(seeds),
             "steps": config.steps} for s, row in zip(seeds, rows, strict=True)]
