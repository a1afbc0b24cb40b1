"""Class histograms from the Fashion-MNIST classifier: mode collapse seen as missing classes.

Chapter 03 shows a collapsed generator as a class histogram far from uniform, counting only the
samples the classifier is confident about (:func:`class_probabilities`, :func:`confident_class_histogram`);
chapter 08 scores fixes with the *stacked 1000 modes* test (three images stacked
as channels, the mode is the triple of classes, as in Stacked MNIST of VEEGAN and
PacGAN). KL divergences here are ``KL(p || uniform)`` in nats, with ``0 log 0 = 0``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gancourse.metrics.classifier import N_CLASSES, FashionClassifier, load_classifier
from gancourse.training import threads
from gancourse.validation import check_images

N_STACKED = 3  # channels stacked into one sample: N_CLASSES**3 = 1000 modes


def _classifier_for(images: Tensor, classifier: FashionClassifier | None) -> FashionClassifier:
    return load_classifier(images.device) if classifier is None else classifier


@torch.no_grad()
def predict_classes(images: Tensor, classifier: FashionClassifier | None = None, batch_size: int = 1000) -> Tensor:
    """Predicted class of each image, ``(N, 1, 28, 28)`` in ``[-1, 1]`` -> ``(N,)`` int64, on the images' device.

    ``classifier`` defaults to :func:`load_classifier` on the images' device.
    """
    if not hasattr(images, "shape") or len(images.shape) != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images must have shape (N, 1, 28, 28) in [-1, 1], got {tuple(getattr(images, 'shape', ()))}")
    # NaN images would all land in class 0 (argmax of NaN logits) without a word
    images = check_images(images, "images", "the classifier", diverged_hint=True)
    classifier = _classifier_for(images, classifier)
    mflop = threads.model_mflop(classifier, images[:1]) * min(batch_size, len(images)) if len(images) else 0
    with threads.for_work(mflop, images.device):
        predictions = [classifier(images[i : i + batch_size]).argmax(dim=1) for i in range(0, len(images), batch_size)]
    return torch.cat(predictions) if predictions else torch.zeros(0, dtype=torch.long, device=images.device)


def class_histogram(images: Tensor, classifier: FashionClassifier | None = None, batch_size: int = 1000) -> Tensor:
    """Fraction of ``images`` (N, 1, 28, 28) the classifier puts in each class: ``(10,)`` float, sums to 1.

    Chapter 03 (collapse on Fashion-MNIST) and 08. ``classifier`` defaults to
    :func:`load_classifier` on the images' device.
    """
    if len(images) == 0:
        raise ValueError("images is empty: need at least one image for a histogram")
    classes = predict_classes(images, classifier, batch_size)
    return torch.bincount(classes, minlength=N_CLASSES).float() / len(classes)


@torch.no_grad()
def class_probabilities(images: Tensor, classifier: FashionClassifier | None = None, batch_size: int = 1000) -> Tensor:
    """The classifier's softmax for each image: ``(N, 1, 28, 28)`` in ``[-1, 1]`` -> ``(N, 10)``, on the images' device.

    One pass of the classifier; :func:`confident_class_histogram` and the argmax histogram
    are read from it (chapter 03).
    """
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28) or len(images) == 0:
        raise ValueError(f"images must have shape (N, 1, 28, 28) in [-1, 1] with N >= 1, got {tuple(images.shape)}")
    classifier = _classifier_for(images, classifier)
    return torch.cat([classifier(images[i : i + batch_size]).softmax(dim=1) for i in range(0, len(images), batch_size)])


def confident_class_histogram(probs: Tensor, threshold: float = 0.99) -> tuple[Tensor, float]:
    """Counts per class of the samples the classifier is confident about, and their share of all samples.

    ``probs`` ``(N, K)`` are class probabilities (:func:`class_probabilities`); a sample counts
    for its most probable class when that probability is at least ``threshold``. Returns
    ``(counts, share)``: ``counts`` ``(K,)`` int64, ``share`` = confident samples / ``N``.
    A classifier files anything, a texture or a flat grey square, under *some* class, often
    with a high softmax: chapter 03 measures how confident it is on such images and counts only
    the confident ones, so that a pile of textures does not pass for a collapse onto a class.
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be a probability in (0, 1), e.g. 0.99; got {threshold!r}")
    if probs.dim() != 2 or len(probs) == 0:
        raise ValueError(f"probs must be class probabilities of shape (N, K) with N >= 1, got {tuple(probs.shape)}")
    top, classes = probs.max(dim=1)
    confident = top >= threshold
    counts = torch.bincount(classes[confident], minlength=probs.shape[1])
    return counts, float(confident.float().mean())


