"""The playground's state without any widget: settings -> data, models, a training run per seed group, measurements.

Chapter 00's playground (:mod:`gancourse.widgets.playground`) is a view of a :class:`Session`;
tests and scripts train one headless (``Session(settings).advance(500)``), which is how the
scenarios of :mod:`gancourse.widgets.scenarios` are measured. The training itself is the
engine's (:class:`gancourse.training.Run`): a session only builds the models, advances the
run in chunks and measures after each chunk:

* modes covered and the high-quality share on ``n_eval`` fixed ``z`` (the 2-D protocol of
  :mod:`gancourse.metrics.modes`; mixtures only);
* KL and JS of grid histograms, data against samples (:mod:`gancourse.metrics.grid_divergence`);
* the health monitor's symptoms as they appear (:mod:`gancourse.diagnostics.health`).

Several seeds train side by side: stacked into one model where the models allow it
(:func:`gancourse.training.seeds.stacked_models`), else one run per seed (spectral norm, or a
learner's own models that cannot be stacked).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from gancourse import datasets
from gancourse.diagnostics import input_gradient_field, mean_pairwise_distance
from gancourse.diagnostics.health import HealthMonitor, Symptom
from gancourse.metrics.grid_divergence import grid_divergences
from gancourse.metrics.modes import mode_coverage_batched
from gancourse.models import mlp
from gancourse.regularizers import spectral_norm
from gancourse.training import Run, TrainConfig
from gancourse.training.seeds import init_models

DATA: dict[str, Callable[[], datasets.Mixture | datasets.Segments]] = {
    "ring": datasets.ring, "grid": datasets.grid, "gaussian": datasets.gaussian,
    "two_gaussians": datasets.two_gaussians, "line": datasets.line, "two_lines": datasets.two_lines,
}
"""The playground's data by name: the course's ring and grid, and GAN Lab's simpler shapes."""

HOT = ("loss", "lr_d", "lr_g", "n_critic", "batch_size", "gp_weight", "r1_weight", "clip_value", "instance_noise",
       "instance_noise_anneal", "label_smoothing", "unrolled_steps")
"""Settings that a running session takes from its next step on; changing any other one builds a new session."""

ENDLESS = 10**9  # TrainConfig.steps of a playground run: it goes on until the learner stops it


@dataclass
class Settings:
    """Every control of the playground. Values are checked where they are used (TrainConfig, the MLPs)."""

    data: str = "ring"
    """One of :data:`DATA`."""
    loss: str = "non_saturating"
    """One of ``gancourse.losses.LOSSES``."""
    lr_d: float = 3e-3
    lr_g: float = 3e-3
    n_critic: int = 1
    batch_size: int = 128
    width: int = 64
    """Units per hidden layer, G and D."""
    depth: int = 2
    """Hidden layers, G and D."""
    g_activation: str = "tanh"
    d_activation: str = "leaky_relu"
    z_dim: int = 2
    gp_weight: float = 0.0
    r1_weight: float = 0.0
    clip_value: float = 0.0
    """WGAN weight clipping bound c; 0 = off."""
    instance_noise: float = 0.0
    instance_noise_anneal: int = 2000
    """G steps over which instance noise decays to 0."""
    label_smoothing: float = 0.0
    pack: int = 1
    unrolled_steps: int = 0
    minibatch_discrimination: bool = False
    spectral_norm: bool = False
    n_seeds: int = 1
    """How many seeds train side by side (1-4 in the playground)."""
    first_seed: int = 0
    """Seeds are ``first_seed, first_seed + 1, ...``."""

    def seeds(self) -> list[int]:
        if not isinstance(self.n_seeds, int) or not 1 <= self.n_seeds <= 4:
            raise ValueError(f"n_seeds must be an int from 1 to 4, got {self.n_seeds!r}")
        if not isinstance(self.first_seed, int) or self.first_seed < 0:
            raise ValueError(f"first_seed must be an int >= 0, got {self.first_seed!r}")
        return [self.first_seed + s for s in range(self.n_seeds)]

    def train_config(self) -> TrainConfig:
        """The engine's config for these settings (raises TrainConfig's ``ValueError`` on a bad value)."""
        return TrainConfig(
            steps=ENDLESS, batch_size=self.batch_size, z_dim=self.z_dim, loss=self.loss, lr_d=self.lr_d,
            lr_g=self.lr_g, n_critic=self.n_critic, unrolled_steps=self.unrolled_steps, gp_weight=self.gp_weight,
            r1_weight=self.r1_weight, clip_value=self.clip_value or None, instance_noise=self.instance_noise,
            instance_noise_anneal=self.instance_noise_anneal, label_smoothing=self.label_smoothing, pack=self.pack,
            log_every=50, progress=False)


