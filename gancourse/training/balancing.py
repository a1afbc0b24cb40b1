"""Balancing D and G: "let the strong network wait", beside k D steps and two time-scales.

Chapter 04 measures three recipes that hold one player back so that the other can catch up:

* **k D steps per G step**: ``TrainConfig.n_critic = k`` (the ``k`` of Goodfellow et al. 2014, Algorithm 1);
* **two time-scales**: ``TrainConfig.lr_d != lr_g`` (the two time-scale update rule, TTUR, of
  Heusel et al. 2017, whose DCGAN runs use 4e-4 for D and 1e-4 for G);
* **let the strong network wait** (:func:`train_waiting`): a player skips its update while its own
  loss says it is ahead. This is the heuristic ``while lossD > A: train D; while lossG > B: train
  G`` that the GAN hacks list (Chintala et al. 2016, github.com/soumith/ganhacks, "Don't balance
  loss via statistics") quotes while warning that such schedules are hard to get right.

The first two are fields of :class:`~gancourse.training.TrainConfig` and run in
:func:`~gancourse.training.train`. The third needs a decision at every update, so it is the engine's
loop (:class:`~gancourse.training.Run`) with its two updates wrapped: :class:`WaitingRun`.

On images the three recipes are :data:`IMAGE_RECIPES`, run over seeds on the course's DCGAN and
scored by FID with :func:`gancourse.metrics.scoring.score_recipes` (``benchmarks/balancing_images.py`` records them for
chapter 04, whose CPU budget has no room for twelve DCGAN runs).
A player that waits keeps its weights and its optimizer's moments exactly as they were; the
decision is taken on the device, seed by seed, so stacked seeds wait independently and the loop
never waits for the device.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from gancourse.training.history import KEYS, History
from gancourse.training.loop import Run, TrainConfig, TrainResult, train
from gancourse.training.seeds import SampleReal
from gancourse.training.steps import DStats, GStats

WAIT_KEYS = ("d_waited", "g_waited")
"""Extra records of :func:`train_waiting`: 1.0 on a step where D (G) skipped its update, else 0.0."""

_UNSUPPORTED = {"unrolled_steps": 0, "instance_noise": 0.0}

WAIT_FIELDS = ("d_wait_below", "g_wait_below")

IMAGE_RECIPES: dict[str, dict[str, float | int]] = {
    "plain": {},
    "k = 5 D steps": {"n_critic": 5},
    "TTUR (lr_d = 4 lr_g)": {"lr_d": 4e-4, "lr_g": 1e-4},
    "G waits (loss < log 2)": {"g_wait_below": math.log(2)},
}
"""Chapter 04's balancing recipes on the course's DCGAN, as changes to its config (Adam 2e-4 for both).

