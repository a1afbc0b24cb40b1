"""The training loop of every chapter: ``n_critic`` D steps, then one G step, with the fixes as options.

The loop reads like the papers (Goodfellow et al. 2014, Algorithm 1)::

    for step in range(config.steps):
        for _ in range(config.n_critic):
            d_step(...)   # (1) Update D: maximize log D(x) + log(1 - D(G(z)))
        g_step(...)       # (2) Update G: maximize log D(G(z))

Every fix of the course is a field of :class:`TrainConfig`: the loss (chapters 02, 07),
two learning rates and ``n_critic`` (04), gradient penalty, R1 and weight clipping (01, 07),
instance noise, one-sided label smoothing, packing, unrolled G steps and feature matching (08).

This module holds the loop (:func:`train`, :func:`train_seeds`: chapters 00, 02-09; :class:`Run`,
the same loop advanced in chunks, for chapter 00's playground), its configuration and what it
returns; one step of the game (:func:`d_step`, :func:`g_step`, :func:`unrolled_g_step`,
:func:`make_optimizer`) lives in :mod:`gancourse.training.steps` and is re-exported here and by
the package (:mod:`gancourse.training` re-exports this module's ``__all__``), so
``training.d_step`` keeps working.

Nothing in the loop waits for the device: per-step values go into a device-side
:class:`~gancourse.training.history.History`, copied to the host every ``log_every`` steps; only
then are they checked for NaN/Inf, shown in the progress bar and passed to ``callback``.
``S`` seeds stacked into one model (:mod:`gancourse.models.mlp`, ``n_models=S``) train in one
run, each seed as if it were alone (:func:`train_seeds`, :mod:`gancourse.training.seeds`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import Tensor, nn

from gancourse import validation
from gancourse.diagnostics.health import EXPLODE_ROWS, explosion, explosion_message
from gancourse.losses import LOSSES
from gancourse.models.minibatch import pack
from gancourse.regularizers import instance_noise_std
from gancourse.runtime import default_device
from gancourse.training import threads
from gancourse.training.checkpoint import CHECKPOINT_KEYS, load_checkpoint, save_checkpoint
from gancourse.training.history import KEYS, History
from gancourse.training.progress import progress_bar
from gancourse.training.seeds import Randomness, SampleReal, n_models, stacked_models
from gancourse.training.simultaneous import simultaneous_step
from gancourse.training.steps import DStats, GStats, d_step, g_step, make_optimizer, unrolled_g_step

__all__ = [
    "AMP_MODES", "LOSSES", "DStats", "GStats", "Run", "TrainConfig", "TrainResult", "TrainingDiverged",
    "d_step", "g_step", "make_optimizer", "train", "train_seeds", "unrolled_g_step",
]

AMP_MODES = ("off", "bf16", "auto")


def _int(low: int, none_ok: bool = False) -> Callable[[object], bool]:
    return lambda v: (none_ok and v is None) or (isinstance(v, int) and not isinstance(v, bool) and v >= low)


def _number(low: float, high: float = math.inf, low_ok: bool = True, none_ok: bool = False) -> Callable:
    def ok(v: object) -> bool:
        if none_ok and v is None:
            return True
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return False
        return (low <= v if low_ok else low < v) and v < high  # NaN fails both
    return ok


# field -> (test, what is allowed): TrainConfig.__post_init__ checks every field against its rule
_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    **{name: (_int(1), "an int >= 1") for name in ("steps", "batch_size", "n_critic", "pack", "log_every")},
    **{name: (_int(1, none_ok=True), "None or an int >= 1")
       for name in ("z_dim", "instance_noise_anneal", "checkpoint_every")},
    "unrolled_steps": (_int(0), "an int >= 0 (0 = off)"),
    "unroll_order": (lambda v: v in (1, 2) and not isinstance(v, bool),
                     "1 (first order: G steps against the look-ahead D) or 2 (second order: through D's updates)"),
    "seed": (_int(0), "an int >= 0"),
    "loss": (lambda v: v in LOSSES, f"one of {', '.join(LOSSES)}"),
    "lr_d": (_number(0, low_ok=False), "a number > 0 (e.g. 2e-4)"),
    "lr_g": (_number(0, low_ok=False), "a number > 0 (e.g. 2e-4)"),
    "betas": (lambda v: isinstance(v, (tuple, list)) and len(v) == 2 and all(map(_number(0, 1), v)),
              "two numbers in [0, 1), e.g. (0.5, 0.999)"),
    **{name: (_number(0), "a number >= 0 (0 = off)") for name in ("gp_weight", "r1_weight", "instance_noise")},
    "clip_value": (_number(0, low_ok=False, none_ok=True), "None (off) or a number > 0 (e.g. 0.01)"),
    "label_smoothing": (_number(0, 1), "a number in [0, 1) (e.g. 0.1; 0 = off)"),
    "checkpoint_path": (lambda v: v is None or isinstance(v, (str, os.PathLike)), "None (off) or a file path"),
    "amp": (lambda v: v in AMP_MODES, f"one of {', '.join(AMP_MODES)}"),
    "channels_last": (lambda v: v in (None, True, False), "None (auto), True or False"),
    "progress": (lambda v: isinstance(v, bool), "True or False"),
    "feature_matching": (lambda v: isinstance(v, bool), "True or False"),
    "simultaneous": (lambda v: isinstance(v, bool), "True or False"),
}


@dataclass
class TrainConfig:
    """How to train one GAN (or ``S`` stacked seeds): every knob of the course in one place.

    Validated on creation: a bad value raises ``ValueError`` naming the field and what is allowed.
    """

    steps: int = 1000
    """Number of G steps; each is preceded by ``n_critic`` D steps."""
    batch_size: int = 64
    """Inputs of D per batch, real and fake each (with ``pack=m``, ``m * batch_size`` samples are drawn)."""
    z_dim: int | None = None
    """Length of ``z``; ``None`` takes ``G.z_dim``."""
    loss: str = "non_saturating"
    """GAN loss, one of ``gancourse.losses.LOSSES``: minimax, non_saturating, wasserstein, hinge, least_squares."""
    lr_d: float = 2e-4
    """Adam learning rate of D (chapter 04 balances D and G with two rates)."""
    lr_g: float = 2e-4
    """Adam learning rate of G."""
    betas: tuple[float, float] = (0.5, 0.999)
    """Adam's (beta1, beta2), each in [0, 1); DCGAN uses (0.5, 0.999), WGAN-GP (0.5, 0.9)."""
    n_critic: int = 1
    """D steps per G step (5 for WGAN-GP)."""
    unrolled_steps: int = 0
    """k look-ahead D steps that G's step is taken against (unrolled GAN, Metz et al. 2017); 0 = off."""
    unroll_order: int = 1
    """How G's gradient treats the look-ahead D (chapter 03): 1 = first order, D's k steps are taken and G steps
    against the result as if it were fixed; 2 = second order (the paper's), G's loss is differentiated through
    D's k Adam steps, so G sees how D would react to its move (several times the cost per G step; no
    gp_weight, r1_weight or clip_value)."""
    gp_weight: float = 0.0
    """WGAN-GP's lambda (10 in the paper); 0 = off."""
    r1_weight: float = 0.0
    """R1's gamma: D's loss gets ``gamma/2 * E||grad D(x_real)||^2``; 0 = off."""
    clip_value: float | None = None
    """WGAN weight clipping: D's weights are clamped to [-c, c] after each D step (0.01 in WGAN); None = off."""
    instance_noise: float = 0.0
    """Start std of Gaussian noise added to every input of D, annealed linearly to 0; 0 = off."""
    instance_noise_anneal: int | None = None
    """G steps over which instance noise decays to 0; None = over all ``steps``."""
    label_smoothing: float = 0.0
    """One-sided label smoothing: D's target for real samples is ``1 - label_smoothing`` (e.g. 0.1); 0 = off.
    Only for losses with labels (minimax, non_saturating)."""
    pack: int = 1
    """PacGAN's m: D judges ``m`` samples concatenated (its input must be built with ``pack=m``); 1 = off."""
    feature_matching: bool = False
    """Feature matching (Salimans et al. 2016): G minimises the squared distance between the means of
    D's inner layer (``D.features``) on a real and a fake batch instead of ``loss``'s G term; D trains as usual."""
    log_every: int = 100
    """G steps between history flushes: the NaN check, the progress bar update and ``callback``."""
    checkpoint_every: int | None = None
    """G steps between checkpoints (also written at the end); None = off. Needs ``checkpoint_path``."""
    checkpoint_path: str | os.PathLike | None = None
    """Where checkpoints go (one file, overwritten atomically); None = off."""
    seed: int = 0
    """Seed of the run's ``torch.Generator`` (data, z, noise); stacked models use seed, seed+1, ... ."""
    amp: str = "off"
    """Mixed precision: ``off``, ``bf16`` (bfloat16 autocast, any device) or ``auto`` (bf16 on CUDA only).
    Off by default. Measured once on a CPU (chapter 03's nets on the ring, 8 seeds, 2,000 steps at lr
    1e-3): bf16 covered 6.5 modes on average against 7.0 in float32, with 21% against 27% high-quality
    samples (bf16 keeps 8 bits of mantissa, steps of 0.004-0.008 near the unit ring, whose modes have
    std 0.01), and ran 5x slower (no bf16 units on that CPU). Not yet measured on a GPU or for the DCGAN."""
    channels_last: bool | None = None
    """Channels-last memory format for conv nets and image batches; None = auto (on for conv nets)."""
    progress: bool = True
    """Show a tqdm progress bar (updated at flushes only)."""
    simultaneous: bool = False
    """D and G step at once on one batch (:mod:`gancourse.training.simultaneous`, the update of PacGAN's code); False
    alternates (D, then G against the updated D). Needs ``n_critic=1`` and ``unrolled_steps=0``."""

    def __post_init__(self) -> None:
        for name in _RULES:
            setattr(self, name, _plain_number(name, getattr(self, name)))
        if isinstance(self.betas, (tuple, list)):
            self.betas = tuple(_plain_number("betas", b) for b in self.betas)
        for name, (ok, allowed) in _RULES.items():
            value = getattr(self, name)
            if not ok(value):
                hint = (f" (write {int(value)})" if "an int" in allowed and isinstance(value, float)
                        and value.is_integer() else "")
                raise ValueError(f"TrainConfig.{name} must be {allowed}, got {value!r}{hint}")
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        if self.checkpoint_path is not None:
            self.checkpoint_path = str(self.checkpoint_path)  # checkpoints store plain values only
        if self.label_smoothing and not LOSSES[self.loss].supports_label_smoothing:
            labelled = [name for name, loss in LOSSES.items() if loss.supports_label_smoothing]
            raise ValueError(f"TrainConfig.label_smoothing needs a loss with labels ({', '.join(labelled)}); "
                             f"loss={self.loss!r} has none: set label_smoothing=0")
        if self.loss == "mad_gan" and self.pack > 1:
            raise ValueError("TrainConfig.pack must be 1 with loss='mad_gan': D labels each fake sample by the "
                             "generator that made it, which packing would mix")
        if self.feature_matching and (self.simultaneous or self.unroll_order == 2):
            raise ValueError("TrainConfig.feature_matching needs G's own step: it does not combine with "
                             f"simultaneous={self.simultaneous!r} or unroll_order={self.unroll_order!r} (use "
                             "simultaneous=False and unroll_order=1)")
        if self.simultaneous and (self.n_critic != 1 or self.unrolled_steps):
            raise ValueError(f"TrainConfig.simultaneous steps D and G once each from one batch; it needs n_critic=1 "
                             f"and unrolled_steps=0, got n_critic={self.n_critic}, "
                             f"unrolled_steps={self.unrolled_steps}")
        if self.unroll_order == 2 and (self.gp_weight or self.r1_weight or self.clip_value is not None):
            raise ValueError("TrainConfig.unroll_order=2 differentiates plain D steps; it does not combine with "
                             f"gp_weight={self.gp_weight!r}, r1_weight={self.r1_weight!r} or "
                             f"clip_value={self.clip_value!r}: set those off or use unroll_order=1")
        if (self.checkpoint_every is None) != (self.checkpoint_path is None):
            raise ValueError(f"TrainConfig.checkpoint_every must be set together with checkpoint_path (or both "
                             f"None), got checkpoint_every={self.checkpoint_every!r}, "
                             f"checkpoint_path={self.checkpoint_path!r}")

    def to_dict(self) -> dict:
        """Plain values, as stored in checkpoints."""
        return asdict(self)


