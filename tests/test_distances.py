"""gancourse.theory.distances against the WGAN paper's closed forms, brute-force optimal transport and hand values."""

import itertools
import math

import pytest
import torch

from gancourse.theory import distances, games


def test_parallel_lines_sit_on_their_lines_and_stack_over_theta():
    g = torch.Generator().manual_seed(0)
    x_real, x_fake = distances.parallel_lines(0.5, 1000, g)
    assert x_real.shape == x_fake.shape == (1000, 2)
    assert (x_real[:, 0] == 0).all() and (x_fake[:, 0] == 0.5).all()
    for x in (x_real, x_fake):
        assert 0 <= x[:, 1].min() and x[:, 1].max() <= 1
        assert abs(x[:, 1].mean().item() - 0.5) < 0.05  # U[0, 1]
    assert not torch.equal(x_real[:, 1], x_fake[:, 1])  # independent Z
    thetas = torch.tensor([-1.0, 0.0, 0.25])
    x_real, x_fake = distances.parallel_lines(thetas, 10, g)
    assert x_real.shape == (3, 10, 2)
    torch.testing.assert_close(x_fake[:, :, 0], thetas[:, None].expand(3, 10))
    with pytest.raises(ValueError, match="n must be"):
        distances.parallel_lines(0.5, 0)


def test_closed_form_is_the_papers_example_1():
    d = distances.parallel_lines_closed_form(torch.tensor([-2.0, 0.0, 0.3]))
    torch.testing.assert_close(d["wasserstein"], torch.tensor([2.0, 0.0, 0.3], dtype=torch.float64))
    torch.testing.assert_close(d["js"], torch.tensor([math.log(2), 0.0, math.log(2)], dtype=torch.float64))
    assert d["kl"].tolist() == [math.inf, 0.0, math.inf]
    assert d["total_variation"].tolist() == [1.0, 0.0, 1.0]


def test_js_from_the_binned_densities_is_log_2_apart_and_0_within_a_cell():
    js = distances.parallel_lines_js(torch.tensor([-1.0, -0.02, 0.0, 0.004, 0.01, 0.7]), cell=0.01)
    expected = torch.tensor([math.log(2), math.log(2), 0.0, 0.0, math.log(2), math.log(2)], dtype=torch.float64)
    torch.testing.assert_close(js, expected, atol=1e-12, rtol=0)
    # a coarser grid cannot tell 0.004 from 0 either, nor 0.04 (same column of width 0.1)
    assert distances.parallel_lines_js(0.04, cell=0.1).item() == pytest.approx(0.0, abs=1e-12)
    assert distances.parallel_lines_js(0.06, cell=0.1).item() == pytest.approx(math.log(2), abs=1e-12)


def test_binned_masses_are_probabilities_in_one_column_each():
    p_data, p_g = distances.parallel_lines_masses(torch.tensor([0.0, 0.5]), cell=0.1, half_width=1.0)
    assert p_data.shape == p_g.shape == (2, 21 * 10)  # columns -1.0 ... 1.0, rows over [0, 1]
    torch.testing.assert_close(p_g.sum(-1), torch.ones(2, dtype=torch.float64))
    columns = p_g.reshape(2, 21, 10).sum(-1)  # mass per column
    assert columns[0].argmax() == 10 and columns[1].argmax() == 15 and (columns.max(-1).values == 1).all()
    with pytest.raises(ValueError, match="within the grid"):
        distances.parallel_lines_masses(3.0, half_width=2.0)
    with pytest.raises(ValueError, match="divide 1"):
        distances.parallel_lines_masses(0.5, cell=0.3)


def test_js_from_the_optimal_ds_loss_is_the_definitions_js():
    g = torch.Generator().manual_seed(3)
    p, q = torch.rand(2, 50, generator=g, dtype=torch.float64).softmax(-1)
    d_star = games.optimal_discriminator(p, q)  # p / (p + q)
    d_loss = -(p * d_star.log()).sum() - (q * (1 - d_star).log()).sum()  # D's minimax loss at D*
    torch.testing.assert_close(distances.js_from_d_loss(d_loss), games.js_divergence(p, q))
    # a worse D (always 1/2) gives the lower bound 0
    assert distances.js_from_d_loss(2 * math.log(2)).item() == pytest.approx(0.0, abs=1e-12)


def test_critic_gap_of_a_linear_critic_and_per_model():
    g = torch.Generator().manual_seed(1)
    x_real, x_fake = torch.randn(2, 3, 100, 2, generator=g)
    v = torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]])  # (S, 2): one unit vector per model
    f = lambda x: (x * v[:, None, :]).sum(-1, keepdim=True)  # (S, n, 1)
    expected = ((x_real.mean(1) - x_fake.mean(1)) * v).sum(-1)
    torch.testing.assert_close(distances.critic_gap(f, x_real, x_fake), expected)
    one = distances.critic_gap(lambda x: x[:, :1], x_real[0], x_fake[0])
    assert one.shape == () and one.item() == pytest.approx((x_real[0, :, 0] - x_fake[0, :, 0]).mean().item())


def test_coupling_cost_is_the_mean_distance_of_the_pairs():
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[3.0, 4.0], [1.0, 2.0]])
    assert distances.coupling_cost(x, y).item() == pytest.approx((5 + 1) / 2)
    with pytest.raises(ValueError, match="same shape"):
        distances.coupling_cost(x, y[:1])


def test_w1_in_one_dimension_is_the_best_of_all_pairings():
    g = torch.Generator().manual_seed(7)
    for _ in range(5):
        x, y = torch.randn(2, 6, generator=g, dtype=torch.float64)
        brute = min(sum(abs(x[i] - y[j]) for i, j in enumerate(perm)) / 6 for perm in itertools.permutations(range(6)))
        assert distances.w1_1d(x, y).item() == pytest.approx(float(brute), abs=1e-12)
    x = torch.randn(4, 500, generator=g)
    torch.testing.assert_close(distances.w1_1d(x, x + 3.0), torch.full((4,), 3.0))  # a shift by 3 costs 3
    assert distances.w1_1d(x[0], x[0].flip(0)).item() == 0.0  # same sample, another order
