"""The data the course trains on: 2-D Gaussian mixtures and Fashion-MNIST.

* Ring: 8 Gaussians on the unit circle, std 0.01; grid: 25 Gaussians at
  {-4,-2,0,2,4}^2, std 0.05 (the PacGAN code's constants). Chapters 00, 03, 08.
* For chapter 00's playground (after GAN Lab's data): one Gaussian, two Gaussians, and
  points on one or two segments (:class:`Segments`; two lines have disjoint supports).
* Fashion-MNIST: 70,000 28x28 grey images in 10 classes. Looked for in
  ``data/`` first, then in the Debian package ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist/``), then downloaded by torchvision when
  ``download=True`` and a network exists. Chapters 03, 04, 06, 08.
"""

from __future__ import annotations

import gzip
import math
import operator
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DATA_ENV = "GANCOURSE_DATA"
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is neither on disk nor downloadable; the message says how to get it."""


# ---------------------------------------------------------------- 2-D mixtures


@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians in the plane.

    ``centers`` is a ``(K, 2)`` tensor of mode means, ``std`` the per-axis
    standard deviation shared by every mode.
    """

    name: str
    centers: torch.Tensor
    std: float

    def sample(
        self,
        n: int,
        generator: torch.Generator | Sequence[torch.Generator] | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """``n`` points, shape ``(n, 2)``, float32, on ``device`` (default: the generator's, else CPU).

        Mode choice and offsets come from ``generator``, which must live on the
        same device as the output (as ``torch.randn`` requires). Given a list of ``S``
        generators, returns ``(S, n, 2)`` whose slice ``s`` is exactly
        ``sample(n, generators[s])``: the batches of ``S`` seeds in one gather (chapters 03, 08).
        """
        if isinstance(n, bool) or not isinstance(n, int):
            try:
                n = operator.index(n)  # NumPy and one-element tensor integers
            except TypeError:
                raise TypeError(f"n must be a whole number of samples (an int), got {n!r}") from None
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        many = generator is not None and not isinstance(generator, torch.Generator)
        generators = list(generator) if many else [generator]
        if device is None:
            device = generators[0].device if generators[0] is not None else "cpu"
        k = torch.empty(len(generators), n, dtype=torch.long, device=device)
        noise = torch.empty(len(generators), n, 2, device=device)
        for s, g in enumerate(generators):  # each seed's draws in the order of its own run: modes, then offsets
            torch.randint(len(self.centers), (n,), generator=g, out=k[s])
            torch.randn(n, 2, generator=g, out=noise[s])
        x = self.centers.to(device)[k] + self.std * noise
        return x if many else x[0]

    sample.accepts_generator_list = True  # Randomness draws every seed's batch with one call


def ring(radius: float = 1.0, n_modes: int = 8, std: float = 0.01) -> Mixture:
    """The 8-Gaussian ring: modes at angles 2*pi*k/8 on a circle of radius 1, std 0.01."""
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return Mixture("ring", centers.float(), std)


def grid(values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0), std: float = 0.05) -> Mixture:
    """The 25-Gaussian grid: modes at {-4,-2,0,2,4}^2, std 0.05."""
    v = torch.tensor(values, dtype=torch.float32)
    xs, ys = torch.meshgrid(v, v, indexing="ij")
    return Mixture("grid", torch.stack([xs.flatten(), ys.flatten()], dim=1), std)


def gaussian(std: float = 0.5) -> Mixture:
    """One Gaussian at the origin, std 0.5 per axis: the easiest target (chapter 00's playground)."""
    return Mixture("gaussian", torch.zeros(1, 2), std)


def two_gaussians(distance: float = 2.0, std: float = 0.2) -> Mixture:
    """Two Gaussians ``distance`` apart on the x axis, std 0.2: the smallest mixture a G can half-miss (chapter 00)."""
    return Mixture("two_gaussians", torch.tensor([[-distance / 2, 0.0], [distance / 2, 0.0]]), std)


