"""Feature matching (Salimans et al. 2016): G matches the mean of an inner layer of D instead of fooling D.

G's loss is ``|| E_x f(x) - E_z f(G(z)) ||^2``, ``f`` an inner layer of ``D`` (here: the
last hidden layer, the one D's output layer reads, before any minibatch layer), the
expectations replaced by means over a real and a fake batch. ``D`` trains as usual. G no
longer chases D's current favourite point, it is asked to reproduce the statistics D
finds useful: chapter 08 measures whether that keeps it from collapsing.

The paper writes the squared L2 distance used here; the reference code (openai/improved-gan)
takes the mean absolute difference over features instead. A D exposes its features with a
``features(x)`` method: :class:`gancourse.models.mlp.MLPDiscriminator` (``(B, F)``, stacked
``(S, B, F)``) and :class:`gancourse.models.dcgan.DCGANDiscriminator` (``(B, F)``) have one.
"""

from __future__ import annotations

from torch import Tensor, nn


def feature_matching_loss(f_real: Tensor, f_fake: Tensor, per_seed: bool = False) -> Tensor:
    """``||mean_i f_real[i] - mean_j f_fake[j]||^2`` for features ``(B, F)``: a scalar. Chapter 08.

    With ``per_seed=True`` the features are ``(S, B, F)`` (stacked seeds) and the result is
    ``(S,)``, each seed's own distance. ``f_real`` and ``f_fake`` may hold different numbers of
    samples. Pure function: detach ``f_real`` yourself if G must not move D's real features
    (they do not depend on G anyway).
    """
    batch_dim = 1 if per_seed else 0
    if f_real.dim() != batch_dim + 2 or f_fake.dim() != batch_dim + 2:
        expected = "(S, B, F)" if per_seed else "(B, F)"
        raise ValueError(f"feature_matching_loss expects features of shape {expected}, got "
                         f"{tuple(f_real.shape)} (real) and {tuple(f_fake.shape)} (fake)")
    if f_real.shape[-1] != f_fake.shape[-1] or (per_seed and f_real.shape[0] != f_fake.shape[0]):
        raise ValueError(f"real and fake features must have the same seeds and features, got "
                         f"{tuple(f_real.shape)} and {tuple(f_fake.shape)}")
    gap = f_real.mean(dim=batch_dim) - f_fake.mean(dim=batch_dim)  # (F,) or (S, F)
    return gap.square().sum(dim=-1)


def d_features(D: nn.Module, x: Tensor) -> Tensor:
    """``D.features(x)``: the inner layer that feature matching compares; a clear error if D has none."""
    features = getattr(D, "features", None)
    if not callable(features):
        raise ValueError(f"feature matching needs a D that exposes an inner layer as D.features(x); "
                         f"{type(D).__name__} has none. Use gancourse.models.mlp.MLPDiscriminator or "
                         f"gancourse.models.dcgan.DCGANDiscriminator, or add a features method to your D")
    return features(x)
