"""D trained against a generator that stands still: the optimal discriminator, the optimal critic (chapter 07).

The theory of chapter 07 is about the *optimal* D for a fixed generator: the minimax D whose
loss gives JS, the critic whose gap ``E f(x_real) - E f(x_fake)`` gives W, and the gradient
each hands to G. This module trains D towards that optimum with G frozen, many models at
once (stacked MLPs, :mod:`gancourse.models.mlp`, one per seed or per setting):

* :class:`ShiftGenerator`: ``G(z) = z @ scale + shift``, a generator whose one parameter,
  ``shift``, says where its distribution sits (the parallel lines' ``theta``, a Gaussian's
  mean). The gradient of G's loss in ``shift`` is what a real G's weights would receive
  through its last layer's bias: :func:`shift_gradient`.
* :func:`stacked_critics`: one D per seed, stacked; :func:`fit_d`: D steps of
  :func:`gancourse.training.steps.d_step` (any loss, the gradient penalty)
  against the frozen G, with weight clipping that may differ per stacked model
  (:func:`clip_weights_per_model_`), recording D's loss at every step.

Clipping, the penalty and batch norm are then measured with :mod:`gancourse.diagnostics.lipschitz`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gancourse.losses import get_loss
from gancourse.runtime import default_device
from gancourse.training import TrainConfig, threads
from gancourse.training.seeds import Randomness, init_models, n_models
from gancourse.training.steps import d_step, make_optimizer


class ShiftGenerator(nn.Module):
    """``G(z) = z @ scale + shift``: ``z (B, k) -> (B, d)``, or stacked ``(S, B, k) -> (S, B, d)`` (chapter 07).

    ``scale`` ``(k, d)`` is a fixed buffer; ``shift`` ``(d,)``, or ``(S, d)`` for ``S`` models side by
    side, is the one parameter. Examples: the parallel lines' generator is ``scale = [[0, 1]]``,
    ``shift = (theta, 0)`` with ``z ~ U[0, 1]``; a 1-D Gaussian ``N(mu, sigma^2)`` is
    ``scale = [[sigma]]``, ``shift = (mu,)`` with ``z ~ N(0, 1)``; ``scale = I``, ``shift = 0``
    passes samples through unchanged (a fixed fake distribution drawn by the caller).
    """

    def __init__(self, scale: Tensor | Sequence[Sequence[float]], shift: Tensor | Sequence) -> None:
        super().__init__()
        scale = torch.as_tensor(scale, dtype=torch.float32)
        shift = torch.as_tensor(shift, dtype=torch.float32)
        if scale.dim() != 2 or shift.dim() not in (1, 2) or shift.shape[-1] != scale.shape[1]:
            raise ValueError(f"scale must be (k, d) and shift (d,) or (S, d) with the same d, got "
                             f"{tuple(scale.shape)} and {tuple(shift.shape)}")
        self.register_buffer("scale", scale)
        self.stacked = shift.dim() == 2
        self.n_models = shift.shape[0] if self.stacked else 1
        self.z_dim = scale.shape[0]
        self.shift = nn.Parameter(shift[:, None, :].clone() if self.stacked else shift.clone())  # (S, 1, d) or (d,)

    def forward(self, z: Tensor) -> Tensor:
        expected = 3 if self.stacked else 2
        if z.dim() != expected or z.shape[-1] != self.z_dim or (self.stacked and z.shape[0] != self.n_models):
            want = f"(S, B, {self.z_dim}) with S={self.n_models}" if self.stacked else f"(B, {self.z_dim})"
            raise ValueError(f"ShiftGenerator expects z of shape {want}, got {tuple(z.shape)}")
        return z @ self.scale + self.shift


def shift_gradient(G: ShiftGenerator, D: Callable[[Tensor], Tensor], z: Tensor, loss: str) -> Tensor:
    """Gradient of G's ``loss`` (a name from :data:`gancourse.losses.LOSSES`) in ``G.shift``, per model.

    ``(d,)`` for one model, ``(S, d)`` for stacked ones, each model's gradient of its own mean
    loss over ``z``. Neither G's nor D's ``.grad`` is touched. Chapter 07: a saturated D gives
    ~0, the critic ~1 in norm.
    """
    g_loss = get_loss(loss).g
    with torch.enable_grad():
        logits = D(G(z))
        value = g_loss(logits, per_seed=True).sum() if G.stacked else g_loss(logits)
        (grad,) = torch.autograd.grad(value, G.shift)
    return grad[:, 0, :] if G.stacked else grad


def stacked_critics(seeds: Sequence[int], make_D: Callable[[], nn.Module]) -> nn.Module:
    """One ``make_D()`` per seed, each built right after ``torch.manual_seed(seed)``, stacked (chapter 07).

    Seed ``s``'s model starts from the weights a run of seed ``s`` alone would build
    (:func:`gancourse.training.seeds.init_models`); one seed gives the ordinary model. ``make_D`` builds an
    ordinary :class:`~gancourse.models.mlp.MLPDiscriminator` (or another class with ``.stack``).
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct ints, got {seeds}")
    models = [init_models(s, nn.Identity, make_D)[1] for s in seeds]
    return models[0] if len(models) == 1 else type(models[0]).stack(models)


