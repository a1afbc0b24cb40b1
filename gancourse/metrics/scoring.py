"""Scoring a run at checkpoints: FID, class histogram, a fixed-noise sample grid and the losses at that point.

Chapter 06 draws FID over images seen and a slider over the checkpoints' sample grids;
chapter 04 correlates G's loss with FID across checkpoints, chapter 07 the critic's
estimate with FID. All of them pass a :class:`CheckpointScorer` as the ``callback`` of
:func:`gancourse.training.train` (or call :func:`train_scored`, which also scores the
untrained G at step 0 and times the run)::

    fid_scorer = make_fid_scorer(test_images[:2000])  # the real statistics, computed once
    scorer = CheckpointScorer(fid_scorer, every=500, z_dim=64, seed=runtime.seed(0))
    run = train_scored(fashion_dcgan(seed=runtime.seed(0)), scorer)
    run.scores.fid, run.scores.losses["g_loss"]  # (T,) each, one value per checkpoint

At a checkpoint G is put in eval mode (batch norm uses its running statistics) and makes
``n_samples`` images from the same ``z`` every time, so that checkpoints differ only by
what G learnt; ``fixed_noise`` (the first ``n_fixed`` of them) gives the sample grid, as
pytorch/examples' DCGAN keeps a ``fixed_noise`` batch. Losses are the mean of the history
rows since the previous checkpoint. DCGANs do not stack, so several seeds are several runs
(:func:`train_scored_seeds`); several recipes (chapter 04's balancing recipes) over seeds are
:func:`score_recipes`, with :func:`recipe_rows` and :func:`recipe_table` to record and print them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from gancourse.metrics.classifier import FashionClassifier, load_classifier
from gancourse.metrics.fid import FIDScorer
from gancourse.metrics.histograms import class_histogram, kl_to_uniform
from gancourse.metrics.stats import mean_spread
from gancourse.runtime import default_device
from gancourse.training import TrainResult, train
from gancourse.training.balancing import recipe_trainer
from gancourse.training.history import History

SAMPLE_CHUNK = 500  # images per forward pass of G when sampling at a checkpoint: bounds memory
FID_BATCH = 250  # images per classifier pass: on a CPU, batches of 100-250 ran ~2x faster than 1000 (measured)


def fast_classifier(device: torch.device | str | None = None) -> FashionClassifier:
    """The course's classifier (:func:`~gancourse.metrics.load_classifier`) with channels-last weights.

    The same function up to float rounding; on a 2-core CPU its features for 2,000 images took
    about a third of the time of the default layout (measured once, loaded machine). Chapters 04, 06, 07.
    """
    return load_classifier(device).to(memory_format=torch.channels_last)


def make_fid_scorer(x_real: Tensor, batch_size: int = FID_BATCH) -> FIDScorer:
    """A :class:`~gancourse.metrics.FIDScorer` on ``x_real`` ``(N, 1, 28, 28)`` with :func:`fast_classifier`."""
    return FIDScorer(x_real, fast_classifier(x_real.device), batch_size=batch_size)


@torch.no_grad()
def sample_images(G: nn.Module, z: Tensor, chunk: int = SAMPLE_CHUNK) -> Tensor:
    """``G(z)`` for ``z`` ``(N, z_dim)`` in eval mode, in chunks; returns ``(N, C, H, W)`` contiguous, on G's device.

    G's training mode is restored afterwards. Chapters 04, 06, 07.
    """
    was_training = G.training
    G.eval()
    try:
        device = next(G.parameters()).device
        x = torch.cat([G(z[i:i + chunk].to(device)) for i in range(0, len(z), chunk)])
    finally:
        G.train(was_training)
    return x.contiguous()


@dataclass
class Checkpoint:
    """The scores of one checkpoint: plain values and host tensors."""

    step: int
    fid: float
    class_kl: float
    """``KL(class histogram || uniform)`` of the ``n_samples`` images, nats (0 = every class equally often)."""
    histogram: Tensor
    """``(10,)`` share of the samples the classifier puts in each class."""
    grid: Tensor
    """``(n_fixed, C, H, W)``: ``G(fixed_noise)`` on the host."""
    losses: dict[str, float]
    """Mean of every history record (``d_loss``, ``g_loss``, ``d_real``, ...) since the previous checkpoint."""


class CheckpointScorer:
    """A ``train(callback=...)`` that scores G every ``every`` G steps (chapters 04, 06, 07, 08).

    ``fid_scorer``: a :class:`~gancourse.metrics.FIDScorer` on real images (its statistics are
    computed once and may be shared by many runs; :func:`make_fid_scorer` builds a fast one).
    At each checkpoint: FID and the class histogram of ``n_samples`` images from fixed ``z``
    (drawn from ``seed``), the grid ``G(fixed_noise)`` of the first ``n_fixed`` and the mean losses since the previous
    checkpoint. ``final_step`` (e.g. ``config.steps``) is scored too when ``every`` does not
    divide it. The callback only sees G at ``train``'s flushes, so ``every`` should be a
    multiple of ``config.log_every`` (:func:`train_scored` sets ``log_every`` to fit);
    otherwise a checkpoint is taken at the first flush past it, and its step recorded.
    Results: :attr:`steps`, :attr:`fid`, :attr:`class_kl`, :attr:`histograms`, :attr:`grids`,
    :attr:`losses`, or :meth:`to_dict`; :attr:`seconds` is the time spent scoring.
    """

    def __init__(self, fid_scorer: FIDScorer, every: int, z_dim: int, n_samples: int = 2000, n_fixed: int = 64,
                 seed: int = 0, final_step: int | None = None, classifier: FashionClassifier | None = None) -> None:
        if not isinstance(fid_scorer, FIDScorer):
            raise TypeError(f"fid_scorer must be a gancourse.metrics.FIDScorer, got {type(fid_scorer).__name__}")
        if every < 1:
            raise ValueError(f"every must be >= 1 G step, got {every}")
        if not 2 <= n_samples or not 1 <= n_fixed <= n_samples:
            raise ValueError(f"need n_samples >= 2 and 1 <= n_fixed <= n_samples, got {n_samples} and {n_fixed}")
        self.fid_scorer, self.every, self.final_step = fid_scorer, every, final_step
        self.z = torch.randn(n_samples, z_dim, generator=torch.Generator().manual_seed(seed))  # (n_samples, z_dim)
        self.fixed_noise = self.z[:n_fixed]  # (n_fixed, z_dim): the grid's z, the same at every checkpoint
        self.classifier = classifier if classifier is not None else fast_classifier(fid_scorer.device)
        self.checkpoints: list[Checkpoint] = []
        self.seconds = 0.0
        self._last_row = 0  # history rows before this one belong to earlier checkpoints

    def due(self, step: int) -> bool:
        """Whether a flush at ``step`` (G steps done) should be scored: a multiple of ``every`` passed, or the end."""
        last = self.checkpoints[-1].step if self.checkpoints else 0
        return step > last and (step // self.every > last // self.every or step == self.final_step)

    def __call__(self, step: int, history: History, G: nn.Module, D: nn.Module) -> None:
        if self.due(step):
            self.score(step, G, history)

    @torch.no_grad()
    def score(self, step: int, G: nn.Module, history: History | None = None) -> Checkpoint:
        """Score ``G`` now and record it as the checkpoint at ``step``; returns the :class:`Checkpoint`."""
        start = time.perf_counter()
        x = sample_images(G, self.z)  # (n_samples, C, H, W)
        if not torch.isfinite(x).all():
            raise FloatingPointError(f"G's samples hold NaN or infinite values at step {step}: training diverged")
        # the classifier may live elsewhere than the FID metric (on Apple MPS the metric works on the CPU)
        histogram = class_histogram(x.to(next(self.classifier.parameters()).device), self.classifier, FID_BATCH).cpu()
        losses: dict[str, float] = {}
        if history is not None:
            for key in history.keys:
                rows = history[key][self._last_row:]
                losses[key] = float(rows.double().mean()) if len(rows) else math.nan
            self._last_row = len(history)
        checkpoint = Checkpoint(step=step, fid=self.fid_scorer(x), class_kl=kl_to_uniform(histogram),
                                histogram=histogram, grid=x[:len(self.fixed_noise)].cpu(), losses=losses)
        self.checkpoints.append(checkpoint)
        self.seconds += time.perf_counter() - start
        return checkpoint

    def __len__(self) -> int:
        return len(self.checkpoints)

    @property
    def steps(self) -> Tensor:
        """``(T,)`` int64: the G step of each checkpoint."""
        return torch.tensor([c.step for c in self.checkpoints], dtype=torch.int64)

    @property
    def fid(self) -> Tensor:
        """``(T,)`` float64: FID at each checkpoint."""
        return torch.tensor([c.fid for c in self.checkpoints], dtype=torch.float64)

    @property
    def class_kl(self) -> Tensor:
        """``(T,)`` float64: KL of the class histogram to uniform at each checkpoint."""
        return torch.tensor([c.class_kl for c in self.checkpoints], dtype=torch.float64)

    @property
    def histograms(self) -> Tensor:
        """``(T, 10)``: class shares at each checkpoint."""
        return torch.stack([c.histogram for c in self.checkpoints]) if self.checkpoints else torch.empty(0, 10)

    @property
    def grids(self) -> Tensor:
        """``(T, n_fixed, C, H, W)``: ``G(fixed_noise)`` at each checkpoint."""
        return torch.stack([c.grid for c in self.checkpoints])

    @property
    def losses(self) -> dict[str, Tensor]:
        """``key -> (T,)`` float64 mean of each history record since the previous checkpoint (NaN at step 0)."""
        keys = sorted({k for c in self.checkpoints for k in c.losses})
        return {k: torch.tensor([c.losses.get(k, math.nan) for c in self.checkpoints], dtype=torch.float64)
                for k in keys}

    def to_dict(self) -> dict[str, Tensor]:
        """Every per-checkpoint series as tensors: ``step``, ``fid``, ``class_kl``, ``histogram``, ``grid``, losses."""
        return {"step": self.steps, "fid": self.fid, "class_kl": self.class_kl, "histogram": self.histograms,
                "grid": self.grids, **self.losses}


@dataclass
class ScoredRun:
    """One seed's run: the trained nets and record (``result``), its checkpoint scores, its timing."""

    seed: int
    result: TrainResult
    scores: CheckpointScorer
    train_seconds: float
    """Wall-clock seconds of training, scoring excluded."""
    images_seen: int
    """Real images D saw: ``steps * n_critic * batch_size * pack``."""

    @property
    def images_per_s(self) -> float:
        """Training throughput in real images per second (measured; depends on the machine's load)."""
        return self.images_seen / self.train_seconds