def kl_to_uniform(hist: Tensor) -> float:
    """``KL(p || uniform)`` in nats of a histogram ``hist`` (K,) (counts or fractions; normalised here).

    ``log K - H(p)``: 0 for a uniform histogram, ``log K`` for a one-hot one.
    """
    if hist.dim() != 1 or hist.numel() == 0:
        raise ValueError(f"hist must be a non-empty 1-D tensor (K,), got shape {tuple(hist.shape)}")
    hist = hist.double()
    total = hist.sum()
    if (hist < 0).any() or total <= 0:
        raise ValueError("hist must be non-negative with a positive sum")
    p = hist / total
    return max(float(math.log(len(p)) + torch.special.xlogy(p, p).sum()), 0.0)  # clip rounding below 0


def stacked_modes(
    images: Tensor, classifier: FashionClassifier | None = None, batch_size: int = 1000
) -> tuple[int, float]:
    """The stacked 1000-mode score of ``images`` (N, 3, 28, 28): ``(modes_hit, kl_to_uniform)``.

    Each channel is classified on its own; the mode of a sample is its triple of
    classes ``(c0, c1, c2)``, one of 1000. Returns how many of the 1000 modes get
    at least one sample and ``KL(mode histogram || uniform over 1000)``. The
    published protocol uses 26,000 samples. Chapter 08.
    """
    if images.dim() != 4 or tuple(images.shape[1:]) != (N_STACKED, 28, 28):
        raise ValueError(f"images must have shape (N, 3, 28, 28), one image per channel, got {tuple(images.shape)}")
    if len(images) == 0:
        raise ValueError("images is empty: need at least one sample")
    classes = predict_classes(images.reshape(-1, 1, 28, 28), classifier, batch_size).view(-1, N_STACKED)  # (N, 3)
    modes = (classes * torch.tensor([N_CLASSES**2, N_CLASSES, 1], device=classes.device)).sum(dim=1)  # (N,)
    counts = torch.bincount(modes, minlength=N_CLASSES**N_STACKED)
    return int((counts > 0).sum()), kl_to_uniform(counts)


def make_stacked(
    images: Tensor, labels: Tensor, n: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """``n`` stacked samples drawn from ``images`` (M, 1, 28, 28) with ``labels`` (M,).

    Each sample takes three images drawn uniformly with replacement as its
    channels. Returns ``(x, y)``: ``x`` is ``(n, 3, 28, 28)`` and ``y`` is ``(n, 3)``
    the three classes, both on the images' device. The draws come from
    ``generator`` (on any device). Chapter 08's stacked data.
    """
    if images.dim() != 4 or images.shape[1] != 1 or labels.shape != images.shape[:1]:
        raise ValueError(
            f"images must be (M, 1, H, W) and labels (M,), got {tuple(images.shape)} and {tuple(labels.shape)}"
        )
    if n < 0 or len(images) == 0:
        raise ValueError(f"need n >= 0 and at least one image, got n={n} and {len(images)} images")
    device = generator.device if generator is not None else images.device
    index = torch.randint(len(images), (n, N_STACKED), generator=generator, device=device).to(images.device)
    return images[index, 0], labels[index]  # (n, 3, H, W), (n, 3)
