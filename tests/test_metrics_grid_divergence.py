"""KL/JS on a grid against a naive double loop over cells, and the two known ends (equal histograms, disjoint ones)."""

import math

import numpy as np
import pytest
import torch

from gancourse.metrics.grid_divergence import grid_divergences, grid_histogram

BOX = (-1.0, 1.0, -1.0, 1.0)


def naive(x_real, x_fake, extent, n, eps):
    """Histograms with numpy's histogram2d plus an 'outside' bin, then the sums written out cell by cell."""
    def hist(x):
        x = x.numpy().astype(np.float64)
        h, _, _ = np.histogram2d(x[:, 1], x[:, 0], bins=n, range=[extent[2:], extent[:2]])
        inside = h.sum()
        return np.append(h.flatten(), len(x) - inside) / len(x)
    p, q = hist(x_real), hist(x_fake)
    kl = sum((pi + eps) * math.log((pi + eps) / (qi + eps)) for pi, qi in zip(p, q, strict=True))
    js = 0.0
    for pi, qi in zip(p, q, strict=True):
        mi = (pi + qi) / 2
        js += 0.5 * (pi * math.log(pi / mi) if pi else 0.0) + 0.5 * (qi * math.log(qi / mi) if qi else 0.0)
    return kl, js


def test_against_the_naive_sums_with_points_outside_the_box():
    gen = torch.Generator().manual_seed(0)
    x_real = torch.randn(3000, 2, generator=gen) * 0.4
    x_fake = torch.randn(2000, 2, generator=gen) * 0.7 + 0.3  # many beyond the box
    result = grid_divergences(x_real, x_fake, BOX, n_cells=12, eps=1e-4)
    kl, js = naive(x_real, x_fake, BOX, 12, 1e-4)
    assert result.kl == pytest.approx(kl, rel=1e-4) and result.js == pytest.approx(js, rel=1e-4)
    assert 0 < result.js < math.log(2)


def test_equal_sets_give_zero_and_disjoint_sets_give_log_2():
    x = torch.rand(500, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    same = grid_divergences(x, x, BOX)
    assert same.js == pytest.approx(0.0, abs=1e-7) and same.kl == pytest.approx(0.0, abs=1e-6)
    left, right = x.clone(), x.clone()
    left[:, 0] = -0.5 * x[:, 0].abs() - 0.01  # x < 0
    right[:, 0] = 0.5 * x[:, 0].abs() + 0.01  # x > 0
    apart = grid_divergences(left, right, BOX, n_cells=10)
    assert apart.js == pytest.approx(math.log(2), rel=1e-6)
    assert apart.kl > 5  # every data cell has p_g = eps: KL ~ log(p / eps)


def test_stacked_fakes_score_each_seed_as_alone():
    gen = torch.Generator().manual_seed(2)
    x_real, fakes = torch.randn(800, 2, generator=gen) * 0.5, torch.randn(3, 600, 2, generator=gen) * 0.5
    together = grid_divergences(x_real, fakes, BOX)
    assert together.js.shape == (3,)
    for s in range(3):
        alone = grid_divergences(x_real, fakes[s], BOX)
        assert float(together.js[s]) == pytest.approx(alone.js) and float(together.kl[s]) == pytest.approx(alone.kl)


def test_histogram_cells_and_bad_input():
    x = torch.tensor([[-0.9, -0.9], [0.9, -0.9], [-0.9, 0.9], [5.0, 0.0], [float("nan"), 0.0]])
    h = grid_histogram(x, BOX, n_cells=2)
    torch.testing.assert_close(h, torch.tensor([0.2, 0.2, 0.2, 0.0, 0.4]))  # row-major cells, then "outside"
    with pytest.raises(ValueError, match="points must be"):
        grid_histogram(torch.zeros(3, 3), BOX)
    with pytest.raises(ValueError, match="min < max"):
        grid_histogram(x, (1.0, -1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="eps must be > 0"):
        grid_divergences(x, x, BOX, eps=0.0)