def train_scored(setup: Sequence, scorer: CheckpointScorer, device: torch.device | str | None = None,
                 score_start: bool = True, also: Callable[[int, History, nn.Module, nn.Module], None] | None = None,
                 trainer: Callable[..., TrainResult] = train) -> ScoredRun:
    """Train ``setup`` (``G, D, data, config``, e.g. made by :func:`gancourse.models.fashion_dcgan.fashion_dcgan`)
    with ``scorer``.

    Scores the untrained G at step 0 (``score_start``) and the last step, trains a copy of
    ``config`` whose ``log_every`` divides ``scorer.every`` (so checkpoints fall on flushes), and
    returns a :class:`ScoredRun`. ``trainer`` is called as ``trainer(G, D, data, config,
    callback=..., device=...)``: :func:`~gancourse.training.train` by default, or e.g. a
    ``functools.partial`` of :func:`gancourse.training.balancing.train_waiting`. Chapters 04, 06, 07.
    """
    G, D, data, config = setup
    config = replace(config, log_every=math.gcd(config.log_every, scorer.every))
    if scorer.final_step is None:
        scorer.final_step = config.steps
    device = torch.device(device) if device is not None else default_device()
    if score_start and not scorer.checkpoints:
        scorer.score(0, G.to(device))
    before = scorer.seconds
    start = time.perf_counter()
    if also is None:
        callback = scorer
    else:
        def callback(step: int, history: History, G: nn.Module, D: nn.Module) -> None:
            scorer(step, history, G, D)
            also(step, history, G, D)
    result = trainer(G, D, data, config, callback=callback, device=device)
    seconds = time.perf_counter() - start - (scorer.seconds - before)
    return ScoredRun(seed=config.seed, result=result, scores=scorer, train_seconds=seconds,
                     images_seen=config.steps * config.n_critic * config.batch_size * config.pack)


