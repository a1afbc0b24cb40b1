"""gancourse.losses against hand-computed values and the analytic gradients of chapter 02."""

import math

import pytest
import torch
from torch.testing import assert_close

from gancourse import losses
from gancourse.losses import LOSSES, get_loss


def t(*values):
    return torch.tensor(values, dtype=torch.float64).view(-1, 1)  # logits of shape (B, 1)


def logit_width(name):
    """Logits per sample: MAD-GAN's D has k + 1 of them (k = 2 generators here), every other loss one."""
    return 3 if name == "mad_gan" else 1


def softplus(x):
    return math.log1p(math.exp(x))


def test_minimax_at_zero_logits_is_log_2_values():
    zeros = t(0.0, 0.0, 0.0)
    assert_close(losses.d_minimax_loss(zeros, zeros), torch.tensor(2 * math.log(2), dtype=torch.float64))
    assert_close(losses.g_saturating_loss(zeros), torch.tensor(-math.log(2), dtype=torch.float64))
    assert_close(losses.g_non_saturating_loss(zeros), torch.tensor(math.log(2), dtype=torch.float64))


def test_minimax_by_hand():
    real, fake = t(2.0, -1.0), t(-3.0, 0.5)
    # -log sigmoid(r) = softplus(-r);  -log(1 - sigmoid(f)) = softplus(f)
    expected = (softplus(-2.0) + softplus(1.0)) / 2 + (softplus(-3.0) + softplus(0.5)) / 2
    assert_close(losses.d_minimax_loss(real, fake).item(), expected)
    assert_close(losses.g_saturating_loss(fake).item(), -(softplus(-3.0) + softplus(0.5)) / 2)
    assert_close(losses.g_non_saturating_loss(fake).item(), (softplus(3.0) + softplus(-0.5)) / 2)


def test_one_sided_label_smoothing_changes_only_the_real_target():
    real, fake = t(2.0), t(-1.0)
    sig = 1 / (1 + math.exp(-2.0))
    real_term = -(0.9 * math.log(sig) + 0.1 * math.log(1 - sig))
    assert_close(losses.d_minimax_loss(real, fake, real_label=0.9).item(), real_term + softplus(-1.0))
    # the fake term (target 0) is the same with or without smoothing
    other_fake = t(3.0)
    diff_smooth = losses.d_minimax_loss(real, other_fake, 0.9) - losses.d_minimax_loss(real, fake, 0.9)
    diff_plain = losses.d_minimax_loss(real, other_fake) - losses.d_minimax_loss(real, fake)
    assert_close(diff_smooth, diff_plain)
    for bad in (1.5, 0.0, -0.1):  # a real target of 0 would make D call real samples fake
        with pytest.raises(ValueError, match="real_label"):
            losses.d_minimax_loss(real, fake, real_label=bad)
    assert_close(losses.d_minimax_loss(real, fake, real_label=1.0), losses.d_minimax_loss(real, fake))


def test_wasserstein_hinge_least_squares_by_hand():
    real, fake = t(1.0, 3.0), t(-1.0, 0.5)
    assert_close(losses.d_wasserstein_loss(real, fake).item(), -0.25 - 2.0)
    assert_close(losses.g_wasserstein_loss(fake).item(), 0.25)
    hinge_real, hinge_fake = t(0.5, 2.0), t(-2.0, 0.5)
    assert_close(losses.d_hinge_loss(hinge_real, hinge_fake).item(), (0.5 + 0.0) / 2 + (0.0 + 1.5) / 2)
    assert_close(losses.g_hinge_loss(hinge_fake).item(), 0.75)
    assert_close(losses.d_least_squares_loss(real, fake).item(), 0.5 * (0 + 4) / 2 + 0.5 * (1 + 0.25) / 2)
    assert_close(losses.g_least_squares_loss(fake).item(), 0.5 * (4 + 0.25) / 2)


@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_take_any_shape(name):
    loss = get_loss(name)
    w = logit_width(name)
    real, fake = torch.randn(3, 8, w, generator=torch.Generator().manual_seed(0)).unbind(0)[:2]
    stacked_real, stacked_fake = real.view(2, 4, w), fake.view(2, 4, w)  # (S, B, w)
    assert_close(loss.d(stacked_real, stacked_fake), loss.d(real, fake))
    assert_close(loss.g(stacked_fake), loss.g(fake))
    assert loss.d(real, fake).dim() == 0


