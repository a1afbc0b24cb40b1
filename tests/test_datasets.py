import gzip
import math
import shutil
from pathlib import Path

import pytest
import torch

from gancourse import datasets


def _nearest(points, centers):
    return torch.cdist(points, centers).argmin(dim=1)


@pytest.mark.parametrize("mixture, n_modes, std", [(datasets.ring(), 8, 0.01), (datasets.grid(), 25, 0.05)])
def test_mixtures_have_the_documented_modes_and_spreads(mixture, n_modes, std):
    gen = torch.Generator().manual_seed(0)
    x = mixture.sample(50_000, generator=gen)
    assert x.shape == (50_000, 2) and x.dtype == torch.float32
    k = _nearest(x, mixture.centers)
    counts = torch.bincount(k, minlength=n_modes).float()
    expected = 50_000 / n_modes
    # multinomial counts: std sqrt(n p (1-p)) < sqrt(expected); 5 sigma both sides
    assert ((counts - expected).abs() < 5 * expected**0.5).all(), counts
    offsets = x - mixture.centers[k]
    torch.testing.assert_close(offsets.mean(0), torch.zeros(2), atol=5 * std / 50_000**0.5, rtol=0)
    per_axis_std = offsets.std(0)
    assert ((per_axis_std > 0.98 * std) & (per_axis_std < 1.02 * std)).all(), per_axis_std


def test_ring_and_grid_constants_match_the_course():
    ring = datasets.ring()
    torch.testing.assert_close(ring.centers.norm(dim=1), torch.ones(8))
    angles = torch.atan2(ring.centers[:, 1], ring.centers[:, 0]).remainder(2 * torch.pi).sort().values
    torch.testing.assert_close(angles, torch.arange(8) * 2 * torch.pi / 8, atol=1e-6, rtol=0)
    grid = datasets.grid()
    assert sorted(set(grid.centers.flatten().tolist())) == [-4, -2, 0, 2, 4] and len(grid.centers) == 25


def test_sampling_repeats_with_the_same_generator_and_differs_otherwise():
    a = datasets.grid().sample(100, torch.Generator().manual_seed(1))
    b = datasets.grid().sample(100, torch.Generator().manual_seed(1))
    c = datasets.grid().sample(100, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match="n must be >= 0"):
        datasets.ring().sample(-1)


def test_sampling_with_a_list_of_generators_stacks_each_generators_own_sample():
    mixture = datasets.grid()
    together = mixture.sample(50, [torch.Generator().manual_seed(s) for s in (1, 2, 3)])
    assert together.shape == (3, 50, 2)
    for i, s in enumerate((1, 2, 3)):
        assert torch.equal(together[i], mixture.sample(50, torch.Generator().manual_seed(s)))


def test_missing_fashion_mnist_names_the_debian_package_and_the_download_option(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError, match="dataset-fashion-mnist.*download=True"):
        datasets.fashion_mnist(root=tmp_path, debian_dir=tmp_path / "nowhere")


def test_failed_download_gives_the_same_clear_error(tmp_path, monkeypatch):
    from torchvision.datasets import FashionMNIST

    def offline(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(FashionMNIST, "download", offline)
    with pytest.raises(datasets.DatasetNotFoundError, match="could not be downloaded.*dataset-fashion-mnist"):
        datasets.fashion_mnist(root=tmp_path, debian_dir=tmp_path / "nowhere", download=True)


def test_unknown_split_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        datasets.fashion_mnist("validation", root=tmp_path)


def _tiny_idx(folder: Path, n: int = 5) -> None:
    """Write four gzipped IDX files of n 28x28 images, as the Debian package lays them out."""
    folder.mkdir(parents=True)
    for images, labels in datasets._IDX_FILES.values():
        pixels = bytes(range(256)) * (n * 784 // 256) + bytes(n * 784 % 256)
        header = (0x00000803).to_bytes(4, "big") + b"".join(v.to_bytes(4, "big") for v in (n, 28, 28))
        with gzip.open(folder / f"{images}.gz", "wb") as f:
            f.write(header + pixels)
        with gzip.open(folder / f"{labels}.gz", "wb") as f:
            f.write((0x00000801).to_bytes(4, "big") + n.to_bytes(4, "big") + bytes(i % 10 for i in range(n)))


def test_debian_layout_is_unpacked_into_data_and_scaled_to_minus_one_one(tmp_path):
    debian, root = tmp_path / "debian", tmp_path / "data"
    _tiny_idx(debian)
    assert datasets.find_fashion_mnist(root, debian) == "debian"
    images, labels = datasets.fashion_mnist("test", root=root, debian_dir=debian)
    assert images.shape == (5, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() == -1.0 and images.max() == 1.0  # pixel 0 -> -1, pixel 255 -> 1
    assert labels.tolist() == [0, 1, 2, 3, 4]
    assert datasets.find_fashion_mnist(root, debian) == "data"  # found in data/ next time
    assert not list(root.rglob("*.partial"))
    shutil.rmtree(debian)
    assert datasets.fashion_mnist("train", root=root, debian_dir=debian)[0].shape == (5, 1, 28, 28)


@pytest.mark.skipif(datasets.find_fashion_mnist() == "missing", reason="Fashion-MNIST not installed")
def test_the_real_fashion_mnist_splits():
    images, labels = datasets.fashion_mnist("test")
    assert images.shape == (10_000, 1, 28, 28) and labels.shape == (10_000,)
    assert torch.bincount(labels).tolist() == [1000] * 10
    assert -1.0 <= images.min() < images.max() <= 1.0


def test_ring_takes_its_radius_and_number_of_modes():
    ring = datasets.ring(radius=2.0, n_modes=5, std=0.02)
    assert ring.centers.shape == (5, 2) and ring.std == 0.02 and ring.centers.dtype == torch.float32
    k = torch.arange(5, dtype=torch.float64)
    by_hand = 2.0 * torch.stack([torch.cos(2 * math.pi * k / 5), torch.sin(2 * math.pi * k / 5)], dim=1)
    torch.testing.assert_close(ring.centers, by_hand.float())
    torch.testing.assert_close(ring.centers[0], torch.tensor([2.0, 0.0]))  # mode 0 on the x axis


def test_sample_puts_points_on_the_device_asked_for():
    ring = datasets.ring()
    on_meta = ring.sample(7, device="meta")  # no data, only the device: shows where the tensor would live
    assert on_meta.device.type == "meta" and on_meta.shape == (7, 2)
    explicit = ring.sample(7, torch.Generator().manual_seed(3), device="cpu")
    assert explicit.device.type == "cpu"
    assert torch.equal(explicit, ring.sample(7, torch.Generator().manual_seed(3)))  # the generator's device
    assert ring.sample(0).shape == (0, 2)


def test_data_root_is_gancourse_data_if_set_else_the_repository_data_folder(monkeypatch, tmp_path):
    (tmp_path / "elsewhere").mkdir()  # a missing folder is refused (tests/test_bad_inputs.py)
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path / "elsewhere"))
    assert datasets.data_root() == tmp_path / "elsewhere"
    assert datasets.find_fashion_mnist(debian_dir=tmp_path / "nowhere") == "missing"  # looks there, finds nothing
    monkeypatch.setenv(datasets.DATA_ENV, "")
    repo = Path(__file__).resolve().parents[1]  # the repository: tests/ sits beside gancourse/ and data/
    assert datasets.data_root() == repo / "data"
    monkeypatch.delenv(datasets.DATA_ENV)
    assert datasets.data_root() == repo / "data"
