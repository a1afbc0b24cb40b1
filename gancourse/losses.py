"""GAN losses: pure functions over D's logits, in matching ``d_``/``g_`` pairs, picked by name.

Every function takes logits of any shape (``(B, 1)`` for one model, ``(S, B, 1)``
for ``S`` stacked seeds) and returns the scalar mean over all entries; with
``per_seed=True`` it takes ``(S, B, ...)`` logits and returns each seed's mean over its
own batch, shape ``(S,)`` (what the training loop records for stacked seeds). ``D`` and
``G`` each *minimise* their own loss. Nothing here steps an optimizer.

* ``minimax`` / ``non_saturating``: the original GAN (Goodfellow et al. 2014),
  chapters 01, 02; the saturating generator loss is the one that starves ``G``.
* ``wasserstein``: the WGAN critic (Arjovsky et al. 2017), chapter 07.
* ``hinge``: the hinge loss of SN-GAN / BigGAN, chapters 08, 09.
* ``least_squares``: LSGAN with a=0, b=1, c=1 (Mao et al. 2017), chapter 09.
* ``mad_gan``: MAD-GAN's ``(k+1)``-way D for ``k`` generators (Ghosh et al. 2018), chapter 08.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


def _mean(x: Tensor, per_seed: bool) -> Tensor:
    """Mean over every entry, or per seed over all but the leading seeds dim: ``()`` or ``(S,)``."""
    return x.flatten(1).mean(dim=1) if per_seed else x.mean()


# ---------------------------------------------------------------- minimax (original GAN)


def d_minimax_loss(real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0, per_seed: bool = False) -> Tensor:
    """D's loss ``-[log D(x) + log(1 - D(G(z)))]``, averaged (chapters 01, 02).

    ``real_label < 1`` is one-sided label smoothing (Salimans et al. 2016, chapter 08):
    the target for real samples becomes ``real_label``; the fake target stays 0,
    because smoothing it too would reward ``G`` for staying where it is.
    """
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0, 1], got {real_label}; use e.g. 0.9 for label smoothing")
    # -log sigmoid(t) = softplus(-t) and -log(1 - sigmoid(t)) = softplus(t), in softplus's stable form;
    # the real term is the binary cross-entropy with target real_label
    real_term = F.softplus(-real_logits)
    if real_label != 1.0:
        real_term = real_label * real_term + (1.0 - real_label) * F.softplus(real_logits)
    return _mean(real_term, per_seed) + _mean(F.softplus(fake_logits), per_seed)


def g_saturating_loss(fake_logits: Tensor, per_seed: bool = False) -> Tensor:
    """G's original loss ``log(1 - D(G(z)))`` = ``-softplus(fake_logits)``, averaged (chapter 02).

    ``G`` minimises it. Its gradient ``-sigmoid(t)`` vanishes when ``D`` confidently
    rejects the fakes (``t -> -inf``): the vanishing-gradient failure of chapter 02.
    """
    return -_mean(F.softplus(fake_logits), per_seed)


def g_non_saturating_loss(fake_logits: Tensor, per_seed: bool = False) -> Tensor:
    """G's non-saturating loss ``-log D(G(z))`` = ``softplus(-fake_logits)``, averaged (chapter 02).

    Same fixed point as the saturating loss, but its gradient ``-(1 - sigmoid(t))``
    tends to -1 per sample exactly where the saturating one tends to 0.
    """
    return _mean(F.softplus(-fake_logits), per_seed)


# ---------------------------------------------------------------- Wasserstein


def d_wasserstein_loss(real_logits: Tensor, fake_logits: Tensor, per_seed: bool = False) -> Tensor:
    """The critic's loss ``E[D(G(z))] - E[D(x)]`` (chapter 07); needs a Lipschitz constraint on D."""
    return _mean(fake_logits, per_seed) - _mean(real_logits, per_seed)


def g_wasserstein_loss(fake_logits: Tensor, per_seed: bool = False) -> Tensor:
    """G's Wasserstein loss ``-E[D(G(z))]`` (chapter 07)."""
    return -_mean(fake_logits, per_seed)


# ---------------------------------------------------------------- hinge


def d_hinge_loss(real_logits: Tensor, fake_logits: Tensor, per_seed: bool = False) -> Tensor:
    """D's hinge loss ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` (chapters 08, 09)."""
    return _mean(F.relu(1.0 - real_logits), per_seed) + _mean(F.relu(1.0 + fake_logits), per_seed)


def g_hinge_loss(fake_logits: Tensor, per_seed: bool = False) -> Tensor:
    """G's hinge loss ``-E[D(G(z))]`` (chapters 08, 09)."""
    return -_mean(fake_logits, per_seed)


# ---------------------------------------------------------------- least squares


