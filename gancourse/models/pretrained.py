"""Trained nets that a chapter starts from instead of training them again within its time budget.

Chapter 03 needs a DCGAN that already makes recognizable Fashion-MNIST garments, to show
what its G does when it trains on against a frozen D. Training one takes minutes on a
2-core CPU, so ``scripts/train_fashion_dcgan.py`` trains it once, with the course's DCGAN
set-up (:data:`DCGAN_SETUP`), and writes its weights under ``gancourse/weights/`` with a
SHA-256 checksum; :func:`load_fashion_dcgan` checks the checksum before loading (as
:func:`gancourse.metrics.load_classifier` does), so a stale or corrupted file fails loudly.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gancourse.metrics.classifier import WEIGHTS_DIR, ChecksumError, file_sha256
from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator

DCGAN_WEIGHTS_PATH = WEIGHTS_DIR / "fashion_dcgan.pt"
DCGAN_CHECKSUM_PATH = WEIGHTS_DIR / "fashion_dcgan.sha256"
DCGAN_SETUP = {"width": 32, "z_dim": 64, "batch_size": 64, "lr": 2e-4, "betas": [0.5, 0.999], "loss": "non_saturating"}
"""The course's DCGAN on Fashion-MNIST (Radford et al. 2016's guidelines, :mod:`gancourse.models.dcgan`)."""


def load_fashion_dcgan(
    device: torch.device | str | None = None,
    weights_path: Path | str = DCGAN_WEIGHTS_PATH,
    checksum_path: Path | str = DCGAN_CHECKSUM_PATH,
) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """The trained ``(G, D)`` of ``scripts/train_fashion_dcgan.py``, in train mode, on ``device`` (default: CPU).

    ``G``: ``z (B, 64) -> (B, 1, 28, 28)`` in ``[-1, 1]``; ``D``: images -> logits ``(B, 1)``.
    Checks the file's SHA-256 against ``checksum_path`` first; raises
    :class:`~gancourse.metrics.ChecksumError` on a mismatch and ``FileNotFoundError`` when a file
    is missing (both say to re-run the script). Chapter 03.
    """
    weights_path, checksum_path = Path(weights_path), Path(checksum_path)
    fix = "re-create both with: python scripts/train_fashion_dcgan.py"
    for path in (weights_path, checksum_path):
        if not path.is_file():
            raise FileNotFoundError(f"DCGAN file {path} is missing; {fix}")
    recorded = checksum_path.read_text().split()
    expected = recorded[0].lower() if recorded else ""
    actual = file_sha256(weights_path)
    if actual != expected:
        raise ChecksumError(f"{weights_path} has SHA-256 {actual} but {checksum_path} records "
                            f"{expected or '(nothing)'}: the weights are stale or corrupted; {fix}")
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    G = DCGANGenerator(z_dim=DCGAN_SETUP["z_dim"], width=DCGAN_SETUP["width"])
    D = DCGANDiscriminator(width=DCGAN_SETUP["width"])
    G.load_state_dict(state["G"])
    D.load_state_dict(state["D"])
    device = device if device is not None else "cpu"
    return G.to(device), D.to(device)