Each maps to :class:`~gancourse.training.TrainConfig` fields, or to a waiting threshold of
:func:`train_waiting` (:data:`WAIT_FIELDS`). TTUR uses the rates Heusel et al. (2017) used for
their DCGANs: 4e-4 for D, 1e-4 for G. ``k = 5`` keeps the number of G steps, so D takes five
times as many steps and sees five times as many images.
"""


def _state(opt: torch.optim.Optimizer) -> list[Tensor]:
    """The parameters of ``opt`` and the per-parameter tensors of its state (Adam's moments and step)."""
    params = [p for group in opt.param_groups for p in group["params"]]
    state = [v for p in params for v in opt.state.get(p, {}).values() if isinstance(v, Tensor)]
    return params + state


def _keep_where_waiting(tensors: list[Tensor], saved: list[Tensor], waiting: Tensor) -> None:
    """Put back the saved value of every tensor (slice, for stacked seeds) whose player waits.

    ``waiting`` is 0-dim, or ``(S,)`` for stacked seeds: then every tensor with a leading dim
    divisible by ``S`` holds seed ``s`` in its ``s``-th block (gancourse's stacked layout); a
    tensor shared by all seeds (Adam's step count) keeps its new value unless every seed waits.
    """
    with torch.no_grad():
        for new, old in zip(tensors, saved, strict=True):
            if waiting.dim() == 0:
                new.copy_(torch.where(waiting, old, new))
            elif new.dim() and new.shape[0] % len(waiting) == 0:
                blocks = new.view(len(waiting), -1)
                blocks.copy_(torch.where(waiting[:, None], old.view(len(waiting), -1), blocks))
            else:
                new.copy_(torch.where(waiting.all(), old, new))


def _step_unless_ahead(opt: torch.optim.Optimizer, take_step: Callable[[], tuple], loss_key: str,
                       wait_below: float | None) -> tuple[tuple, Tensor]:
    """Run ``take_step()`` (a D or G step); where its loss on this batch is below ``wait_below``, undo it."""
    if wait_below is None:
        stats = take_step()
        return stats, torch.zeros_like(getattr(stats, loss_key))
    tensors = _state(opt)
    saved = [t.detach().clone() for t in tensors]
    stats = take_step()
    # the loss was computed before the update: it says how far ahead the player was on this batch
    waiting = getattr(stats, loss_key) < wait_below  # () or (S,), on the device
    if len(saved) < len(_state(opt)):  # the optimizer's first step created its state: nothing to restore
        _keep_where_waiting(_state(opt)[:len(saved)], saved, waiting)
        fresh = _state(opt)[len(saved):]
        _keep_where_waiting(fresh, [torch.zeros_like(t) for t in fresh], waiting)
    else:
        _keep_where_waiting(tensors, saved, waiting)
    return stats, waiting.float()


class WaitingRun(Run):
    """A :class:`~gancourse.training.Run` in which a player whose loss is low skips its update. Chapter 04.

    At each of the ``config.n_critic`` D steps, D's update is undone (weights and Adam state)
    where D's loss on that batch was below ``d_wait_below``; at each G step, G's update where G's
    loss was below ``g_wait_below`` (``None``: never wait). Everything else is the engine's loop:
    the same batches and random streams as :func:`~gancourse.training.train`, its input checks,
    threads, progress bar, divergence stops and checkpoints. The history adds :data:`WAIT_KEYS`
    (``d_waited`` is the mean over the D steps of one G step, so 1 means D waited at each of them).
    """

    RECORDS = KEYS + WAIT_KEYS

    def __init__(self, G: nn.Module, D: nn.Module, data: Tensor | SampleReal, config: TrainConfig,
                 d_wait_below: float | None = None, g_wait_below: float | None = None, **run_options) -> None:
        for name, off in _UNSUPPORTED.items():
            if getattr(config, name) != off:
                raise ValueError(f"train_waiting does not support TrainConfig.{name}; set it to {off!r} "
                                 f"(or use gancourse.training.train without waiting)")
        for name, value in (("d_wait_below", d_wait_below), ("g_wait_below", g_wait_below)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or value != value):
                raise ValueError(f"{name} must be a number (a loss value, e.g. 0.5) or None, got {value!r}")
        super().__init__(G, D, data, config, **run_options)
        self.d_wait_below, self.g_wait_below = d_wait_below, g_wait_below
        self._d_waited: Tensor | float = 0.0
        self._g_waited: Tensor | float = 0.0

    def update_d(self, x_real: Tensor, z: Tensor, noise_std: float, k: int) -> DStats:
        update = super().update_d
        stats, waited = _step_unless_ahead(self.opt_d, lambda: update(x_real, z, noise_std, k), "d_loss",
                                           self.d_wait_below)
        self._d_waited = (0.0 if k == 0 else self._d_waited) + waited / self.config.n_critic
        return stats

    def update_g(self, z: Tensor, x_real: Tensor | None, noise_std: float) -> GStats:
        update = super().update_g
        stats, self._g_waited = _step_unless_ahead(self.opt_g, lambda: update(z, x_real, noise_std), "g_loss",
                                                   self.g_wait_below)
        return stats

    def extra_records(self) -> dict[str, Tensor | float]:
        return {"d_waited": self._d_waited, "g_waited": self._g_waited}


def train_waiting(G: nn.Module, D: nn.Module, data: Tensor | SampleReal, config: TrainConfig,
                  d_wait_below: float | None = None, g_wait_below: float | None = None,
                  seeds: Sequence[int] | None = None, device: torch.device | str | None = None,
                  callback: Callable[[int, History, nn.Module, nn.Module], None] | None = None) -> TrainResult:
    """Train like :func:`~gancourse.training.train`, but a player whose loss is low waits. Chapter 04.

    The waiting rule is :class:`WaitingRun`'s. The losses are the ones ``config.loss`` defines
    (for the non-saturating loss D's is ``-log D(x) - log(1 - D(G(z)))``, 2 log 2 = 1.386 when D
    says 1/2 everywhere; G's is ``-log D(G(z))``, log 2 = 0.693 there). ``G``, ``D``, ``data``,
    ``seeds``, ``device`` and ``callback`` are those of :func:`~gancourse.training.train`; stacked
    seeds wait seed by seed. Stops with :class:`~gancourse.training.TrainingDiverged` as ``train``
    does. Unrolled G steps and instance noise are not supported here. A waiting player's
    buffers (batch-norm running statistics) are not restored: its forward pass still updates them.
    With stacked seeds, Adam's step count is shared by all seeds and only held back when every
    seed waits, so a seed that waited takes its next steps with slightly different bias corrections
    than a run of its own would.
    """
    run = WaitingRun(G, D, data, config, d_wait_below, g_wait_below, callback=callback, device=device, seeds=seeds)
    try:
        run.advance(max(config.steps - run.step, 0))
    finally:
        run.close()
    return run.result()


def recipe_trainer(recipe: Mapping[str, float | int]) -> tuple[dict[str, float | int], Callable[..., TrainResult]]:
    """Split a recipe (like the values of :data:`IMAGE_RECIPES`) into config fields and the function that trains.

    Waiting thresholds (:data:`WAIT_FIELDS`) select :func:`train_waiting`; everything else is
    :class:`~gancourse.training.TrainConfig` fields for :func:`~gancourse.training.train`.
    """
    fields = dict(recipe)
    waits = {name: fields.pop(name) for name in WAIT_FIELDS if name in fields}
    unknown = set(fields) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown recipe fields {sorted(unknown)}: a recipe holds TrainConfig fields "
                         f"or {' / '.join(WAIT_FIELDS)}")
    return fields, (functools.partial(train_waiting, **waits) if waits else train)

