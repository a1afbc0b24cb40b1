"""Simultaneous updates: D and G step at once, on one batch, each against the other's current weights.

The course's loop alternates (D steps, then G steps against the updated D, Goodfellow et al.
2014, Algorithm 1). The code behind PacGAN's table 1 (Lin et al. 2018, built on ALI's
``ali_algorithm``) does not: one forward pass draws ``x_fake = G(z)``, D judges the real and
the fake batch, both losses are differentiated on that same graph (D's loss for D's weights,
G's loss for G's weights) and both Adam steps are taken together. Chapter 01 shows why this
differs: simultaneous gradient steps on a bilinear game spiral outwards where alternating
ones cycle. :func:`gancourse.training.train` uses :func:`simultaneous_step` when
``TrainConfig.simultaneous`` is set (chapter 09's reproduction of PacGAN).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gancourse.losses import get_loss
from gancourse.regularizers import clip_weights_, gradient_penalty, r1_penalty
from gancourse.training.seeds import Randomness, grad_norm, n_models, per_seed_loss, per_seed_mean
from gancourse.training.steps import DStats, GStats, _autocast, _d_input, _interpolation_weights, _judge, _params

if TYPE_CHECKING:
    from gancourse.training.loop import TrainConfig


def simultaneous_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                      x_real: Tensor, z: Tensor, config: TrainConfig, rng: Randomness | None = None,
                      noise_std: float = 0.0) -> tuple[DStats, GStats]:
    """One update of D and of G from the same batch: both gradients first, then both steps. Chapter 09.

    ``x_real`` ``(n, ...)`` and ``z`` ``(n, z_dim)`` (stacked: ``(S, n, ...)``), ``n = batch_size * pack``.
    G runs once, so its batch-norm statistics move once per step. D's objective is its loss
    (with ``label_smoothing``) plus the gradient penalty or R1 if configured, on G's samples
    detached; G's is its loss on D's logits for the same samples. Weight clipping follows D's
    step. Returns the records :func:`~gancourse.training.steps.d_step` and :func:`~gancourse.training.steps.g_step`
    return.
    """
    S = n_models(G, D)
    batch_dims = 1 if S == 1 else 2
    loss = get_loss(config.loss)
    d_params, g_params = _params(opt_d), _params(opt_g)
    with _autocast(config.amp, x_real.device):
        x_fake = G(z)
        real_in = _d_input(x_real, noise_std, config.pack, rng, batch_dims)
        fake_in = _d_input(x_fake, noise_std, config.pack, rng, batch_dims)
        real_logits, fake_logits = _judge(D, real_in, fake_in, batch_dims)  # one D pass where D allows it
        smoothing = {"real_label": 1.0 - config.label_smoothing} if config.label_smoothing else {}
        d_loss = per_seed_loss(loss.d, S, real_logits, fake_logits, **smoothing)  # () or (S,)
        g_loss = per_seed_loss(loss.g, S, fake_logits)
        d_objective = d_loss.sum()  # seeds' parameters are disjoint: summing keeps each seed's own gradient
        if config.gp_weight:
            eps = _interpolation_weights(real_in, rng, batch_dims)
            d_objective = d_objective + S * config.gp_weight * gradient_penalty(
                D, real_in, fake_in.detach(), batch_dims=batch_dims, eps=eps)
        if config.r1_weight:
            d_objective = d_objective + S * config.r1_weight / 2 * r1_penalty(D, real_in, batch_dims=batch_dims)
    # both gradients from the graph of this one pass, before either player moves
    d_grads = torch.autograd.grad(d_objective, d_params, retain_graph=True, allow_unused=True)
    g_grads = torch.autograd.grad(g_loss.sum(), g_params, allow_unused=True)
    for params, grads in ((d_params, d_grads), (g_params, g_grads)):
        for p, g in zip(params, grads, strict=True):
            p.grad = g
    d_grad_norm, g_grad_norm = grad_norm(d_params, S), grad_norm(g_params, S)
    opt_d.step()
    opt_g.step()
    if config.clip_value is not None:
        clip_weights_(D, config.clip_value)
    return (DStats(d_loss.detach(), per_seed_mean(real_logits.detach().sigmoid(), S),
                   per_seed_mean(fake_logits.detach().sigmoid(), S), d_grad_norm),
            GStats(g_loss.detach(), g_grad_norm))