def test_saturating_gradient_vanishes_where_non_saturating_does_not():
    """Chapter 02: D confidently rejects the fakes (logit -20); d loss / d logit per sample."""
    n = 4
    fake = torch.full((n, 1), -20.0, dtype=torch.float64, requires_grad=True)
    (sat_grad,) = torch.autograd.grad(losses.g_saturating_loss(fake), fake)
    (ns_grad,) = torch.autograd.grad(losses.g_non_saturating_loss(fake), fake)
    sigma = torch.sigmoid(torch.tensor(-20.0, dtype=torch.float64))
    # d/dt -softplus(t) = -sigmoid(t);  d/dt softplus(-t) = -(1 - sigmoid(t))
    assert_close(sat_grad * n, -sigma.expand(n, 1))
    assert_close(ns_grad * n, -(1 - sigma).expand(n, 1))
    assert 0 < -sat_grad.max() * n < 1e-8
    assert 1 - 1e-8 < -ns_grad.min() * n <= 1


def test_extreme_logits_stay_finite():
    for name, loss in LOSSES.items():
        big = t(100.0, -100.0).expand(2, logit_width(name))
        assert torch.isfinite(loss.d(big, -big)) and torch.isfinite(loss.g(big))


def test_registry_pairs_and_errors():
    assert set(LOSSES) == {"minimax", "non_saturating", "wasserstein", "hinge", "least_squares", "mad_gan"}
    assert get_loss("minimax").g is losses.g_saturating_loss
    assert get_loss("non_saturating").g is losses.g_non_saturating_loss
    assert get_loss("non_saturating").d is losses.d_minimax_loss
    assert get_loss("wasserstein").d is losses.d_wasserstein_loss
    assert [n for n, loss in LOSSES.items() if loss.supports_label_smoothing] == ["minimax", "non_saturating"]
    assert all(loss.name == name for name, loss in LOSSES.items())
    with pytest.raises(ValueError, match="non_saturating") as error:
        get_loss("nonsaturating")
    assert "least_squares" in str(error.value) and "'nonsaturating'" in str(error.value)


@pytest.mark.parametrize("name", list(LOSSES))
def test_per_seed_losses_equal_each_seeds_own_loss(name):
    """``per_seed=True`` on (S, B, 1) logits gives seed s the loss of its own batch (what train_seeds records)."""
    loss = get_loss(name)
    real, fake = torch.randn(2, 3, 6, logit_width(name), generator=torch.Generator().manual_seed(1)).unbind(0)
    smoothing = {"real_label": 0.9} if loss.supports_label_smoothing else {}
    d, g = loss.d(real, fake, per_seed=True, **smoothing), loss.g(fake, per_seed=True)
    assert d.shape == g.shape == (3,)
    assert_close(d, torch.stack([loss.d(real[s], fake[s], **smoothing) for s in range(3)]))
    assert_close(g, torch.stack([loss.g(fake[s]) for s in range(3)]))


def test_mad_gan_losses_match_a_naive_loop():
    """MAD-GAN (Ghosh et al. 2018): fake sample j comes from generator j mod k; class k is "real"."""
    k, n = 3, 7
    real, fake = torch.randn(2, n, k + 1, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).unbind(0)

    def log_p(row, c):  # log softmax by hand
        return row[c] - math.log(sum(math.exp(v) for v in row.tolist()))

    d_ref = (-sum(log_p(real[i], k) for i in range(n)) / n - sum(log_p(fake[j], j % k) for j in range(n)) / n)
    g_ref = -sum(log_p(fake[j], k) for j in range(n)) / n
    assert_close(losses.d_mad_gan_loss(real, fake).item(), float(d_ref))
    assert_close(losses.g_mad_gan_loss(fake).item(), float(g_ref))
    p = losses.p_real_mad_gan(fake)
    assert p.shape == (n, 1) and 0 < p.min() and p.max() < 1
    with pytest.raises(ValueError, match="out_dim = k \\+ 1"):
        losses.g_mad_gan_loss(torch.zeros(4, 1))