def _plain_number(name: str, value: object) -> object:
    """A NumPy scalar or a one-element tensor as the Python number it holds; other values unchanged."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"TrainConfig.{name} must be a number, got a tensor of shape {tuple(value.shape)}")
        return value.item()
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()  # np.int64(10) -> 10, np.float32(1e-3) -> 0.001
    return value


# Fields that change no number of a run; all others must match when a run is resumed.
_RESUMABLE_CHANGES = ("steps", "log_every", "checkpoint_every", "checkpoint_path", "progress")


class TrainingDiverged(FloatingPointError):
    """A loss, an output mean or a gradient norm became NaN or infinite, or grew by orders of magnitude.

    The second case ("diverging") is :func:`gancourse.diagnostics.health.explosion`'s rule, checked at the same
    flushes as NaN. The message says where and what to try; ``key`` names the record.
    """

    def __init__(self, message: str, step: int, key: str, seeds: list[int] | None = None) -> None:
        super().__init__(message)
        self.step, self.key, self.seeds = step, key, seeds
        self.network = "D" if key.startswith("d_") else "G"


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained nets (stacked for several seeds), their optimizers, the record."""

    G: nn.Module
    D: nn.Module
    history: History
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    steps: int
    """G steps done in total (resumed runs included)."""


# The order in which the loop computes the records: the first non-finite one is where training broke.
_CHECK_ORDER = ("d_loss", "d_real", "d_fake", "d_grad_norm", "g_loss", "g_grad_norm")
_WHAT = {"d_loss": "D's loss", "d_real": "D's output on real data", "d_fake": "D's output on fake data",
         "d_grad_norm": "D's gradient norm", "g_loss": "G's loss", "g_grad_norm": "G's gradient norm"}


