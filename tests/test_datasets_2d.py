"""The playground's 2-D data: one and two Gaussians, points on segments (one line, two lines with disjoint supports)."""

import pytest
import torch

from gancourse import datasets


def _distance_to_segment(x, a, b):
    """Distance from points ``x`` (N, 2) to the segment from ``a`` to ``b``, by projection (a naive reference)."""
    d = b - a
    t = ((x - a) @ d / d.dot(d)).clamp(0, 1)
    return (x - (a + t[:, None] * d)).norm(dim=1)


@pytest.mark.parametrize("data", [datasets.line(), datasets.two_lines()], ids=lambda d: d.name)
def test_segments_with_no_noise_put_every_point_on_a_segment_spread_evenly(data):
    x = data.sample(20_000, torch.Generator().manual_seed(0))
    assert x.shape == (20_000, 2) and x.dtype == torch.float32
    distances = torch.stack([_distance_to_segment(x, a, b) for a, b in zip(data.starts, data.ends, strict=True)])
    nearest = distances.min(0)
    assert nearest.values.max() < 1e-5
    counts = torch.bincount(nearest.indices, minlength=len(data.starts)).float()
    expected = 20_000 / len(data.starts)
    assert ((counts - expected).abs() < 5 * expected**0.5).all(), counts
    # uniform along each segment: the position's mean is the midpoint, its variance length^2/12
    for k, (a, b) in enumerate(zip(data.starts, data.ends, strict=True)):
        t = ((x[nearest.indices == k] - a) @ (b - a) / (b - a).dot(b - a))
        assert abs(float(t.mean()) - 0.5) < 0.02 and abs(float(t.var()) - 1 / 12) < 0.005


def test_two_lines_have_disjoint_supports_and_noise_blurs_them():
    x = datasets.two_lines().sample(5_000, torch.Generator().manual_seed(1))
    assert set(x[:, 0].tolist()) == {-1.0, 1.0}  # exactly on x = -1 or x = 1, nothing between
    assert x[:, 1].min() >= -1 and x[:, 1].max() <= 1
    blurred = datasets.two_lines(std=0.1).sample(5_000, torch.Generator().manual_seed(1))
    offsets = blurred[:, 0].abs() - 1
    assert 0.09 < float(offsets.std()) < 0.11


def test_segments_sample_every_seed_as_its_own_run_would_and_check_n():
    data = datasets.two_lines(std=0.05)
    together = data.sample(40, [torch.Generator().manual_seed(s) for s in (5, 6)])
    assert together.shape == (2, 40, 2)
    for i, s in enumerate((5, 6)):
        assert torch.equal(together[i], data.sample(40, torch.Generator().manual_seed(s)))
    for bad in (-1, 2.5):
        with pytest.raises(ValueError, match="n must be an int >= 0"):
            data.sample(bad)


@pytest.mark.parametrize("mixture, centers, std", [
    (datasets.gaussian(), [[0.0, 0.0]], 0.5),
    (datasets.two_gaussians(), [[-1.0, 0.0], [1.0, 0.0]], 0.2),
])
def test_one_and_two_gaussians_have_the_documented_centers_and_spread(mixture, centers, std):
    torch.testing.assert_close(mixture.centers, torch.tensor(centers))
    x = mixture.sample(40_000, torch.Generator().manual_seed(2))
    k = torch.cdist(x, mixture.centers).argmin(1)
    per_axis = (x - mixture.centers[k]).std(0)
    assert ((per_axis > 0.98 * std) & (per_axis < 1.02 * std)).all(), per_axis