def train_scored_seeds(seeds: Sequence[int], make_setup: Callable[[int], Sequence], fid_scorer: FIDScorer,
                       every: int, device: torch.device | str | None = None, score_start: bool = True,
                       trainer: Callable[..., TrainResult] = train, **scorer_options) -> list[ScoredRun]:
    """One scored run per seed (DCGANs do not stack): ``make_setup(seed)`` gives ``G, D, data, config``.

    E.g. ``train_scored_seeds(runtime.seeds(3), lambda s: fashion_dcgan(s, data=images), fid_scorer, every=500)``.
    Every run shares ``fid_scorer`` (its real statistics are computed once); each samples its own
    ``z`` from its seed. ``scorer_options`` go to :class:`CheckpointScorer` (``n_samples``, ``n_fixed``);
    ``trainer`` to :func:`train_scored`. Chapters 04, 06, 07, 08.
    """
    runs = []
    for seed in seeds:
        setup = make_setup(seed)
        z_dim = setup[3].z_dim or setup[0].z_dim
        scorer = CheckpointScorer(fid_scorer, every, z_dim, seed=seed, **scorer_options)
        runs.append(train_scored(setup, scorer, device=device, score_start=score_start, trainer=trainer))
    return runs


def stack_runs(runs: Sequence[ScoredRun], key: str) -> Tensor:
    """One per-checkpoint series of several runs as ``(S, T)`` (``fid``, ``class_kl``, ``step`` or a loss key).

    The runs must have the same checkpoints. Chapters 04 and 07 correlate two such series seed by seed.
    """
    series = [run.scores.to_dict()[key] for run in runs]
    if len({len(s) for s in series}) != 1:
        raise ValueError(f"the runs have different numbers of checkpoints: {[len(s) for s in series]}")
    return torch.stack(series)


