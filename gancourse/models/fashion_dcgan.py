"""The course's DCGAN on Fashion-MNIST, set up in one place: the models, the data on the device, the config.

Chapter 06 trains it to recognizable garments and ablates its guidelines; chapter 04 records
its losses against FID; chapter 07 swaps its loss for the Wasserstein loss; chapter 08 adds
the fixes for collapse. All of them start from :func:`fashion_dcgan`::

    G, D, data, config = fashion_dcgan(seed=runtime.seed(0))
    result = training.train(G, D, data, config)

The set-up is DCGAN's (Radford et al. 2016, :mod:`gancourse.models.dcgan`): G and D at ``width``
(32 by default, 64 at the ``full`` budget, 8 at ``smoke``), ``z`` of 64 dimensions, batch 64,
non-saturating loss, Adam with lr 2e-4 and betas (0.5, 0.999). The run's length is given in
training images seen (``images_seen``, budget-scaled by :func:`default_images_seen`). Measured
while writing chapter 06 (seed 0, one thread of a loaded 2-core CPU): at width 32 and batch 64
the FID with the course's classifier fell to 48.5 after 192,000 images; at width 16 and batch 32
it reached 65 after 128,000 images in about 60% of the time that width 32 needed for 63, which
is why chapter 06 trains the narrower net at its default budget.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from gancourse import datasets
from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gancourse.runtime import by_budget, default_device
from gancourse.training import TrainConfig
from gancourse.training.seeds import init_models

Z_DIM = 64
BATCH_SIZE = 64


def default_width() -> int:
    """The nets' width at the current budget: 8 (smoke), 32 (default), 64 (full)."""
    return by_budget(smoke=8, default=32, full=64)


def default_images_seen() -> int:
    """Training images a baseline run sees at the current budget: 3,200 (smoke), 192,000 (default), 1,280,000 (full)."""
    return by_budget(smoke=3_200, default=192_000, full=1_280_000)


def steps_for(images_seen: int, batch_size: int = BATCH_SIZE) -> int:
    """G steps (one batch of real images each, ``n_critic=1``) to see about ``images_seen`` training images."""
    if images_seen < 1 or batch_size < 1:
        raise ValueError(f"images_seen and batch_size must be >= 1, got {images_seen} and {batch_size}")
    return max(1, round(images_seen / batch_size))


class DCGANSetup(NamedTuple):
    """What :func:`fashion_dcgan` returns; unpacks as ``G, D, data, config``."""

    G: DCGANGenerator
    D: DCGANDiscriminator
    data: Tensor
    """The training images ``(60000, 1, 28, 28)`` in ``[-1, 1]``, on the device."""
    config: TrainConfig


def fashion_dcgan(
    seed: int = 0,
    width: int | None = None,
    images_seen: int | None = None,
    data: Tensor | None = None,
    device: torch.device | str | None = None,
    z_dim: int = Z_DIM,
    g_options: dict[str, Any] | None = None,
    d_options: dict[str, Any] | None = None,
    **config_fields: Any,
) -> DCGANSetup:
    """G, D, the training images on the device and a :class:`TrainConfig` for one seed of the course's DCGAN.

    ``seed`` (take it from :func:`gancourse.runtime.seed`) fixes the initial weights (built after
    ``torch.manual_seed(seed)`` without touching the caller's random state) and the run's
    batches and ``z`` (``config.seed``). ``width`` and ``images_seen`` default to the budget's
    (:func:`default_width`, :func:`default_images_seen`); ``config.steps`` is
    ``images_seen / batch_size``. ``data`` reuses images already loaded (e.g. for several
    seeds); by default the Fashion-MNIST training split is loaded onto ``device`` (default
    :func:`~gancourse.runtime.default_device`). ``g_options`` / ``d_options`` go to
    :class:`~gancourse.models.dcgan.DCGANGenerator` / :class:`~gancourse.models.dcgan.DCGANDiscriminator`
    (e.g. ``{"norm": "none"}`` for chapter 06's ablations); ``config_fields`` to
    :class:`TrainConfig` (e.g. ``loss="wasserstein"``, ``batch_size=128``, ``betas=(0.9, 0.999)``).
    The models stay on the CPU until :func:`~gancourse.training.train` moves them. Chapters 04, 06, 07, 08.
    """
    width = default_width() if width is None else width
    images_seen = default_images_seen() if images_seen is None else images_seen
    if not isinstance(width, int) or width < 2 or width % 2:
        raise ValueError(f"width must be an even int >= 2 (channels next to the image), got {width!r}")
    batch_size = config_fields.pop("batch_size", BATCH_SIZE)
    steps = config_fields.pop("steps", None) or steps_for(images_seen, batch_size)
    config_fields.setdefault("progress", False)
    config = TrainConfig(steps=steps, batch_size=batch_size, seed=seed, z_dim=z_dim, **config_fields)
    device = torch.device(device) if device is not None else default_device()
    if data is None:
        data, _ = datasets.fashion_mnist("train", device=device)
    elif data.dim() != 4 or tuple(data.shape[1:]) != (1, 28, 28):
        raise ValueError(f"data must be Fashion-MNIST images (N, 1, 28, 28) in [-1, 1], got {tuple(data.shape)}")
    g_options, d_options = dict(g_options or {}), dict(d_options or {})

    def make_G() -> nn.Module:
        return DCGANGenerator(z_dim=z_dim, image_size=28, channels=1, width=width, **g_options)

    def make_D() -> nn.Module:
        return DCGANDiscriminator(image_size=28, channels=1, width=width, **d_options)

    G, D = init_models(seed, make_G, make_D)
    return DCGANSetup(G, D, data.to(device), config)