@dataclass(frozen=True)
class Segments:
    """Points spread evenly along straight segments in the plane, each from ``starts[k]`` to ``ends[k]`` (``(K, 2)``).

    A sample picks a segment at random (equal weights), then a uniform position on it, then
    adds Gaussian noise of per-axis ``std``. With ``std = 0`` the data lie exactly on the
    segments, a support of zero area: a G whose samples fill an area overlaps it nowhere, the
    disjoint supports under which D wins perfectly and JS is stuck at log 2 (chapters 02, 07;
    Arjovsky & Bottou 2017). Chapter 00's playground trains on these.
    """

    name: str
    starts: torch.Tensor
    ends: torch.Tensor
    std: float = 0.0

    def sample(
        self,
        n: int,
        generator: torch.Generator | Sequence[torch.Generator] | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """``n`` points, shape ``(n, 2)``; a list of ``S`` generators gives ``(S, n, 2)`` as :meth:`Mixture.sample`."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")
        many = generator is not None and not isinstance(generator, torch.Generator)
        generators = list(generator) if many else [generator]
        if device is None:
            device = generators[0].device if generators[0] is not None else "cpu"
        k = torch.empty(len(generators), n, dtype=torch.long, device=device)
        t = torch.empty(len(generators), n, 1, device=device)
        noise = torch.zeros(len(generators), n, 2, device=device)
        for s, g in enumerate(generators):  # each seed's draws in its own run's order: segment, position, noise
            torch.randint(len(self.starts), (n,), generator=g, out=k[s])
            torch.rand(n, 1, generator=g, out=t[s])
            if self.std:
                torch.randn(n, 2, generator=g, out=noise[s])
        starts, ends = self.starts.to(device)[k], self.ends.to(device)[k]  # (S, n, 2)
        x = starts + t * (ends - starts) + self.std * noise
        return x if many else x[0]

    sample.accepts_generator_list = True


def line(std: float = 0.0) -> Segments:
    """One segment from (-1, -0.5) to (1, 0.5) (GAN Lab's "line"); chapter 00's playground."""
    return Segments("line", torch.tensor([[-1.0, -0.5]]), torch.tensor([[1.0, 0.5]]), std)


def two_lines(gap: float = 2.0, std: float = 0.0) -> Segments:
    """Two vertical segments, y from -1 to 1, at x = -gap/2 and gap/2: disjoint supports of zero area (chapter 00)."""
    x = gap / 2
    return Segments("two_lines", torch.tensor([[-x, -1.0], [x, -1.0]]), torch.tensor([[-x, 1.0], [x, 1.0]]), std)


# ---------------------------------------------------------------- Fashion-MNIST


def data_root() -> Path:
    """Where downloaded or unpacked data goes: ``$GANCOURSE_DATA``, else the repository's ``data/``.

    ``GANCOURSE_DATA`` must name an existing folder: a typo must not create a new folder and
    unpack 30 MB into it, so a missing folder raises :class:`DatasetNotFoundError` and a file
    ``NotADirectoryError``, each naming the variable.
    """
    value = os.environ.get(DATA_ENV, "").strip()
    if not value:
        return Path(__file__).resolve().parent.parent / "data"
    root = Path(value).expanduser()
    if root.is_file():
        raise NotADirectoryError(f"{DATA_ENV}={value!r} names a file, not a folder; point it at the folder that "
                                 f"holds (or should hold) FashionMNIST/raw/, or unset it to use the repository's data/")
    if not root.is_dir():
        raise DatasetNotFoundError(f"{DATA_ENV}={value!r} names no existing folder; create it first "
                                   f"(mkdir -p {root}) or fix the path, or unset it to use the repository's data/")
    return root


def _raw_dir(root: Path) -> Path:
    # torchvision's FashionMNIST keeps its IDX files in <root>/FashionMNIST/raw/
    return root / "FashionMNIST" / "raw"


def _has_idx(folder: Path, suffix: str = "") -> bool:
    return all((folder / (name + suffix)).is_file() for pair in _IDX_FILES.values() for name in pair)


def find_fashion_mnist(root: Path | str | None = None, debian_dir: Path | str = DEBIAN_DIR) -> str:
    """Where Fashion-MNIST would be read from: ``"data"``, ``"debian"`` or ``"missing"``."""
    root = Path(root) if root is not None else data_root()
    if _has_idx(_raw_dir(root)):
        return "data"
    debian_dir = Path(debian_dir)
    if _has_idx(debian_dir, ".gz") or _has_idx(debian_dir):
        return "debian"
    return "missing"


def _unpack_debian(debian_dir: Path, raw: Path) -> None:
    """Decompress the Debian package's ``.gz`` IDX files into torchvision's layout under ``raw``."""
    raw.mkdir(parents=True, exist_ok=True)
    for pair in _IDX_FILES.values():
        for name in pair:
            if (raw / name).is_file():
                continue
            tmp = raw / f".{name}.partial"
            if (debian_dir / name).is_file():
                shutil.copyfile(debian_dir / name, tmp)
            else:
                with gzip.open(debian_dir / (name + ".gz"), "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            os.replace(tmp, raw / name)  # atomic: a half-written file never carries the final name


def fashion_mnist(
    split: str = "train",
    device: torch.device | str | None = None,
    root: Path | str | None = None,
    download: bool = False,
    debian_dir: Path | str = DEBIAN_DIR,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole Fashion-MNIST split as ``(images, labels)`` on ``device``.

    ``images`` is ``(N, 1, 28, 28)`` float32 in ``[-1, 1]``, ``labels`` is ``(N,)``
    int64 (see ``FASHION_MNIST_CLASSES``); N is 60,000 for ``"train"`` and 10,000
    for ``"test"``. Looks in ``root`` (default ``data/``), then ``debian_dir``, then
    downloads with torchvision if ``download=True``. Raises
    :class:`DatasetNotFoundError` saying how to get the data otherwise.
    """
    from torchvision.datasets import FashionMNIST

    if split not in _IDX_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root) if root is not None else data_root()
    where = find_fashion_mnist(root, debian_dir)
    if where == "debian":
        _unpack_debian(Path(debian_dir), _raw_dir(root))
    elif where == "missing":
        how = (
            f"Install the Debian/Ubuntu package: sudo apt-get install {DEBIAN_PACKAGE} "
            f"(files go to {DEBIAN_DIR}/), or call fashion_mnist(download=True) on a machine "
            f"with a network to download into {root}/."
        )
        if not download:
            raise DatasetNotFoundError(f"Fashion-MNIST was not found in {root}/ nor {debian_dir}/. {how}")
        try:
            FashionMNIST(str(root), train=(split == "train"), download=True)
        except Exception as error:  # torchvision raises RuntimeError/URLError/OSError offline
            raise DatasetNotFoundError(f"Fashion-MNIST could not be downloaded ({error}). {how}") from error
    data = FashionMNIST(str(root), train=(split == "train"), download=False)
    images = data.data.to(device).unsqueeze(1).float().div_(127.5).sub_(1.0)  # uint8 [0,255] -> [-1,1]
    return images, data.targets.to(device)
