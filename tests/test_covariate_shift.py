"""The covariate-shift probe against a by-hand recomputation on a small DCGAN."""

import copy

import pytest
import torch
import torch.nn.functional as F

from gancourse.diagnostics.covariate_shift import CovariateShiftProbe
from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gancourse.training.history import History


def _moments(G, z):
    """Per-channel mean and std of the last conv's input, by running the layers before it in train mode."""
    G = copy.deepcopy(G).train()
    h = z[:, :, None, None]
    for layer in list(G.net)[:-2]:  # everything before ToImage and tanh
        h = layer(h)
    h = h.transpose(0, 1).flatten(1)
    return h.mean(1), h.std(1)


def _last_conv_grad(G, D, z):
    G, D = copy.deepcopy(G).train(), copy.deepcopy(D).train()
    loss = F.softplus(-D(G(z))).mean()  # the non-saturating G loss, -log sigmoid(D(G(z)))
    (grad,) = torch.autograd.grad(loss, [G.net[-2].weight])
    return grad.flatten().double()


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_probe_matches_a_recomputation_by_hand(norm):
    torch.manual_seed(0)
    G, D = DCGANGenerator(z_dim=16, width=8, norm=norm), DCGANDiscriminator(width=8, norm=norm)
    z = torch.randn(32, 16)
    probe = CovariateShiftProbe(z, every=10)
    G_t, D_t = copy.deepcopy(G), copy.deepcopy(D)
    running = [b.clone() for b in G.buffers()]
    probe(10, History(), G, D)  # snapshot at step t = 10
    assert all(torch.equal(a, b) for a, b in zip(running, G.buffers(), strict=True))  # running stats untouched
    # "a training step": every parameter of G and D moves
    with torch.no_grad():
        for p in [*G.parameters(), *D.parameters()]:
            p.add_(0.01 * torch.randn_like(p))
    G_u = copy.deepcopy(G)
    probe(11, History(), G, D)  # measure at t + 1
    assert all(torch.equal(a, b) for a, b in zip(G_u.parameters(), G.parameters(), strict=True))  # G restored
    (record,) = probe.records
    mean_t, std_t = _moments(G_t, z)
    mean_u, std_u = _moments(G_u, z)
    expected_shift = (((mean_u - mean_t) ** 2 + (std_u - std_t) ** 2).sqrt() / std_t).mean()
    assert record["input_shift"] == pytest.approx(expected_shift.item(), rel=1e-4)
    # g: all of G at t; g': the layers before the last conv at t + 1, the last conv at t; D at t both times
    mixed = copy.deepcopy(G_u)
    mixed.net[-2].load_state_dict(G_t.net[-2].state_dict())
    g, g_prime = _last_conv_grad(G_t, D_t, z), _last_conv_grad(mixed, D_t, z)
    assert record["grad_change"] == pytest.approx(((g - g_prime).norm() / g.norm()).item(), rel=1e-4)
    assert record["grad_cosine"] == pytest.approx((g @ g_prime / (g.norm() * g_prime.norm())).item(), rel=1e-6)
    assert probe.steps.tolist() == [10] and probe.summary()["input_shift"] == pytest.approx(record["input_shift"])


def test_probe_ignores_steps_between_and_needs_a_snapshot():
    torch.manual_seed(1)
    G, D = DCGANGenerator(z_dim=8, width=8), DCGANDiscriminator(width=8)
    probe = CovariateShiftProbe(torch.randn(8, 8), every=5)
    for step in (1, 2, 3, 4, 6, 7):  # 6 follows no snapshot at 5 here
        probe(step, History(), G, D)
    assert probe.records == [] and probe.input_shift.shape == (0,)
    probe(5, History(), G, D)
    probe(6, History(), G, D)
    probe(7, History(), G, D)
    assert len(probe.records) == 1
    # nothing moved between 5 and 6: no shift, the same gradient
    assert probe.input_shift[0] == pytest.approx(0.0, abs=1e-6) and probe.grad_change[0] == pytest.approx(0.0)


def test_probe_refuses_bad_arguments():
    with pytest.raises(ValueError, match="every must be >= 2"):
        CovariateShiftProbe(torch.randn(8, 4), every=1)
    with pytest.raises(ValueError, match="probe batch"):
        CovariateShiftProbe(torch.randn(8), every=5)
    probe = CovariateShiftProbe(torch.randn(8, 8), every=5, layer=7)
    with pytest.raises(ValueError, match="3 conv layers"):
        probe(5, History(), DCGANGenerator(z_dim=8, width=8), DCGANDiscriminator(width=8))