def _divergence(history: History, first_row: int, config: TrainConfig, seeds: list[int]) -> TrainingDiverged | None:
    """The :class:`TrainingDiverged` for the first NaN/Inf in rows ``first_row:`` of ``history``, or None."""
    if len(history) == first_row:
        return None
    rows = torch.stack([history[k][first_row:] for k in _CHECK_ORDER], dim=1)  # (T, 6) or (T, 6, S)
    bad = ~torch.isfinite(rows)
    if not bad.any():
        return _explosion(history, first_row, config, seeds)
    t = int(bad.flatten(1).any(dim=1).nonzero()[0])
    k = int(bad[t].reshape(len(_CHECK_ORDER), -1).any(dim=1).nonzero()[0])
    key, step = _CHECK_ORDER[k], int(history.steps[first_row + t])
    bad_seeds = [seeds[i] for i in bad[t, k].nonzero().flatten().tolist()] if bad.dim() == 3 else None
    value = rows[t, k][bad[t, k]].flatten()[0].item()
    net = "D" if key.startswith("d_") else "G"
    fixes = _fixes(config, net)
    return TrainingDiverged(
        f"training diverged at step {step}: {_WHAT[key]} ({key}) became {value}"
        + (f" for seed(s) {bad_seeds}" if bad_seeds else "")
        + f", the first non-finite value, in network {net}. Try: " + "; ".join(fixes) + ".",
        step, key, bad_seeds)


