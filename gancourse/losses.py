"""GAN losses: pure functions over D's logits, in matching ``d_``/``g_`` pairs, picked by name.

Every function takes logits of any shape (``(B, 1)`` for one model, ``(S, B, 1)``
for ``S`` stacked seeds) and returns the scalar mean over all entries; ``D`` and
``G`` each *minimise* their own loss. Nothing here steps an optimizer.

* ``minimax`` / ``non_saturating``: the original GAN (Goodfellow et al. 2014),
  chapters 01, 02; the saturating generator loss is the one that starves ``G``.
* ``wasserstein``: the WGAN critic (Arjovsky et al. 2017), chapter 07.
* ``hinge``: the hinge loss of SN-GAN / BigGAN, chapters 08, 09.
* ``least_squares``: LSGAN with a=0, b=1, c=1 (Mao et al. 2017), chapter 09.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

# ---------------------------------------------------------------- minimax (original GAN)


def d_minimax_loss(real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0) -> Tensor:
    """D's loss ``-[log D(x) + log(1 - D(G(z)))]``, averaged (chapters 01, 02).

    ``real_label < 1`` is one-sided label smoothing (Salimans et al. 2016, chapter 08):
    the target for real samples becomes ``real_label``; the fake target stays 0,
    because smoothing it too would reward ``G`` for staying where it is.
    """
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0, 1], got {real_label}; use e.g. 0.9 for label smoothing")
    # BCE-with-logits is the log-sum-exp stable form of -log sigmoid(t) and -log(1 - sigmoid(t))
    real_term = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake_term = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real_term + fake_term


def g_saturating_loss(fake_logits: Tensor) -> Tensor:
    """G's original loss ``log(1 - D(G(z)))`` = ``-softplus(fake_logits)``, averaged (chapter 02).

    ``G`` minimises it. Its gradient ``-sigmoid(t)`` vanishes when ``D`` confidently
    rejects the fakes (``t -> -inf``): the vanishing-gradient failure of chapter 02.
    """
    return -F.softplus(fake_logits).mean()


def g_non_saturating_loss(fake_logits: Tensor) -> Tensor:
    """G's non-saturating loss ``-log D(G(z))`` = ``softplus(-fake_logits)``, averaged (chapter 02).

    Same fixed point as the saturating loss, but its gradient ``-(1 - sigmoid(t))``
    tends to -1 per sample exactly where the saturating one tends to 0.
    """
    return F.softplus(-fake_logits).mean()


# ---------------------------------------------------------------- Wasserstein


def d_wasserstein_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The critic's loss ``E[D(G(z))] - E[D(x)]`` (chapter 07); needs a Lipschitz constraint on D."""
    return fake_logits.mean() - real_logits.mean()


def g_wasserstein_loss(fake_logits: Tensor) -> Tensor:
    """G's Wasserstein loss ``-E[D(G(z))]`` (chapter 07)."""
    return -fake_logits.mean()


# ---------------------------------------------------------------- hinge


def d_hinge_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """D's hinge loss ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` (chapters 08, 09)."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_hinge_loss(fake_logits: Tensor) -> Tensor:
    """G's hinge loss ``-E[D(G(z))]`` (chapters 08, 09)."""
    return -fake_logits.mean()


# ---------------------------------------------------------------- least squares


def d_least_squares_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """LSGAN's D loss ``0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]`` on raw outputs (a=0, b=1; chapter 09)."""
    return 0.5 * (real_logits - 1.0).square().mean() + 0.5 * fake_logits.square().mean()


def g_least_squares_loss(fake_logits: Tensor) -> Tensor:
    """LSGAN's G loss ``0.5 E[(D(G(z)) - 1)^2]`` (c=1; chapter 09)."""
    return 0.5 * (fake_logits - 1.0).square().mean()


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class GANLoss:
    """A matching pair of losses, as the training loop uses them.

    ``d(real_logits, fake_logits)`` and ``g(fake_logits)`` each return the scalar
    that ``D`` resp. ``G`` minimises. When ``supports_label_smoothing`` is true,
    ``d`` also takes a ``real_label=`` keyword (one-sided label smoothing).
    """

    name: str
    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]
    supports_label_smoothing: bool


LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss("minimax", d_minimax_loss, g_saturating_loss, True),
    "non_saturating": GANLoss("non_saturating", d_minimax_loss, g_non_saturating_loss, True),
    "wasserstein": GANLoss("wasserstein", d_wasserstein_loss, g_wasserstein_loss, False),
    "hinge": GANLoss("hinge", d_hinge_loss, g_hinge_loss, False),
    "least_squares": GANLoss("least_squares", d_least_squares_loss, g_least_squares_loss, False),
}


def get_loss(name: str) -> GANLoss:
    """The loss pair called ``name``, one of ``LOSSES``' keys."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; use one of {', '.join(LOSSES)}") from None
