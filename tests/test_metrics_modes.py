"""The 2-D mode-coverage protocol against known answers, an analytic fraction and a naive loop."""

import math

import pytest
import torch

from gancourse.datasets import grid, ring
from gancourse.metrics import mode_coverage, mode_coverage_batched


def on_modes(centers: torch.Tensor, per_mode: list[int]) -> torch.Tensor:
    """``per_mode[k]`` copies of center k, shape (sum(per_mode), 2)."""
    return centers.repeat_interleave(torch.tensor(per_mode), dim=0)


def test_every_ring_mode_equally():
    mix = ring()
    result = mode_coverage(on_modes(mix.centers, [5] * 8), mix.centers, mix.std)
    assert result.modes == 8
    assert result.high_quality == pytest.approx(1.0)
    assert result.reverse_kl == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(result.counts, torch.full((8,), 5))


def test_one_mode_gives_log_k():
    mix = ring()
    result = mode_coverage(on_modes(mix.centers, [40] + [0] * 7), mix.centers, mix.std)
    assert result.modes == 1
    assert result.high_quality == pytest.approx(1.0)
    assert result.reverse_kl == pytest.approx(math.log(8), rel=1e-6)


def test_three_modes_and_low_quality_samples_left_out():
    mix = ring()
    good = on_modes(mix.centers, [6, 0, 3, 0, 3, 0, 0, 0])
    # 4 points 5 std from mode 1 (outside 3 std) and 2 points far from everything
    bad = torch.cat([mix.centers[1] + torch.tensor([5 * mix.std, 0.0]).expand(4, 2), torch.full((2, 2), 10.0)])
    result = mode_coverage(torch.cat([good, bad]), mix.centers, mix.std)
    assert result.modes == 3
    assert result.high_quality == pytest.approx(12 / 18)
    p = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
    hand = float((p * (p * 8).log()).sum())  # KL(p || 1/8) over the three non-empty modes
    assert result.reverse_kl == pytest.approx(hand, rel=1e-6)
    torch.testing.assert_close(result.counts, torch.tensor([6, 0, 3, 0, 3, 0, 0, 0]))


def test_threshold_is_three_std_either_side():
    mix = ring()
    inside = mix.centers[0] + torch.tensor([2.9 * mix.std, 0.0])
    outside = mix.centers[0] + torch.tensor([3.1 * mix.std, 0.0])
    assert mode_coverage(inside[None], mix.centers, mix.std).high_quality == 1.0
    assert mode_coverage(outside[None], mix.centers, mix.std).high_quality == 0.0


def test_no_high_quality_sample_gives_infinite_kl():
    mix = grid()
    result = mode_coverage(torch.full((10, 2), 1.0), mix.centers, mix.std)
    assert (result.modes, result.high_quality, result.reverse_kl) == (0, 0.0, math.inf)


def test_uniform_noise_matches_disc_area():
    mix = grid()
    gen = torch.Generator().manual_seed(0)
    n = 200_000
    samples = torch.rand(n, 2, generator=gen) * 10 - 5  # uniform on [-5, 5]^2
    result = mode_coverage(samples, mix.centers, mix.std)
    analytic = 25 * math.pi * (3 * mix.std) ** 2 / 100  # 25 discs of radius 0.15 in an area of 100
    tolerance = 5 * math.sqrt(analytic * (1 - analytic) / n)  # 5 binomial standard errors
    assert analytic - tolerance < result.high_quality < analytic + tolerance
    assert result.modes == 25
    # ~140 hits per mode: the histogram is close to, but not exactly, uniform
    assert 0.0 < result.reverse_kl < 0.2


def naive_mode_coverage(samples, centers, std):
    """The PacGAN code's loop: nearest mode per sample, counted if within 3 std."""
    counts = [0] * len(centers)
    for x in samples.tolist():
        distances = [math.dist(x, c) for c in centers.tolist()]
        k = min(range(len(centers)), key=distances.__getitem__)
        if distances[k] <= 3 * std:
            counts[k] += 1
    total = sum(counts)
    kl = sum(c / total * math.log(c / total * len(centers)) for c in counts if c) if total else math.inf
    return sum(c > 0 for c in counts), total / len(samples), kl, counts


def test_batched_matches_naive_loop_per_seed():
    mix = grid()
    gen = torch.Generator().manual_seed(1)
    # 4 "seeds": data from a few modes each, widened so that some samples fall outside 3 std
    k = torch.randint(0, 25, (4, 300), generator=gen) % torch.tensor([3, 10, 25, 1])[:, None]
    samples = mix.centers[k] + 2.5 * mix.std * torch.randn(4, 300, 2, generator=gen)
    batched = mode_coverage_batched(samples, mix.centers, mix.std)
    assert batched.modes.shape == batched.high_quality.shape == batched.reverse_kl.shape == (4,)
    for s in range(4):
        modes, high_quality, kl, counts = naive_mode_coverage(samples[s], mix.centers, mix.std)
        assert batched[s].modes == modes
        assert batched[s].high_quality == pytest.approx(high_quality)
        assert batched[s].reverse_kl == pytest.approx(kl, rel=1e-5, abs=1e-6)
        assert batched.counts[s].tolist() == counts
        single = mode_coverage(samples[s], mix.centers, mix.std)
        assert (single.modes, single.high_quality) == (batched[s].modes, batched[s].high_quality)


@pytest.mark.parametrize(
    "samples, centers, std, match",
    [
        (torch.zeros(5, 3), torch.zeros(8, 2), 0.1, "samples must have shape"),  # the samples are wrong: say so
        (torch.zeros(5), torch.zeros(8, 2), 0.1, "samples must have shape"),
        (torch.zeros(0, 2), torch.zeros(8, 2), 0.1, "at least one sample"),
        (torch.zeros(5, 2), torch.zeros(8, 2), 0.0, "std must be > 0"),
    ],
)
def test_bad_input_raises(samples, centers, std, match):
    with pytest.raises(ValueError, match=match):
        mode_coverage(samples, centers, std)


def test_one_mode_mixtures_float64_and_the_samples_device_are_kept():
    center = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    samples = center + 0.01 * torch.randn(50, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    result = mode_coverage_batched(samples[None], center, 0.01)  # a one-mode "mixture" is allowed
    assert result.modes.tolist() == [1] and result.reverse_kl.tolist() == [0.0]
    assert result.high_quality.dtype == result.reverse_kl.dtype == torch.float64  # no float32 on the way
    # two modes, 3:1: KL = log 2 + 3/4 log 3/4 + 1/4 log 1/4, to float64 precision
    centers = torch.tensor([[0.0, 0.0], [5.0, 0.0]], dtype=torch.float64)
    x = torch.cat([centers[:1].expand(3, 2), centers[1:].expand(1, 2)])
    kl = mode_coverage_batched(x[None], centers, 0.1).reverse_kl[0]
    assert abs(float(kl) - (math.log(2) + 0.75 * math.log(0.75) + 0.25 * math.log(0.25))) < 1e-12
    on_meta = mode_coverage_batched(torch.zeros(2, 5, 2, device="meta"), centers.float(), 0.1)  # centers follow
    assert on_meta.counts.device.type == "meta" and on_meta.counts.shape == (2, 2)


def test_shape_messages_name_the_expected_layout():
    centers = ring().centers
    with pytest.raises(ValueError, match=r"samples must have shape \(S, N, 2\)"):
        mode_coverage_batched(torch.zeros(5, 2), centers, 0.01)
    with pytest.raises(ValueError, match=r"samples must have shape \(N, 2\)"):
        mode_coverage(torch.zeros(2, 5, 2), centers, 0.01)