def score_recipes(recipes: Mapping[str, Mapping[str, float | int]], seeds: Sequence[int],
                  make_setup: Callable[..., Sequence], fid_scorer: FIDScorer, every: int,
                  device: torch.device | str | None = None, **scorer_options) -> dict[str, list[ScoredRun]]:
    """Train every recipe for every seed and score G by FID every ``every`` G steps. Chapter 04, section 5.

    ``recipes``: name -> TrainConfig fields or a waiting threshold, e.g.
    :data:`gancourse.training.balancing.IMAGE_RECIPES` (:func:`~gancourse.training.balancing.recipe_trainer`).

    ``make_setup(seed, **config_fields)`` gives ``G, D, data, config`` with the recipe's config
    fields applied (e.g. ``lambda s, **f: fashion_dcgan(s, width=16, data=images, steps=3000, **f)``);
    the same seed gives every recipe the same initial weights, batches and ``z``.
    ``scorer_options`` go to :class:`CheckpointScorer` (``n_samples``, ``n_fixed``).
    Returns ``{recipe: [one ScoredRun per seed]}``.
    """
    runs = {}
    for name, recipe in recipes.items():
        fields, trainer = recipe_trainer(recipe)
        runs[name] = train_scored_seeds(seeds, lambda seed, fields=fields: make_setup(seed, **fields), fid_scorer,
                                        every, device=device, trainer=trainer, **scorer_options)
    return runs


def recipe_rows(runs: Mapping[str, Sequence[ScoredRun]], tail: float = 0.1) -> list[dict]:
    """One row per recipe and seed from :func:`score_recipes`' runs: plain numbers, ready for JSON and tables.

    ``steps``/``fid``: every checkpoint; ``final_fid``, ``best_fid``; ``d_loss_end``/``g_loss_end``:
    mean losses over the last ``tail`` of the steps; ``ms_per_step``: training time per G step
    (scoring excluded; machine-dependent); ``images_seen``; ``g_waited`` for a waiting recipe.
    """
    rows = []
    for name, seed_runs in runs.items():
        for run in seed_runs:
            history, fid = run.result.history, run.scores.fid
            last = max(1, round(len(history) * tail))
            row = {"recipe": name, "seed": run.seed, "steps": run.scores.steps.tolist(),
                   "fid": [round(float(f), 2) for f in fid], "final_fid": round(float(fid[-1]), 2),
                   "best_fid": round(float(fid.min()), 2),
                   "d_loss_end": round(float(history["d_loss"][-last:].mean()), 4),
                   "g_loss_end": round(float(history["g_loss"][-last:].mean()), 4),
                   "ms_per_step": round(1e3 * run.train_seconds / run.result.steps, 2),
                   "images_seen": run.images_seen}
            if "g_waited" in history:
                row["g_waited"] = round(float(history["g_waited"].mean()), 4)
            rows.append(row)
    return rows


def recipe_table(rows: Sequence[Mapping]) -> str:
    """:func:`recipe_rows`' rows as a text table: per recipe, FID at the end and at its best (mean ± sd over
    seeds), D's loss at the end, real images D saw per G step, and every seed's final FID."""
    def mean_sd(values: list[float]) -> str:
        mean, spread = mean_spread(values)
        return f"{mean:.1f} ± {spread:.1f}"

    names = list(dict.fromkeys(r["recipe"] for r in rows))
    lines = [f"{'recipe':<24}{'final FID':>14}{'best FID':>14}{'D loss':>8}{'images/step':>13}   final FID per seed"]
    for name in names:
        mine = [r for r in rows if r["recipe"] == name]
        d_loss = mean_spread([r["d_loss_end"] for r in mine])[0]
        per_step = mine[0]["images_seen"] / mine[0]["steps"][-1]
        lines.append(f"{name:<24}{mean_sd([r['final_fid'] for r in mine]):>14}"
                     f"{mean_sd([r['best_fid'] for r in mine]):>14}{d_loss:>8.3f}{per_step:>13.0f}   "
                     f"{[r['final_fid'] for r in mine]}")
    return "\n".join(lines)
