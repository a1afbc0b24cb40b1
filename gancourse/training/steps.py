"""One step of the game: a D update, a G update, G's step against an unrolled D, and the optimizer they use.

The training loop (:func:`gancourse.training.train`) calls these; chapters that need a
single move of one player call them directly: chapter 02 steps D alone towards
optimality and measures how G's gradient vanishes (:func:`d_step`), chapter 03 lets G
play its best response against a frozen D (:func:`g_step`), chapters 03 and 08 unroll D
(:func:`unrolled_g_step`, first or second order). Each step reads its options (loss, penalties, packing,
mixed precision) from a :class:`~gancourse.training.TrainConfig`, works for one model
(``(B, ...)`` batches) or ``S`` stacked seeds (``(S, B, ...)``), and returns its records as
device tensors (no host sync).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import Tensor, nn
from torch.func import functional_call

from gancourse.feature_matching import d_features, feature_matching_loss
from gancourse.losses import get_loss
from gancourse.models.minibatch import MinibatchDiscrimination, MinibatchStdDev, pack
from gancourse.regularizers import add_instance_noise, clip_weights_, gradient_penalty, r1_penalty
from gancourse.training.seeds import Randomness, grad_norm, n_models, per_seed_loss, per_seed_mean
from gancourse.training.unrolled import adam_settings, adam_state, look_ahead

if TYPE_CHECKING:  # training imports this module; the config is only read here
    from gancourse.training.loop import TrainConfig


class DStats(NamedTuple):
    """One D step: D's loss (without penalties), mean D(x), mean D(G(z)), gradient norm; each () or (S,)."""

    d_loss: Tensor
    d_real: Tensor
    d_fake: Tensor
    d_grad_norm: Tensor


class GStats(NamedTuple):
    """One G step: G's loss and gradient norm, each () or (S,)."""

    g_loss: Tensor
    g_grad_norm: Tensor


