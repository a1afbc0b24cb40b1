"""Measuring GAN failures: mode coverage, FID, class histograms, object counts.

* :mod:`~gancourse.metrics.modes`: the 2-D VEEGAN/PacGAN protocol (chapters 03, 08, 09).
* :mod:`~gancourse.metrics.classifier`: the Fashion-MNIST classifier behind FID and histograms.
* :mod:`~gancourse.metrics.fid`: Fréchet distance on its features (chapters 04, 06, 08, 09).
* :mod:`~gancourse.metrics.histograms`: class histograms and the stacked 1000 modes (chapters 03, 08).
* :mod:`~gancourse.metrics.counting`: connected-component counts (chapter 05).
* :mod:`~gancourse.metrics.hopping`: where G's mass sits over training, mode hopping (chapter 03).
* :mod:`~gancourse.metrics.scoring`: a run scored at checkpoints: FID, class histogram, a sample grid, the
  losses (chapters 04, 06, 07).
* :mod:`~gancourse.metrics.stats`: ranks, Spearman's correlation, mean and spread over seeds (chapters 04, 06-08).

The package re-exports the measures above; :mod:`~gancourse.metrics.scoring` (which trains) and
:mod:`~gancourse.metrics.stats` are imported only when asked for (``from gancourse.metrics import stats``).

Importing this package is cheap: torchmetrics is imported only when an FID is computed.
"""

from gancourse.metrics.classifier import ChecksumError, FashionClassifier, load_classifier
from gancourse.metrics.counting import (
    component_sizes,
    count_accuracy,
    count_histogram_distance,
    count_objects,
    label_components,
)
from gancourse.metrics.fid import FIDScorer, fid
from gancourse.metrics.histograms import (
    class_histogram,
    class_probabilities,
    confident_class_histogram,
    kl_to_uniform,
    make_stacked,
    predict_classes,
    stacked_modes,
)
from gancourse.metrics.modes import BatchedModeCoverage, ModeCoverage, mode_coverage, mode_coverage_batched

__all__ = [
    "BatchedModeCoverage",
    "ChecksumError",
    "FIDScorer",
    "FashionClassifier",
    "ModeCoverage",
    "class_histogram",
    "class_probabilities",
    "component_sizes",
    "confident_class_histogram",
    "count_accuracy",
    "count_histogram_distance",
    "count_objects",
    "fid",
    "kl_to_uniform",
    "label_components",
    "load_classifier",
    "make_stacked",
    "mode_coverage",
    "mode_coverage_batched",
    "predict_classes",
    "stacked_modes",
]
