"""Ranks, Spearman's correlation and mean ± spread, against hand computations and the textbook formulas."""

import math
import statistics

import pytest
import torch

from gancourse.metrics.stats import mean_spread, rank, spearman


def test_rank_gives_ties_their_mean_rank():
    # sorted: 1 (rank 1), 3, 3 (ranks 2 and 3 -> 2.5 each), 7 (rank 4), 9 (rank 5)
    torch.testing.assert_close(rank(torch.tensor([3.0, 1.0, 9.0, 3.0, 7.0])),
                               torch.tensor([2.5, 1.0, 5.0, 2.5, 4.0], dtype=torch.float64))
    torch.testing.assert_close(rank([2.0, 2.0, 2.0]), torch.tensor([2.0, 2.0, 2.0], dtype=torch.float64))


def test_spearman_without_ties_matches_the_textbook_formula():
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        x, y = torch.randn(12, generator=g), torch.randn(12, generator=g)
        d = rank(x) - rank(y)
        n = len(x)
        expected = 1 - 6 * float(d.square().sum()) / (n * (n * n - 1))  # valid when there are no ties
        assert float(spearman(x, y)) == pytest.approx(expected, abs=1e-12)


def test_spearman_with_ties_is_pearson_of_mean_ranks_by_hand():
    x = [1.0, 2.0, 2.0, 3.0]  # ranks 1, 2.5, 2.5, 4
    y = [10.0, 30.0, 20.0, 40.0]  # ranks 1, 3, 2, 4
    rx, ry = [1, 2.5, 2.5, 4], [1, 3, 2, 4]
    mx, my = sum(rx) / 4, sum(ry) / 4
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    expected = cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    assert float(spearman(x, y)) == pytest.approx(expected, abs=1e-12)
    assert 0.9 < expected < 1.0  # not a trivial case


def test_spearman_sees_only_order_and_sign():
    x = torch.linspace(0.1, 3, 20)
    assert float(spearman(x, x.exp())) == pytest.approx(1.0)  # any increasing function: +1
    assert float(spearman(x, -x**3)) == pytest.approx(-1.0)  # any decreasing one: -1
    assert math.isnan(float(spearman(x, torch.ones(20))))  # a constant series has no correlation


def test_spearman_per_seed_rows_equal_one_by_one():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(4, 9, generator=g), torch.randn(4, 9, generator=g)
    batched = spearman(x, y)
    assert batched.shape == (4,)
    torch.testing.assert_close(batched, torch.stack([spearman(x[s], y[s]) for s in range(4)]))


def test_spearman_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="same shape"):
        spearman(torch.zeros(5), torch.zeros(6))
    with pytest.raises(ValueError, match="T >= 2"):
        spearman(torch.zeros(1), torch.zeros(1))
    with pytest.raises(ValueError, match="NaN"):
        spearman(torch.tensor([1.0, float("nan"), 2.0]), torch.zeros(3))


def test_mean_spread_is_mean_and_sample_std():
    values = [31.0, 35.5, 40.25]
    mean, spread = mean_spread(torch.tensor(values))
    assert mean == pytest.approx(statistics.mean(values))
    assert spread == pytest.approx(statistics.stdev(values))
    assert mean_spread([7.0]) == (7.0, 0.0)
    with pytest.raises(ValueError, match="empty"):
        mean_spread([])