def make_optimizer(params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with the fused kernel where the device has one (CUDA, CPU since torch 2.4, MPS), else foreach.

    Every chapter that trains: :func:`~gancourse.training.train` builds ``opt_d`` and ``opt_g`` with it,
    chapters 02 and 03 build one for a single player.
    """
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except RuntimeError:  # raised at construction when the parameters' device has no fused kernel
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


def _params(opt: torch.optim.Optimizer) -> list[nn.Parameter]:
    # the optimizer's list of the net's parameters: cheaper than walking the modules every step
    return [p for group in opt.param_groups for p in group["params"]]


def _autocast(amp: str, device: torch.device):
    if amp == "bf16" or (amp == "auto" and device.type == "cuda"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()  # cheaper than entering a disabled autocast every step


def _at_least_float32(logits: Tensor) -> Tensor:
    # bf16 logits under autocast go up to float32 for the loss; float64 (tests, finite differences) stays
    return logits if logits.dtype == torch.float64 else logits.float()


def _d_input(x: Tensor, noise_std: float, m: int, rng: Randomness | None, batch_dims: int) -> Tensor:
    """What D sees: ``x`` plus instance noise, then packed by ``m`` (PacGAN)."""
    if noise_std:
        x = rng.add_noise(x, noise_std) if rng is not None else add_instance_noise(x, noise_std)
    return pack(x, m, batch_dims) if m > 1 else x


# layers whose output for one sample depends on the other samples of the batch
_BATCH_COUPLED = (nn.modules.batchnorm._BatchNorm, MinibatchDiscrimination, MinibatchStdDev)


def judges_samples_alone(D: nn.Module) -> bool:
    """Whether D's logit for a sample depends on that sample only (no batch norm, no minibatch layers)."""
    return not any(isinstance(m, _BATCH_COUPLED) for m in D.modules())


def _judge(D: nn.Module, real_in: Tensor, fake_in: Tensor, batch_dims: int,
           forward: Callable[[Tensor], Tensor] | None = None) -> tuple[Tensor, Tensor]:
    """D's float32 logits on the real and the fake batch (computed by ``forward``, default ``D`` itself).

    Where D judges each sample alone, both batches go through D as one: the same logits, half
    the layer calls (and twice the rows per matmul), which is most of D's step for small nets.
    With batch norm or minibatch layers each batch keeps its own pass, so that its statistics
    are its own, as in a plain DCGAN loop.
    """
    forward = D if forward is None else forward
    if real_in.shape != fake_in.shape or not judges_samples_alone(D):
        return _at_least_float32(forward(real_in)), _at_least_float32(forward(fake_in))
    dim = batch_dims - 1
    logits = _at_least_float32(forward(torch.cat([real_in, fake_in], dim=dim)))
    return logits.split(real_in.shape[dim], dim=dim)


def _interpolation_weights(x: Tensor, rng: Randomness | None, batch_dims: int) -> Tensor | None:
    """WGAN-GP's ``eps``, one per sample of D's input, each seed's from its own generator (None: the global one)."""
    if rng is None:
        return None
    # one seed's shape (B, 1, ..., 1); Randomness stacks the seeds in front
    return rng.uniform(x.shape[batch_dims - 1:batch_dims] + (1,) * (x.dim() - batch_dims), dtype=x.dtype)


def d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, x_real: Tensor, z: Tensor,
           config: TrainConfig, rng: Randomness | None = None, noise_std: float = 0.0) -> DStats:
    """One update of D (every seed of a stacked D) on a real batch and ``G(z)``. Chapters 01, 02, 04, 07, 08.

    ``x_real``: ``(n, ...)`` (stacked: ``(S, n, ...)``), ``n = batch_size * pack`` samples; ``z``: ``(n, z_dim)``
    (``(S, n, z_dim)``). ``rng`` draws instance noise and WGAN-GP's interpolation weights, seed ``s``
    from its own generator (the global generator if None); ``opt_d`` holds D's parameters (its
    list is the one whose gradient norm is taken). Returns :class:`DStats`; ``d_loss`` leaves
    penalties out, so for the Wasserstein loss ``-d_loss`` is the critic's estimate of the distance.
    """
    S = n_models(G, D)
    batch_dims = 1 if S == 1 else 2
    loss = get_loss(config.loss)
    with _autocast(config.amp, x_real.device):
        with torch.no_grad():
            x_fake = G(z)  # G is not updated here: no graph through it
        real_in = _d_input(x_real, noise_std, config.pack, rng, batch_dims)
        fake_in = _d_input(x_fake, noise_std, config.pack, rng, batch_dims)
        real_logits, fake_logits = _judge(D, real_in, fake_in, batch_dims)  # float32 under autocast too
        # (1) Update D: maximize log D(x) + log(1 - D(G(z))), i.e. minimise loss.d (its own form per loss)
        smoothing = {"real_label": 1.0 - config.label_smoothing} if config.label_smoothing else {}
        d_loss = per_seed_loss(loss.d, S, real_logits, fake_logits, **smoothing)  # () or (S,)
        # Summed over seeds: seed s's parameters only enter seed s's loss, so each gets exactly its own
        # gradient. The penalties average over seeds and samples, hence the factor S.
        objective = d_loss.sum()
        if config.gp_weight:
            eps = _interpolation_weights(real_in, rng, batch_dims)
            objective = objective + S * config.gp_weight * gradient_penalty(
                D, real_in, fake_in, batch_dims=batch_dims, eps=eps)
        if config.r1_weight:
            objective = objective + S * config.r1_weight / 2 * r1_penalty(D, real_in, batch_dims=batch_dims)
    opt_d.zero_grad(set_to_none=True)
    objective.backward()
    d_grad_norm = grad_norm(_params(opt_d), S)
    opt_d.step()
    if config.clip_value is not None:
        clip_weights_(D, config.clip_value)
    return DStats(d_loss.detach(), per_seed_mean(loss.p_real(real_logits.detach()), S),
                  per_seed_mean(loss.p_real(fake_logits.detach()), S), d_grad_norm)