def _fixes(config: TrainConfig, net: str) -> list[str]:
    fixes = [f"lower the learning rates (lr_d={config.lr_d:g}, lr_g={config.lr_g:g}; try a tenth)"]
    if net == "D" and not (config.gp_weight or config.r1_weight):
        fixes.append("penalise D's gradients (gp_weight=10 or r1_weight=1)")
    if config.loss in ("wasserstein", "hinge") and config.clip_value is None and not config.gp_weight:
        fixes.append(f"constrain the {config.loss} critic (gp_weight=10 or clip_value=0.01)")
    if config.amp != "off":
        fixes.append("train in float32 (amp='off')")
    return fixes


def _explosion(history: History, first_row: int, config: TrainConfig, seeds: list[int]) -> TrainingDiverged | None:
    """The :class:`TrainingDiverged` for records grown by orders of magnitude
    (:func:`~gancourse.diagnostics.health.explosion`)."""
    found = explosion(history, since=first_row)
    if not found.exploding.any():
        return None
    i = int(found.exploding.nonzero()[0])
    key, step = found.keys[i], int(found.step[i])
    bad_seeds = [seeds[s] for s in found.exploding.nonzero().flatten().tolist()] if len(found.exploding) > 1 else None
    net = "D" if key.startswith("d_") else "G"
    fixes = _fixes(config, net) + ["check the data's scale (values of order 1)"]
    return TrainingDiverged(
        f"training is diverging at step {step}: "
        + explosion_message(key, float(found.peak[i]), float(found.start[i]), step, EXPLODE_ROWS)
        + (f", for seed(s) {bad_seeds}" if bad_seeds else "")
        + ". Nothing is NaN yet, but weights thrown that far make the rest of the run meaningless, so it was "
          "stopped. Try: " + "; ".join(fixes) + ".",
        step, key, bad_seeds)


