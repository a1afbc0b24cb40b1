"""G's best response to a frozen D: the "Helvetica scenario" of mode collapse (chapter 03).

A GAN is a game, ``min_G max_D V(D, G)``, played by alternating small steps. Freeze D
and G no longer plays a game: it computes a *best response* to one fixed D. For a
fixed D, G's loss ``E_z[-log D(G(z))]`` is smallest when every ``z`` is sent to a point
where D is highest, so the best response is not a distribution but a point mass.
Goodfellow's NIPS 2016 tutorial calls this collapse the *Helvetica scenario*.

:func:`train_g_against_frozen_d` runs G's step of the ordinary loop
(:func:`gancourse.training.steps.g_step`) against a D that never changes, for one model or ``S``
stacked seeds (:mod:`gancourse.models.mlp`), and records the collapse as the spread of G's
samples (:func:`gancourse.diagnostics.mean_pairwise_distance`). The mirror image, D
trained alone against a frozen G, is :func:`gancourse.diagnostics.saturation.train_d_against_fixed_g`
(chapter 02).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from gancourse.diagnostics import mean_pairwise_distance
from gancourse.models.minibatch import pack
from gancourse.runtime import default_device
from gancourse.training import TrainConfig, threads
from gancourse.training.history import History
from gancourse.training.progress import progress_bar
from gancourse.training.seeds import Randomness, n_models, per_seed_mean
from gancourse.training.steps import g_step, make_optimizer

FROZEN_D_KEYS = ("g_loss", "d_fake", "spread")
"""What :func:`train_g_against_frozen_d` records per G step: G's loss, the mean ``D(G(z))`` and the
mean pairwise distance between the step's samples (G's diversity; 0 once G maps every z to one point)."""


@dataclass
class BestResponse:
    """What :func:`train_g_against_frozen_d` returns: the trained ``G`` (stacked for several seeds)
    and its per-step ``history`` (records :data:`FROZEN_D_KEYS`, each ``(T,)`` or ``(T, S)``)."""

    G: nn.Module
    history: History


def train_g_against_frozen_d(
    G: nn.Module,
    D: nn.Module,
    config: TrainConfig,
    seeds: Sequence[int] | None = None,
    device: torch.device | str | None = None,
) -> BestResponse:
    """Train ``G`` in place for ``config.steps`` G steps against ``D``, which is never updated. Chapter 03.

    Each step is the ordinary :func:`gancourse.training.steps.g_step` with ``config``'s ``loss``,
    ``lr_g``, ``betas``, ``batch_size`` and ``pack`` (the D-side fields are ignored). ``D`` runs
    in eval mode (batch norm uses its running statistics, so ``D`` is one fixed function of
    ``x``, not of the batch); its mode is restored afterwards. For ``S`` stacked seeds,
    ``seeds`` (default ``config.seed + s``) seed each one's ``z``. Returns G and a history of
    :data:`FROZEN_D_KEYS`, each ``(T,)`` or ``(T, S)``.
    """
    device = torch.device(device) if device is not None else default_device()
    S = n_models(G, D)
    seeds = list(seeds) if seeds is not None else [config.seed + s for s in range(S)]
    if len(seeds) != S:
        raise ValueError(f"got {len(seeds)} seeds for models holding {S}; pass one seed per stacked model")
    z_dim = config.z_dim or getattr(G, "z_dim", None)
    if z_dim is None:
        raise ValueError("G has no z_dim attribute; set TrainConfig.z_dim")
    batch_dims = 1 if S == 1 else 2
    n = config.batch_size * config.pack
    was_training = D.training
    G.to(device).train()
    D.to(device).eval()
    opt_g = make_optimizer(G.parameters(), config.lr_g, config.betas)
    rng = Randomness(seeds, device)
    history = History(FROZEN_D_KEYS, flush_every=config.log_every)
    # CPU threads sized by the nets' work (one for 2-D nets), restored afterwards
    z_shape = (n, z_dim) if S == 1 else (S, n, z_dim)
    work = lambda: threads.gan_mflop(G, D, torch.zeros(z_shape, device=device),  # noqa: E731
                                     lambda x: pack(x, config.pack, batch_dims) if config.pack > 1 else x)
    with threads.for_work(work, device):
        try:
            bar = progress_bar(config.steps, desc="G vs frozen D", unit="step", disable=not config.progress)
            for step in range(config.steps):
                z = rng.z(n, z_dim)  # (n, z_dim) or (S, n, z_dim)
                stats = g_step(G, D, opt_g, z, config, rng)
                with torch.no_grad():  # where this step's z land now, and what the frozen D thinks of them
                    x_fake = G(z)
                    fake_logits = D(pack(x_fake, config.pack, batch_dims) if config.pack > 1 else x_fake)
                    history.record(step, g_loss=stats.g_loss, d_fake=per_seed_mean(fake_logits.sigmoid(), S),
                                   spread=mean_pairwise_distance(x_fake, batch_dims))
                bar.update()
            bar.close()
        finally:
            D.train(was_training)
    history.flush()
    return BestResponse(G, history)