@dataclass
class Measurements:
    """What a session measured after each chunk: one row per chunk, values ``(S,)`` per seed (NaN: not measured)."""

    steps: list[int] = field(default_factory=list)
    modes: list[Tensor] = field(default_factory=list)
    high_quality: list[Tensor] = field(default_factory=list)
    kl: list[Tensor] = field(default_factory=list)
    js: list[Tensor] = field(default_factory=list)

    def as_tensors(self) -> dict[str, Tensor]:
        """``step`` ``(T,)`` and each measurement ``(T, S)``."""
        out = {"step": torch.tensor(self.steps, dtype=torch.long)}
        for name in ("modes", "high_quality", "kl", "js"):
            rows = getattr(self, name)
            out[name] = torch.stack(rows) if rows else torch.empty(0)
        return out


def default_G(settings: Settings) -> nn.Module:
    return mlp.MLPGenerator(z_dim=settings.z_dim, width=settings.width, depth=settings.depth,
                            activation=settings.g_activation)


def default_D(settings: Settings) -> nn.Module:
    return mlp.MLPDiscriminator(width=settings.width, depth=settings.depth, activation=settings.d_activation,
                                pack=settings.pack, minibatch_discrimination=settings.minibatch_discrimination)


class Session:
    """One playground experiment: the seeds' models and runs, built from ``settings``, measured after each chunk.

    ``make_G(settings)`` / ``make_D(settings)`` build one seed's models (default: the course's
    MLPs from the width/depth/activation settings); a learner's own models go here. Models of
    seed ``s`` are built after ``torch.manual_seed(s)``, so a new session with the same settings
    starts from exactly the same weights (the playground's Reset).
    """

    def __init__(self, settings: Settings, make_G: Callable[[Settings], nn.Module] = default_G,
                 make_D: Callable[[Settings], nn.Module] = default_D, device: torch.device | str = "cpu",
                 n_eval: int = 2500, diversity_warmup: int = 500) -> None:
        if settings.data not in DATA:
            raise ValueError(f"data must be one of {', '.join(DATA)}, got {settings.data!r}")
        self.settings = dataclasses.replace(settings)
        self.data = DATA[settings.data]()
        self.seeds = settings.seeds()
        self.diversity_warmup = diversity_warmup
        config = settings.train_config()
        self.device = torch.device(device)

        def build_D() -> nn.Module:
            D = make_D(settings)
            return spectral_norm(D) if settings.spectral_norm else D

        pairs = [init_models(s, lambda: make_G(settings), build_D) for s in self.seeds]  # seed s's initial weights
        stackable = len(self.seeds) > 1 and not settings.spectral_norm and all(
            hasattr(type(m), "stack") for m in pairs[0])
        if stackable:  # one batched run for all seeds (as seeds.stacked_models builds it)
            G, D = (type(pairs[0][k]).stack([pair[k] for pair in pairs]) for k in (0, 1))
            self.runs = [Run(G, D, self.data.sample, config, device=self.device, seeds=self.seeds)]
        else:
            self.runs = [Run(G, D, self.data.sample, dataclasses.replace(config, seed=s), device=self.device)
                         for s, (G, D) in zip(self.seeds, pairs, strict=True)]
        generator = torch.Generator().manual_seed(self.seeds[0])
        z_dim = self.runs[0].z_dim
        self.z_eval = torch.randn(len(self.seeds), n_eval, z_dim, generator=generator).to(self.device)  # (S, N, z)
        self.x_real = self.data.sample(4000, generator).to(self.device)  # (4000, 2): the histograms' data side
        self.extent = _square_box(self.x_real)
        self.n_spread = 256
        self.data_spread = float(mean_pairwise_distance(self.x_real[: self.n_spread]))
        self.measurements = Measurements()
        # the collapse check joins after a warm-up: G starts as a small blob, which is not a collapse
        self.monitors = [HealthMonitor(verbose=False) for _ in self.runs]
        self.symptoms: list[Symptom] = []
        self.measure()

    # ------------------------------------------------------------ per-seed views of the runs

    def _slices(self) -> list[tuple[Run, slice]]:
        """Each run with the slice of ``self.seeds`` it trains."""
        if len(self.runs) == 1:
            return [(self.runs[0], slice(0, len(self.seeds)))]
        return [(run, slice(i, i + 1)) for i, run in enumerate(self.runs)]

    def _run_input(self, run: Run, x: Tensor) -> Tensor:
        """``x`` ``(S_run, N, ...)`` as the run's models take it: stacked, or one seed's ``(N, ...)``."""
        return x if getattr(run.G, "stacked", False) else x[0]

    @property
    def step(self) -> int:
        """G steps done (every seed has done the same)."""
        return self.runs[0].step

    @torch.no_grad()
    def samples(self, n: int | None = None) -> Tensor:
        """Each seed's ``G(z)`` on the fixed evaluation ``z``: ``(S, n, 2)``."""
        out = []
        for run, part in self._slices():
            x = run.G(self._run_input(run, self.z_eval[part, :n]))
            out.append(x if x.dim() == 3 else x[None])
        return torch.cat(out)

    def D_of(self, s: int) -> Callable[[Tensor], Tensor]:
        """Seed ``s``'s D as a function of points ``(P, 2)`` -> logits ``(P,)`` (a packed D sees each point m times).

        A D with minibatch discrimination judges each point together with the others of its batch, so
        the points go through it in batches of ``batch_size`` (all at once would cost ``P^2`` distances
        per kernel): for such a D the values depend on which points share a batch.
        """
        index = next(i for i, (_, part) in enumerate(self._slices()) if part.start <= s < part.stop)
        run, part = self._slices()[index]
        m = self.settings.pack

        def judge(points: Tensor) -> Tensor:
            x = points.repeat(1, m) if m > 1 else points
            if getattr(run.D, "stacked", False):
                return run.D(x.expand(part.stop - part.start, *x.shape))[s - part.start, :, 0]
            return run.D(x)[:, 0]

        def D(points: Tensor) -> Tensor:
            if self.settings.minibatch_discrimination:
                return torch.cat([judge(chunk) for chunk in points.split(self.settings.batch_size)])
            return judge(points)

        return D

    def pushes(self, x_fake: Tensor) -> Tensor:
        """Where G's loss pushes each sample, ``-grad_x`` of G's loss at ``x_fake`` ``(S, N, 2)``: ``(S, N, 2)``.

        Only for unpacked D (a packed D judges several samples together); zeros otherwise.
        """
        if self.settings.pack > 1 or self.settings.minibatch_discrimination:
            return torch.zeros_like(x_fake)
        out = []
        for run, part in self._slices():
            field_ = -input_gradient_field(run.D, self._run_input(run, x_fake[part]), self.settings.loss)
            out.append(field_ if field_.dim() == 3 else field_[None])
        return torch.cat(out)

    def history(self, key: str) -> Tensor:
        """A record of the training loop for every seed: ``(T, S)``."""
        columns = [run.history[key] for run in self.runs]
        return torch.cat([c if c.dim() == 2 else c[:, None] for c in columns], dim=1)

    # ------------------------------------------------------------ training and measuring

    def advance(self, n_steps: int) -> list[Symptom]:
        """Train every seed ``n_steps`` more G steps, then measure; returns the symptoms that appeared now.

        Raises the engine's errors (``TrainingDiverged`` with its message, after the measurements
        and the health monitor have seen the diverged rows).
        """
        error = None
        for run in self.runs:
            try:
                run.advance(n_steps)
            except FloatingPointError as diverged:  # TrainingDiverged: measure and report first, then raise
                error = diverged
        self.measure()
        new = self._check_health()
        if error is not None:
            raise error
        return new

    @torch.no_grad()
    def measure(self) -> None:
        """Measure the current samples and append a row to :attr:`measurements`."""
        x_fake = self.samples()
        S = len(self.seeds)
        nan = torch.full((S,), float("nan"))
        if isinstance(self.data, datasets.Mixture):
            finite = torch.nan_to_num(x_fake, nan=1e9, posinf=1e9, neginf=-1e9)  # a NaN sample is no mode's
            coverage = mode_coverage_batched(finite, self.data.centers, self.data.std)
            modes, high_quality = coverage.modes.float().cpu(), coverage.high_quality.float().cpu()
        else:
            modes, high_quality = nan, nan
        divergence = grid_divergences(self.x_real, x_fake, self.extent)
        m = self.measurements
        m.steps.append(self.step)
        m.modes.append(modes)
        m.high_quality.append(high_quality)
        m.kl.append(divergence.kl.float().cpu())
        m.js.append(divergence.js.float().cpu())

    def _diversity_fn(self, i: int) -> Callable[[nn.Module], Tensor]:
        """The health monitor's diversity of run ``i``: the mean distance between two of G's samples.

        Its reference is the same distance in the data, so the monitor calls it collapse when G's
        samples spread less than half as much as the data's.
        """
        def diversity(G: nn.Module) -> Tensor:
            x = torch.nan_to_num(self.samples(self.n_spread)[self._slices()[i][1]])
            return mean_pairwise_distance(x, batch_dims=2).cpu()
        return diversity

    def _check_health(self) -> list[Symptom]:
        new = []
        for i, (monitor, (run, part)) in enumerate(zip(self.monitors, self._slices(), strict=True)):
            if monitor.diversity_fn is None and run.step >= self.diversity_warmup:
                monitor.diversity_fn = self._diversity_fn(i)
                monitor.reference_diversity = torch.tensor(self.data_spread)
            before = len(monitor.symptoms)
            monitor(run.step, run.history, run.G, run.D)
            for symptom in monitor.symptoms[before:]:
                if len(self.runs) > 1:  # one run per seed: name the seed
                    symptom = dataclasses.replace(symptom, seeds=(self.seeds[part.start],),
                                                  message=f"seed {self.seeds[part.start]}: {symptom.message}")
                elif symptom.seeds is not None:  # stacked: the monitor counts seeds from 0
                    symptom = dataclasses.replace(symptom, seeds=tuple(self.seeds[s] for s in symptom.seeds))
                new.append(symptom)
        self.symptoms += new
        return new

    def reconfigure(self, settings: Settings) -> None:
        """Take the hot settings (:data:`HOT`) of ``settings`` from the next step on; raises on a bad value."""
        cold = [f.name for f in dataclasses.fields(Settings)
                if f.name not in HOT and getattr(settings, f.name) != getattr(self.settings, f.name)]
        if cold:
            raise ValueError(f"{', '.join(cold)} cannot change while training; build a new Session")
        config = settings.train_config()  # validates before any run changes
        for run in self.runs:
            run.reconfigure(dataclasses.replace(config, seed=run.config.seed))
        self.settings = dataclasses.replace(settings)

    def initial_state(self) -> list[dict[str, Tensor]]:
        """Copies of every run's G and D weights (tests compare them across a reset)."""
        return [{**{f"G.{k}": v.clone() for k, v in run.G.state_dict().items()},
                 **{f"D.{k}": v.clone() for k, v in run.D.state_dict().items()}} for run in self.runs]


def _square_box(x: Tensor, margin: float = 0.35) -> tuple[float, float, float, float]:
    """A square ``(x_min, x_max, y_min, y_max)`` around the points, ``margin`` of their half-range added."""
    low, high = x.min(0).values, x.max(0).values
    center, half = (low + high) / 2, float((high - low).max()) / 2
    half = half * (1 + margin) + 0.25
    return (float(center[0]) - half, float(center[0]) + half, float(center[1]) - half, float(center[1]) + half)