def g_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, z: Tensor, config: TrainConfig,
           rng: Randomness | None = None, noise_std: float = 0.0, x_real: Tensor | None = None) -> GStats:
    """One update of G against the current D, on ``G(z)`` with ``z`` ``(n, z_dim)`` or ``(S, n, z_dim)``.

    Chapters 01, 02, 03 (G's best response to a frozen D), 04, 07, 08. Only ``opt_g``'s parameters
    get gradients: D is not changed and its weight gradients are not even computed. With
    ``config.feature_matching`` G's loss is the distance between the means of D's features on
    ``x_real`` (a real batch like ``d_step``'s, required then) and on ``G(z)`` (chapter 08).
    """
    S = n_models(G, D)
    batch_dims = 1 if S == 1 else 2
    loss = get_loss(config.loss)
    params = _params(opt_g)
    with _autocast(config.amp, z.device):
        x_fake = G(z)
        fake_in = _d_input(x_fake, noise_std, config.pack, rng, batch_dims)
        if config.feature_matching:
            if x_real is None:
                raise ValueError("feature matching compares D's features on real and fake batches: pass x_real")
            with torch.no_grad():  # the real features do not depend on G
                f_real = d_features(D, _d_input(x_real, noise_std, config.pack, rng, batch_dims)).float()
            # (2) Update G: match the mean of D's inner layer on real data (Salimans et al. 2016)
            f_fake = _at_least_float32(d_features(D, fake_in))
            g_loss = feature_matching_loss(f_real, f_fake, per_seed=S > 1)  # () or (S,)
        else:
            fake_logits = _at_least_float32(D(fake_in))
            # (2) Update G: maximize log D(G(z)) (non-saturating; "minimax" minimises log(1 - D(G(z))) instead)
            g_loss = per_seed_loss(loss.g, S, fake_logits)  # () or (S,)
    opt_g.zero_grad(set_to_none=True)
    # inputs=: only G's gradients; D's weight gradients would be computed and thrown away
    g_loss.sum().backward(inputs=params)
    g_grad_norm = grad_norm(params, S)
    opt_g.step()
    return GStats(g_loss.detach(), g_grad_norm)


def _state_tensors(D: nn.Module, opt_d: torch.optim.Optimizer) -> list[Tensor]:
    tensors = [*D.parameters(), *D.buffers()]
    for state in opt_d.state.values():
        tensors += [v for v in state.values() if isinstance(v, Tensor)]
    return tensors


def unrolled_g_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                    z: Tensor, draw: Callable[[], tuple[Tensor, Tensor]], config: TrainConfig,
                    rng: Randomness | None = None, noise_std: float = 0.0, x_real: Tensor | None = None) -> GStats:
    """G's step on ``G(z)`` against D unrolled ``config.unrolled_steps`` steps ahead (Metz et al. 2017). Ch. 03, 08.

    D's ``k`` look-ahead steps train on batches from ``draw() -> (x_real, z)``; D itself, its
    buffers and its optimizer are left as they were. ``config.unroll_order`` picks G's gradient:

    * ``1`` (first order): D really takes ``k`` steps, G takes an ordinary step against that
      look-ahead D, and D is restored. G's gradient treats the look-ahead D's weights as
      constants: G plays against a D that is ``k`` steps further along, but not against how D
      would react to G's move.
    * ``2`` (second order, the paper's): the ``k`` steps are differentiable Adam steps
      (:mod:`gancourse.training.unrolled`) that continue ``opt_d`` from its current state, and G's loss
      is backpropagated through them, so that G's gradient includes how D's updates depend
      on G's samples. As in the paper's code, the look-ahead and G's loss share one batch:
      the real half of one ``draw()`` and ``G(z)``, so G runs forward and backward once.
      For the zero-sum losses (``minimax``, ``wasserstein``) G minimises the game's value at
      the look-ahead D, ``-loss.d`` (the paper's ``f(theta_G, theta_D^k(theta_G))``, whose
      real-data term depends on G through D's updates); for the others, its own loss on ``G(z)``.
    """
    if config.unroll_order == 2:
        return _second_order_unrolled_g_step(G, D, opt_g, opt_d, z, draw, config, rng, noise_std)
    state = _state_tensors(D, opt_d)
    saved = [t.detach().clone() for t in state]
    for _ in range(config.unrolled_steps):
        d_step(G, D, opt_d, *draw(), config, rng, noise_std)
    stats = g_step(G, D, opt_g, z, config, rng, noise_std, x_real)
    with torch.no_grad():
        torch._foreach_copy_(state, saved)
    return stats