@torch.no_grad()
def clip_weights_per_model_(D: nn.Module, c: float | Tensor) -> None:
    """Clamp every parameter of ``D`` to ``[-c_s, c_s]`` in place, ``c_s`` the bound of stacked model ``s``.

    ``c`` a number clips all models alike (as :func:`gancourse.regularizers.clip_weights_`); a
    tensor ``(S,)`` gives each stacked model (the leading dim of every parameter) its own bound,
    so that one batched run compares several clipping values (chapter 07).
    """
    c = torch.as_tensor(c, dtype=torch.float32)
    if not (c > 0).all():
        raise ValueError(f"clip values must be > 0, got {c.tolist()}")
    S = n_models(D, D)
    if c.dim() == 1 and len(c) != S:
        raise ValueError(f"got {len(c)} clip values for a D holding {S} models; pass one per model or a number")
    for p in D.parameters():
        bound = c.to(p.device).reshape(-1, *([1] * (p.dim() - 1))) if c.dim() == 1 else c.to(p.device)
        p.copy_(torch.maximum(torch.minimum(p, bound), -bound))


@dataclass
class FitRecord:
    """What :func:`fit_d` returns: D after training and its loss at every step."""

    D: nn.Module
    d_loss: Tensor
    """``(steps,)`` or ``(steps, S)`` on the CPU: D's loss per step, penalties left out (for the
    Wasserstein loss ``-d_loss`` is the critic's estimate of W on that step's batches)."""


def fit_d(G: nn.Module, D: nn.Module, sample_real: Callable[[int, torch.Generator], Tensor],
          sample_z: Callable[[int, torch.Generator], Tensor], steps: int, loss: str = "wasserstein",
          gp_weight: float = 0.0, clip: float | Tensor | None = None, lr: float = 1e-4,
          betas: tuple[float, float] = (0.5, 0.9), batch_size: int = 256, seed: int = 0,
          device: torch.device | str | None = None) -> FitRecord:
    """Train ``D`` for ``steps`` steps against the frozen ``G``: towards the optimal D or critic (chapter 07).

    Each step draws ``batch_size`` real samples ``sample_real(n, generator)`` and as many ``z``
    ``sample_z(n, generator)`` (each ``(n, ...)``, or ``(S, n, ...)`` for stacked models), and
    takes one :func:`~gancourse.training.steps.d_step` with ``loss`` (e.g. ``"minimax"`` or
    ``"wasserstein"``), the gradient penalty ``gp_weight`` (WGAN-GP's lambda) and Adam
    (``lr``, ``betas``); then clips D's weights to ``clip`` if given (a number, or one bound per
    stacked model, :func:`clip_weights_per_model_`). Random numbers come from one generator
    seeded with ``seed`` (the penalty's interpolation weights from ``seed``'s stream as well).
    D is trained in place and returned in the record; G is never changed.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    device = torch.device(device) if device is not None else default_device()
    config = TrainConfig(loss=loss, gp_weight=gp_weight, lr_d=lr, betas=betas, batch_size=batch_size, seed=seed,
                         progress=False)  # validates loss, gp_weight, lr, betas and batch_size
    S = n_models(G, D)
    if S == 1 and (getattr(G, "stacked", False) or getattr(D, "stacked", False)):
        raise ValueError("G or D is stacked but holds one model; for one model use ordinary modules "
                         "(gancourse.training.seeds.stacked_models does so for a single seed)")
    G.to(device)
    D.to(device).train()
    rng = Randomness([seed + s for s in range(S)], device)
    generator = rng.generators[0]
    opt_d = make_optimizer(D.parameters(), lr, config.betas)
    if clip is not None:
        clip_weights_per_model_(D, clip)  # start inside the box, as WGAN's first step leaves it
    losses = []
    # the probe that sizes the CPU threads draws from its own generator: the run's stream never depends on it
    probe = lambda: sample_real(batch_size, torch.Generator(device).manual_seed(0)).to(device)  # noqa: E731
    with threads.for_work(lambda: threads.model_mflop(D, probe()), device):
        for _ in range(steps):
            # (1) Update D against the frozen G (d_step computes G(z) without a graph)
            x_real = sample_real(batch_size, generator).to(device)
            z = sample_z(batch_size, generator).to(device)
            losses.append(d_step(G, D, opt_d, x_real, z, config, rng).d_loss)
            if clip is not None:
                clip_weights_per_model_(D, clip)
    return FitRecord(D=D, d_loss=torch.stack(losses).cpu())
