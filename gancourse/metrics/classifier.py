"""A small Fashion-MNIST classifier: the measuring instrument for FID and class histograms.

Chapters 03, 04, 06 and 08 never train it: they load the committed weights
(``gancourse/weights/fashion_classifier.pt``, made by ``scripts/train_classifier.py``)
with :func:`load_classifier`, which checks the file's SHA-256 first so that a
stale or corrupted file fails loudly instead of giving wrong numbers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import Tensor, nn

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
WEIGHTS_PATH = WEIGHTS_DIR / "fashion_classifier.pt"
CHECKSUM_PATH = WEIGHTS_DIR / "fashion_classifier.sha256"
N_CLASSES = 10


class ChecksumError(RuntimeError):
    """The classifier's weights file does not match its recorded SHA-256."""


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    # conv -> batch norm -> ReLU -> halve the resolution
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class FashionClassifier(nn.Module):
    """Three conv blocks and two linear layers: ``(B, 1, 28, 28)`` in ``[-1, 1]`` -> ``(B, 10)`` logits.

    :meth:`features` gives the ``(B, num_features)`` penultimate activations
    that FID compares (``num_features = 128``).
    """

    num_features: int = 128

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64), num_features: int = 128) -> None:
        super().__init__()
        self.num_features = num_features
        self.body = nn.Sequential(
            _conv_block(1, widths[0]),  # (B, w0, 14, 14)
            _conv_block(widths[0], widths[1]),  # (B, w1, 7, 7)
            _conv_block(widths[1], widths[2]),  # (B, w2, 3, 3)
            nn.Flatten(),
            nn.Linear(widths[2] * 3 * 3, num_features),
            nn.ReLU(),
        )
        self.head = nn.Linear(num_features, N_CLASSES)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate activations, ``(B, 1, 28, 28)`` -> ``(B, num_features)``, the FID feature space."""
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(
                f"the classifier expects images of shape (B, 1, 28, 28) in [-1, 1], got {tuple(x.shape)}"
            )
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits, ``(B, 1, 28, 28)`` -> ``(B, 10)`` (classes as in ``datasets.FASHION_MNIST_CLASSES``)."""
        return self.head(self.features(x))


def file_sha256(path: Path | str) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_classifier(
    device: torch.device | str | None = None,
    weights_path: Path | str = WEIGHTS_PATH,
    checksum_path: Path | str = CHECKSUM_PATH,
) -> FashionClassifier:
    """The trained classifier in eval mode, frozen (no gradients), on ``device`` (default: CPU).

    Checks the weights' SHA-256 against ``checksum_path`` (``sha256sum`` format)
    before loading them with ``torch.load(..., weights_only=True)``. Raises
    :class:`ChecksumError` on a mismatch and ``FileNotFoundError`` when a file is
    missing; both say to re-run ``scripts/train_classifier.py``.
    """
    weights_path, checksum_path = Path(weights_path), Path(checksum_path)
    fix = "re-create both with: python scripts/train_classifier.py"
    for path in (weights_path, checksum_path):
        if not path.is_file():
            raise FileNotFoundError(f"classifier file {path} is missing; {fix}")
    recorded = checksum_path.read_text().split()  # "<hex digest>  <file name>", as sha256sum writes it
    expected = recorded[0].lower() if recorded else ""
    actual = file_sha256(weights_path)
    if actual != expected:
        raise ChecksumError(
            f"{weights_path} has SHA-256 {actual} but {checksum_path} records {expected or '(nothing)'}: "
            f"the weights are stale or corrupted; {fix}"
        )
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    classifier = FashionClassifier()
    classifier.load_state_dict(state)
    classifier.requires_grad_(False)
    return classifier.eval().to(device if device is not None else "cpu")