def d_least_squares_loss(real_logits: Tensor, fake_logits: Tensor, per_seed: bool = False) -> Tensor:
    """LSGAN's D loss ``0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]`` on raw outputs (a=0, b=1; chapter 09)."""
    return 0.5 * _mean((real_logits - 1.0).square(), per_seed) + 0.5 * _mean(fake_logits.square(), per_seed)


def g_least_squares_loss(fake_logits: Tensor, per_seed: bool = False) -> Tensor:
    """LSGAN's G loss ``0.5 E[(D(G(z)) - 1)^2]`` (c=1; chapter 09)."""
    return 0.5 * _mean((fake_logits - 1.0).square(), per_seed)


# ---------------------------------------------------------------- MAD-GAN: k generators, a (k+1)-way D


def _n_generators(logits: Tensor) -> int:
    if logits.dim() < 2 or logits.shape[-1] < 2:
        raise ValueError(f"MAD-GAN's D gives k + 1 logits per sample (k generators, then 'real'), shape "
                         f"(B, k + 1) with k >= 1, got {tuple(logits.shape)}: build D with out_dim = k + 1")
    return logits.shape[-1] - 1


def d_mad_gan_loss(real_logits: Tensor, fake_logits: Tensor, per_seed: bool = False) -> Tensor:
    """MAD-GAN's D loss (Ghosh et al. 2018): cross-entropy of a ``(k+1)``-way classifier (chapter 08).

    Logits ``(B, k + 1)`` (stacked ``(S, B, k + 1)``): class ``k`` (the last) is "real", class
    ``i < k`` "made by generator ``i``". Fake sample ``j`` of a batch comes from generator
    ``j mod k`` (the rule of :mod:`gancourse.models.multi_generator`), so its label follows from its
    position. Returns the mean over real samples of ``-log p_k(x)`` plus the mean over fake
    samples of ``-log p_{j mod k}(G(z_j))``.
    """
    k = _n_generators(real_logits)
    if fake_logits.shape[-1] != k + 1:
        raise ValueError(f"real logits have {k + 1} classes but fake logits {fake_logits.shape[-1]}")
    real_term = -F.log_softmax(real_logits, dim=-1)[..., k]  # (B,) or (S, B)
    n_fake = fake_logits.shape[-2]
    labels = (torch.arange(n_fake, device=fake_logits.device) % k).expand(fake_logits.shape[:-1])
    fake_term = -F.log_softmax(fake_logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return _mean(real_term, per_seed) + _mean(fake_term, per_seed)


def g_mad_gan_loss(fake_logits: Tensor, per_seed: bool = False) -> Tensor:
    """MAD-GAN's G loss ``-log p_real(G_i(z))``: every generator wants D to call its samples real (chapter 08).

    The non-saturating form, as the authors' code (vivkul/MAD-GAN_synthetic) trains it; the
    paper's minimax form is ``log(1 - p_real)``.
    """
    k = _n_generators(fake_logits)
    return _mean(-F.log_softmax(fake_logits, dim=-1)[..., k], per_seed)


def p_real_mad_gan(logits: Tensor) -> Tensor:
    """The probability of "real" under MAD-GAN's ``(k+1)``-way D: softmax's last entry, ``(..., 1)``."""
    return F.softmax(logits, dim=-1)[..., -1:]


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class GANLoss:
    """A matching pair of losses, as the training loop uses them.

    ``d(real_logits, fake_logits)`` and ``g(fake_logits)`` each return the scalar
    that ``D`` resp. ``G`` minimises (``per_seed=True``: one per seed). When ``supports_label_smoothing`` is true,
    ``d`` also takes a ``real_label=`` keyword (one-sided label smoothing). ``p_real(logits)`` is the
    probability of "real" that D's logits stand for (recorded as ``d_real`` and ``d_fake``).
    """

    name: str
    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]
    supports_label_smoothing: bool
    p_real: Callable[[Tensor], Tensor] = torch.sigmoid


LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss("minimax", d_minimax_loss, g_saturating_loss, True),
    "non_saturating": GANLoss("non_saturating", d_minimax_loss, g_non_saturating_loss, True),
    "wasserstein": GANLoss("wasserstein", d_wasserstein_loss, g_wasserstein_loss, False),
    "hinge": GANLoss("hinge", d_hinge_loss, g_hinge_loss, False),
    "least_squares": GANLoss("least_squares", d_least_squares_loss, g_least_squares_loss, False),
    "mad_gan": GANLoss("mad_gan", d_mad_gan_loss, g_mad_gan_loss, False, p_real_mad_gan),
}

ONE_GENERATOR_LOSSES: tuple[str, ...] = tuple(name for name in LOSSES if name != "mad_gan")
"""The losses for one G and a D with one logit (every loss but MAD-GAN's, which needs ``k`` generators and
``k + 1`` logits): what the playground offers and what the tests loop over."""


def get_loss(name: str) -> GANLoss:
    """The loss pair called ``name``, one of ``LOSSES``' keys."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; use one of {', '.join(LOSSES)}") from None