def _load_net(model: nn.Module, state: dict, name: str, path) -> None:
    """``model.load_state_dict(state)``, or a ``ValueError`` that says which layers differ from the checkpoint's."""
    own = model.state_dict()
    resized = [f"{k} is {tuple(own[k].shape)} here but {tuple(state[k].shape)} in the checkpoint"
               for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    problems = ([f"the checkpoint has no {', '.join(missing[:3])}"] if missing else []) \
        + ([f"this {name} has no {', '.join(extra[:3])}"] if extra else []) + resized
    if problems:
        more = f" (and {len(problems) - 3} more differences)" if len(problems) > 3 else ""
        raise ValueError(f"cannot resume from {path}: {name} is not built like the checkpointed {name}: "
                         f"{'; '.join(problems[:3])}{more}. Build {name} exactly as the run that saved it did "
                         f"(same class and sizes, e.g. width and depth), or train from scratch")
    model.load_state_dict(state)


def _resume(path, G, D, opt_g, opt_d, rng: Randomness, history: History, config: TrainConfig) -> int:
    # on the CPU: load_state_dict copies into the nets' and optimizers' own devices, and the
    # history and generator states belong on the host
    state = load_checkpoint(path, map_location="cpu", required=CHECKPOINT_KEYS)
    if int(state["step"]) > config.steps:
        raise ValueError(f"cannot resume from {path}: it holds {int(state['step'])} steps done, more than "
                         f"TrainConfig.steps={config.steps}; set steps >= {int(state['step'])} (steps="
                         f"{int(state['step'])} loads the run without training further)")
    # a field added after the checkpoint was written reads as its default (e.g. unroll_order=1)
    changed = [f.name for f in fields(TrainConfig) if f.name not in _RESUMABLE_CHANGES
               and state["config"].get(f.name, f.default) != getattr(config, f.name)]
    if config.instance_noise and config.instance_noise_anneal is None and state["config"]["steps"] != config.steps:
        changed.append("steps (instance noise anneals over steps; set instance_noise_anneal to change steps)")
    if changed:
        raise ValueError(f"cannot resume from {path}: the config differs in {changed}; only "
                         f"{', '.join(_RESUMABLE_CHANGES)} may change for the run to continue exactly")
    _load_net(G, state["G"], "G", path)
    _load_net(D, state["D"], "D", path)
    opt_g.load_state_dict(state["opt_g"])
    opt_d.load_state_dict(state["opt_d"])
    rng.load_state_dict(state["rng"])
    history.load_state_dict(state["history"])
    return int(state["step"])


class Run:
    """A training run that advances in chunks: :func:`train` builds one and advances it to ``config.steps``.

    Chapter 00's playground advances a run a few steps per widget callback, so that a Pause
    click gets through between chunks (a loop that runs in one cell blocks widget events).
    ``advance(n)`` continues exactly where the previous call stopped: any split of the steps
    into chunks gives the numbers of one uninterrupted run. The arguments are those of
    :func:`train`; ``G``, ``D``, ``opt_g``, ``opt_d``, ``history`` and ``step`` (G steps done)
    are the run's state.

    A variant of the loop overrides :meth:`update_d` and :meth:`update_g` (one player's update
    from the batch it is given), adds its own records to :attr:`RECORDS` and returns them from
    :meth:`extra_records`, e.g. :class:`gancourse.training.balancing.WaitingRun`.
    """

    RECORDS: tuple[str, ...] = KEYS
    """The history's columns: the steps' statistics, plus what a variant of the loop records."""

    def __init__(self, G: nn.Module, D: nn.Module, data: Tensor | SampleReal, config: TrainConfig,
                 callback: Callable[[int, History, nn.Module, nn.Module], None] | None = None,
                 resume_from: str | Path | None = None, device: torch.device | str | None = None,
                 seeds: Sequence[int] | None = None) -> None:
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}"
                            + (": build one with TrainConfig(**your_dict)" if isinstance(config, dict) else ""))
        device = torch.device(device) if device is not None else default_device()
        validation.check_device(device)
        validation.check_callback(callback)
        S = n_models(G, D)
        data = validation.check_train_data(data)
        validation.check_models_fit(G, D, data, config, S)
        seeds = list(seeds) if seeds is not None else [config.seed + s for s in range(S)]
        if len(seeds) != S:
            raise ValueError(f"got {len(seeds)} seeds for models holding {S}; pass one seed per stacked model")
        conv = any(isinstance(m, nn.modules.conv._ConvNd) for m in (*G.modules(), *D.modules()))
        memory_format = (torch.channels_last if (conv if config.channels_last is None else config.channels_last)
                         else torch.contiguous_format)
        G.to(device, memory_format=memory_format).train()
        D.to(device, memory_format=memory_format).train()
        if isinstance(data, Tensor):
            data = data.to(device)
            if data.dim() == 4:
                data = data.contiguous(memory_format=memory_format)
        elif not callable(data):
            raise TypeError(f"data must be a tensor of samples or a function sample_real(n, generator), "
                            f"got {type(data)}")
        z_dim = config.z_dim or getattr(G, "z_dim", None)
        if z_dim is None:
            raise ValueError("G has no z_dim attribute; set TrainConfig.z_dim")
        opt_d = make_optimizer(D.parameters(), config.lr_d, config.betas)
        opt_g = make_optimizer(G.parameters(), config.lr_g, config.betas)
        rng = Randomness(seeds, device)
        history = History(self.RECORDS, flush_every=config.log_every)
        start = 0 if resume_from is None else _resume(resume_from, G, D, opt_g, opt_d, rng, history, config)
        self.G, self.D, self.data, self.config, self.callback = G, D, data, config, callback
        self.opt_g, self.opt_d, self.rng, self.history, self.seeds = opt_g, opt_d, rng, history, seeds
        self.z_dim, self.step, self.start = z_dim, start, start
        self._checked = len(history)
        self.device, self._mflop = device, None
        self._bar = progress_bar(config.steps, initial=start, desc="training", unit="step",
                                 disable=not config.progress)

    def _work(self) -> float:
        """The MFLOP of one step's forward passes (measured once), from which the thread count is chosen."""
        if self._mflop is None:
            config, S = self.config, n_models(self.G, self.D)
            z_shape = (S, config.batch_size * config.pack, self.z_dim)
            z_shape = z_shape[1:] if S == 1 else z_shape
            z = torch.zeros(z_shape, device=next(self.G.parameters()).device)
            self._mflop = threads.gan_mflop(self.G, self.D, z, lambda x: pack(x, config.pack, 1 if S == 1 else 2)
                                            if config.pack > 1 else x)
        return self._mflop

    def _draw(self) -> tuple[Tensor, Tensor]:
        n = self.config.batch_size * self.config.pack  # D judges batch_size packs of `pack` samples
        return self.rng.real(self.data, n), self.rng.z(n, self.z_dim)  # (n, ...), (n, z_dim); (S, n, ...) stacked

    def advance(self, n_steps: int) -> int:
        """Train ``n_steps`` more G steps (each after ``n_critic`` D steps); returns the G steps done in all.

        The history is flushed (and checked for NaN/Inf, and ``callback`` called) every
        ``log_every`` steps, at ``config.steps`` and at the end of the chunk. Raises
        :class:`TrainingDiverged` at the first flush after a NaN/Inf, after ``callback``
        has seen that flush. A run may go on past ``config.steps``.
        """
        if not isinstance(n_steps, int) or isinstance(n_steps, bool) or n_steps < 0:
            raise ValueError(f"n_steps must be an int >= 0, got {n_steps!r}")
        with threads.for_work(self._work, self.device):  # one thread for 2-D GANs on a CPU (gancourse.training.threads)
            return self._advance(n_steps)

    def _advance(self, n_steps: int) -> int:
        """:meth:`advance` within its thread setting."""
        G, D, config, rng, draw = self.G, self.D, self.config, self.rng, self._draw
        end = self.step + n_steps
        for step in range(self.step, end):
            n = config.batch_size * config.pack
            anneal = config.instance_noise_anneal or config.steps
            noise_std = instance_noise_std(step, config.instance_noise, anneal) if config.instance_noise else 0.0
            if config.simultaneous:  # D and G from one batch at once (PacGAN's code; chapter 09)
                d_stats, g_stats = simultaneous_step(G, D, self.opt_g, self.opt_d, *draw(), config, rng, noise_std)
            for k in range(0 if config.simultaneous else config.n_critic):
                # (1) Update D: maximize log D(x) + log(1 - D(G(z)))
                d_stats = self.update_d(*draw(), noise_std, k)
            # (2) Update G: maximize log D(G(z)), against D itself or D unrolled k steps ahead
            if not config.simultaneous:
                z = rng.z(n, self.z_dim)
                x_real = rng.real(self.data, n) if config.feature_matching else None  # feature matching's real side
                g_stats = self.update_g(z, x_real, noise_std)
            self.history.record(step, **d_stats._asdict(), **g_stats._asdict(), **self.extra_records())

            done = self.step = step + 1
            save = config.checkpoint_every is not None and (done % config.checkpoint_every == 0
                                                            or done == config.steps)
            if done % config.log_every == 0 or done == config.steps or done == end or save:
                self._flush(done)
            if save:
                save_checkpoint(config.checkpoint_path, {
                    "G": G.state_dict(), "D": D.state_dict(), "opt_g": self.opt_g.state_dict(),
                    "opt_d": self.opt_d.state_dict(), "rng": rng.state_dict(), "step": done,
                    "history": self.history.state_dict(), "config": config.to_dict()})
        return self.step

    def update_d(self, x_real: Tensor, z: Tensor, noise_std: float, k: int) -> DStats:
        """The ``k``-th D update of a G step (``k < n_critic``) on a real batch and a noise batch; D's statistics."""
        return d_step(self.G, self.D, self.opt_d, x_real, z, self.config, self.rng, noise_std)

    def update_g(self, z: Tensor, x_real: Tensor | None, noise_std: float) -> GStats:
        """G's update on the noise batch ``z`` (``x_real``: feature matching's real batch, else None); G's statistics.

        Against D itself, or against D unrolled ``config.unrolled_steps`` steps ahead.
        """
        if self.config.unrolled_steps:
            return unrolled_g_step(self.G, self.D, self.opt_g, self.opt_d, z, self._draw, self.config, self.rng,
                                   noise_std, x_real)
        return g_step(self.G, self.D, self.opt_g, z, self.config, self.rng, noise_std, x_real)

    def extra_records(self) -> dict[str, Tensor | float]:
        """What a variant of the loop records at each G step beside the steps' statistics (its :attr:`RECORDS`)."""
        return {}

    def _flush(self, done: int) -> None:
        history = self.history
        history.flush()  # the one host sync, every log_every steps
        diverged = _divergence(history, self._checked, self.config, self.seeds)
        self._checked = len(history)
        self._bar.update(done - self._bar.n)
        self._bar.set_postfix({k: f"{history[k][-1].mean():.3g}" for k in ("d_loss", "g_loss", "d_real", "d_fake")},
                              refresh=False)
        # the callback sees the rows with the NaN first, so that a live monitor can name the symptom
        if self.callback is not None:
            self.callback(done, history, self.G, self.D)
        if diverged is not None:
            self._bar.close()
            raise diverged

    def reconfigure(self, config: TrainConfig) -> None:
        """Go on with ``config`` from the next step, e.g. a lower ``lr_d`` set while the playground plays.

        The learning rates and betas go into the optimizers (their moments are kept). Fields that
        fix a shape or a random stream (``pack``, ``z_dim``, ``seed``, ``log_every``, ``channels_last``)
        cannot change in a running run: build a new one.
        """
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
        fixed = [name for name in ("pack", "z_dim", "seed", "log_every", "channels_last")
                 if getattr(config, name) != getattr(self.config, name)]
        if fixed:
            raise ValueError(f"cannot change {', '.join(fixed)} of a running run; start a new run with them")
        for opt, lr in ((self.opt_d, config.lr_d), (self.opt_g, config.lr_g)):
            for group in opt.param_groups:
                group["lr"], group["betas"] = lr, config.betas
        self.config = config

    def result(self) -> TrainResult:
        """The nets, the optimizers and the record, as :func:`train` returns them."""
        return TrainResult(self.G, self.D, self.history, self.opt_g, self.opt_d, self.step)

    def close(self) -> None:
        """Close the progress bar."""
        self._bar.close()


