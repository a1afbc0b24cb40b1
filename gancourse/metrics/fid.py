"""Fréchet distance on the local Fashion-MNIST classifier's features ("FID" in the course).

The Fréchet distance between Gaussians fitted to two feature sets,
``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``, computed by torchmetrics'
``FrechetInceptionDistance`` with the classifier's 128-d penultimate features in
place of Inception's (numbers are therefore not comparable with published
Inception FIDs, only with each other). Chapters 04, 06, 08 and 09 score samples
many times during training: :class:`FIDScorer` computes the real statistics once.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gancourse.metrics.classifier import FashionClassifier, load_classifier
from gancourse.training import threads
from gancourse.validation import check_images

IMAGE_SHAPE = (1, 28, 28)


class ClassifierFeatures(nn.Module):
    """The ``feature`` module handed to torchmetrics: ``(B, 1, 28, 28)`` in ``[-1, 1]`` -> ``(B, num_features)``.

    ``num_features`` spares torchmetrics a dummy forward pass; the module never
    leaves eval mode, so batch-norm statistics stay frozen even if someone calls
    ``.train()`` on the metric.
    """

    def __init__(self, classifier: FashionClassifier) -> None:
        super().__init__()
        self.classifier = classifier
        self.num_features = classifier.num_features

    def train(self, mode: bool = True) -> ClassifierFeatures:
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        return self.classifier.features(x)


def _metric_device(device: torch.device) -> torch.device:
    # the metric keeps float64 sums and takes eigenvalues: Apple MPS has neither, so it works on the CPU there
    return torch.device("cpu") if device.type == "mps" else device


def _check_images(x: Tensor, name: str) -> Tensor:
    """``x`` checked for FID: shape, at least 2 images, float, finite (before torchmetrics' eigenvalues, which
    crash on NaN), in [-1, 1]."""
    if not hasattr(x, "shape") or len(x.shape) != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(f"{name} must have shape (N, 1, 28, 28) in [-1, 1], got {tuple(getattr(x, 'shape', ()))}")
    if len(x) < 2:
        raise ValueError(f"{name} needs at least 2 images to estimate a covariance, got {len(x)}")
    return check_images(x, name, "FID", diverged_hint=name == "x_fake")


class FIDScorer:
    """FID against a fixed real set: the real features' statistics are computed once, at creation.

    ``scorer = FIDScorer(x_real)`` then ``scorer(x_fake)`` for every checkpoint;
    ``x_real``, ``x_fake`` are ``(N, 1, 28, 28)`` in ``[-1, 1]`` (thousands of images
    give a stable value; the estimate is biased upwards for small N, so compare
    scores taken with the same N). The work happens on ``x_real``'s device.
    Chapters 04, 06, 08, 09.
    """

    def __init__(self, x_real: Tensor, classifier: FashionClassifier | None = None, batch_size: int = 1000) -> None:
        from torchmetrics.image.fid import FrechetInceptionDistance  # imported here: torchmetrics is slow to import

        x_real = _check_images(x_real, "x_real")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = _metric_device(x_real.device)
        self.batch_size = batch_size
        classifier = load_classifier(self.device) if classifier is None else classifier.to(self.device)
        self.metric = FrechetInceptionDistance(
            feature=ClassifierFeatures(classifier),
            normalize=True,  # with a custom feature module: "expect float images", passed on untouched
            reset_real_features=False,  # reset() keeps the real statistics
        ).to(self.device)
        # the classifier's work on one batch sizes the CPU threads (threads.for_work); counted on one image
        per_image = threads.model_mflop(self.metric.inception, x_real[:1].to(self.device))
        self._mflop = per_image * batch_size
        self._update(x_real, real=True)

    def _update(self, x: Tensor, real: bool) -> None:
        with threads.for_work(self._mflop, self.device):
            for start in range(0, len(x), self.batch_size):
                self.metric.update(x[start : start + self.batch_size].to(self.device), real=real)

    def __call__(self, x_fake: Tensor) -> float:
        """FID between the real set and ``x_fake`` (N, 1, 28, 28); lower is better, 0 for identical sets."""
        x_fake = _check_images(x_fake, "x_fake")
        self.metric.reset()  # forget the previous fake set only
        self._update(x_fake, real=False)
        with threads.for_work(0.0, self.device):  # a 128x128 eigenproblem: one thread
            return float(self.metric.compute())


def fid(x_a: Tensor, x_b: Tensor, classifier: FashionClassifier | None = None, batch_size: int = 1000) -> float:
    """FID between two image sets ``(N, 1, 28, 28)`` in ``[-1, 1]`` on the classifier's features.

    For one comparison; use :class:`FIDScorer` to score many sets against the
    same real data. Chapters 04, 06. Raises ``ValueError`` for NaN/Inf images (naming a diverged
    G for ``x_b``), images outside [-1, 1] (e.g. [0, 1] or [0, 255]), ``TypeError`` for uint8 images.
    """
    return FIDScorer(x_a, classifier, batch_size)(x_b)