ZERO_SUM_LOSSES = ("minimax", "wasserstein")
"""Losses whose G loss is minus D's loss on the fakes: the unrolled G then minimises the game's value ``-loss.d``."""


def _second_order_unrolled_g_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer,
                                  opt_d: torch.optim.Optimizer, z: Tensor, draw: Callable[[], tuple[Tensor, Tensor]],
                                  config: TrainConfig, rng: Randomness | None, noise_std: float) -> GStats:
    S = n_models(G, D)
    batch_dims = 1 if S == 1 else 2
    loss = get_loss(config.loss)
    smoothing = {"real_label": 1.0 - config.label_smoothing} if config.label_smoothing else {}
    g_params = _params(opt_g)
    names = [name for name, _ in D.named_parameters()]
    theta_d = [p for _, p in D.named_parameters()]
    # D's buffers (batch-norm statistics) as copies: the look-ahead's forward passes update those, not D's
    buffers = {name: b.detach().clone() for name, b in D.named_buffers()}
    lr, betas, eps = adam_settings(opt_d)

    def d_of(params: list[Tensor], x: Tensor) -> Tensor:
        return functional_call(D, {**dict(zip(names, params, strict=True)), **buffers}, (x,))

    with _autocast(config.amp, z.device):
        x_real = draw()[0]  # one real batch for the whole look-ahead, as the paper's code
        x_fake = G(z)  # with its graph: D's look-ahead weights become functions of G's weights

        def d_objective(i: int, params: list[Tensor]) -> Tensor:
            # D's loss at look-ahead step i (fresh instance noise each step, as in D's own steps)
            real_in = _d_input(x_real, noise_std, config.pack, rng, batch_dims)
            fake_in = _d_input(x_fake, noise_std, config.pack, rng, batch_dims)
            real_logits, fake_logits = _judge(D, real_in, fake_in, batch_dims, lambda x: d_of(params, x))
            return per_seed_loss(loss.d, S, real_logits, fake_logits, **smoothing).sum()

        theta_k = look_ahead(d_objective, theta_d, adam_state(opt_d, theta_d), config.unrolled_steps,
                             lr, betas, eps)
        if config.loss in ZERO_SUM_LOSSES:
            real_in = _d_input(x_real, noise_std, config.pack, rng, batch_dims)
            fake_in = _d_input(x_fake, noise_std, config.pack, rng, batch_dims)
            real_logits, fake_logits = _judge(D, real_in, fake_in, batch_dims, lambda x: d_of(theta_k, x))
            g_loss = -per_seed_loss(loss.d, S, real_logits, fake_logits)  # the game's value V at theta_D^k
        else:
            fake_in = _d_input(x_fake, noise_std, config.pack, rng, batch_dims)
            g_loss = per_seed_loss(loss.g, S, _at_least_float32(d_of(theta_k, fake_in)))
    opt_g.zero_grad(set_to_none=True)
    g_loss.sum().backward(inputs=g_params)  # through the k look-ahead steps to G's weights
    g_grad_norm = grad_norm(g_params, S)
    opt_g.step()
    return GStats(g_loss.detach(), g_grad_norm)