def train(G: nn.Module, D: nn.Module, data: Tensor | SampleReal, config: TrainConfig,
          callback: Callable[[int, History, nn.Module, nn.Module], None] | None = None,
          resume_from: str | Path | None = None, device: torch.device | str | None = None,
          seeds: Sequence[int] | None = None) -> TrainResult:
    """Train ``G`` against ``D`` on ``data`` for ``config.steps`` G steps; every chapter that trains calls this.

    ``data`` is a tensor of real samples ``(N, ...)`` (moved once to the device; batches are
    rows at random indices, no DataLoader) or ``sample_real(n, generator) -> (n, ...)``, e.g.
    ``datasets.ring().sample``. Models and data go to ``device`` (default
    :func:`~gancourse.runtime.default_device`). ``callback(step, history, G, D)`` runs at every
    flush with the number of G steps done. ``resume_from`` continues a checkpointed run
    exactly (same numbers as an uninterrupted run). For stacked models (``n_models=S``)
    seed ``s`` draws from ``seeds[s]`` (default ``config.seed + s``). Raises
    :class:`TrainingDiverged` at the first flush after a NaN/Inf, after ``callback`` has seen
    that flush (so a :class:`~gancourse.diagnostics.health.HealthMonitor` can report the divergence), and
    likewise when D's loss or a gradient norm has grown by orders of magnitude without NaN
    (:func:`~gancourse.diagnostics.health.explosion`, "diverging"). The loop itself is :meth:`Run.advance`.

    Inputs are checked first (:mod:`gancourse.validation`): the data (empty, bytes, NaN, [0, 255]
    images, an absurd scale), whether data, G and D fit together, the sampler's and the
    callback's signatures, the device. On a CPU the run uses the threads
    :func:`gancourse.training.threads.for_work` picks for the nets' size (one for 2-D GANs), restored
    afterwards; a thread count the user chose wins.
    """
    run = Run(G, D, data, config, callback, resume_from, device, seeds)
    try:
        run.advance(max(config.steps - run.step, 0))
    finally:
        run.close()
    return run.result()


def train_seeds(seeds: Sequence[int], make_G: Callable[[], nn.Module], make_D: Callable[[], nn.Module],
                sample_real: Tensor | SampleReal, config: TrainConfig, **kwargs) -> TrainResult:
    """Train one GAN per seed, all in one batched run (chapters 03, 08, 09: "one run is an anecdote").

    ``make_G()`` / ``make_D()`` build one ordinary model (e.g. ``lambda: mlp.MLPGenerator()``); seed
    ``s``'s models are built after ``torch.manual_seed(s)`` (:func:`~gancourse.training.seeds.init_models`),
    stacked with the class's ``stack``, and trained with :func:`train` (``kwargs`` go there).
    Seed ``s`` starts from the weights and draws the batches of ``train(..., config.seed=s)`` on
    its own; ``result.G.unstack(i)`` gives seed ``seeds[i]``; history values are ``(T, S)``.
    """
    seeds = list(seeds)
    G, D = stacked_models(seeds, make_G, make_D)
    return train(G, D, sample_real, config, seeds=seeds, **kwargs)
