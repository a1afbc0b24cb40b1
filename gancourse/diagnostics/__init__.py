"""Why a run fails, measured: gradients, D's confidence, the health of a run, swings and shifts.

* :mod:`~gancourse.diagnostics.gradients`: gradient norms per layer and per sample, G's gradient under
  each loss, D's outputs, the field G's samples follow, a batch's diversity.
* :mod:`~gancourse.diagnostics.health`: the health monitor that reads a run's history and names its failure.
* :mod:`~gancourse.diagnostics.saturation`: how a confident D starves G (saturating losses and activations).
* :mod:`~gancourse.diagnostics.oscillation`: how far and how regularly a training signal swings, and whether
  it settles.
* :mod:`~gancourse.diagnostics.snapshots`: where G's samples were during training, and its figures.
* :mod:`~gancourse.diagnostics.lipschitz`: is the critic 1-Lipschitz, and what did the constraint cost.
* :mod:`~gancourse.diagnostics.covariate_shift`: internal covariate shift in G, measured two ways.
* :mod:`~gancourse.diagnostics.guidelines`: DCGAN's architecture guidelines, checked on a pair of nets.
* :mod:`~gancourse.diagnostics.latent`: walking in G's latent space (interpolations, class directions).

The public functions of :mod:`~gancourse.diagnostics.gradients` are re-exported here, so
``from gancourse import diagnostics; diagnostics.generator_grad_norm(...)`` works; the other modules
are imported only when asked for (``from gancourse.diagnostics import health``).
"""

from gancourse.diagnostics.gradients import (
    backprop_signals,
    discriminator_output_stats,
    generator_grad_norm,
    generator_motion,
    grad_norms_of,
    input_gradient_field,
    layer_grad_norms,
    mean_pairwise_distance,
    per_sample_grad_norms,
)

__all__ = [
    "backprop_signals",
    "discriminator_output_stats",
    "generator_grad_norm",
    "generator_motion",
    "grad_norms_of",
    "input_gradient_field",
    "layer_grad_norms",
    "mean_pairwise_distance",
    "per_sample_grad_norms",
]
