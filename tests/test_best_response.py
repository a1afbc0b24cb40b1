"""G's best response to a frozen D (the Helvetica scenario): against a naive loop and a D with a known maximiser."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from gancourse.diagnostics import mean_pairwise_distance
from gancourse.models.mlp import MLPDiscriminator, MLPGenerator
from gancourse.theory.best_response import train_g_against_frozen_d
from gancourse.training import TrainConfig

CPU = torch.device("cpu")


def _config(**kwargs):
    return TrainConfig(progress=False, **{"steps": 5, "batch_size": 16, "lr_g": 1e-2, "lr_d": 1e-2, **kwargs})


class ConcaveD(nn.Module):
    """A D whose logit ``-|x - peak|^2`` has one known maximiser: D's favourite point is ``peak``."""

    def __init__(self, peak):
        super().__init__()
        self.peak = nn.Parameter(torch.as_tensor(peak, dtype=torch.float32))

    def forward(self, x):
        return -((x - self.peak) ** 2).sum(dim=-1, keepdim=True)


def naive_g_against_frozen_d(G, D, steps, batch_size, lr, seed):
    """The same run written out: Adam on -log D(G(z)) with z drawn from torch.Generator(seed)."""
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    spreads, g_losses, d_fakes = [], [], []
    for _ in range(steps):
        z = torch.randn(batch_size, G.z_dim, generator=generator)
        loss = F.softplus(-D(G(z))).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        g_losses.append(loss.detach())  # G's loss before its step, as the training loop records it
        with torch.no_grad():
            x_fake = G(z)
            spreads.append(torch.cdist(x_fake, x_fake).sum() / (batch_size * (batch_size - 1)))
            d_fakes.append(torch.sigmoid(D(x_fake)).mean())  # D(G(z)) after the step: a probability
    return torch.stack(spreads), torch.stack(g_losses), torch.stack(d_fakes)


def test_g_against_frozen_d_matches_a_naive_loop_and_leaves_d_alone():
    torch.manual_seed(0)
    G, D = MLPGenerator(width=16, depth=2), MLPDiscriminator(width=16, depth=2)
    G_ref = MLPGenerator(width=16, depth=2)
    G_ref.load_state_dict(G.state_dict())
    D_before = {k: v.clone() for k, v in D.state_dict().items()}
    result = train_g_against_frozen_d(G, D, _config(steps=6), seeds=[3], device=CPU)
    spreads, g_losses, d_fakes = naive_g_against_frozen_d(G_ref, D, steps=6, batch_size=16, lr=1e-2, seed=3)
    for p, p_ref in zip(result.G.parameters(), G_ref.parameters(), strict=True):
        assert_close(p, p_ref, rtol=1e-4, atol=1e-5)
    assert_close(result.history["spread"], spreads, rtol=1e-4, atol=1e-5)
    assert_close(result.history["g_loss"], g_losses, rtol=1e-4, atol=1e-6)
    assert_close(result.history["d_fake"], d_fakes, rtol=1e-4, atol=1e-6)
    assert ((result.history["d_fake"] > 0) & (result.history["d_fake"] < 1)).all()
    for k, v in D.state_dict().items():
        assert torch.equal(v, D_before[k]), f"D's {k} changed"


def test_g_collapses_onto_the_maximiser_of_a_frozen_d():
    # Goodfellow (2016): against a fixed D, G's best response sends every z to argmax D
    torch.manual_seed(1)
    G = MLPGenerator(width=32, depth=2)
    with torch.no_grad():
        G.net[-1].weight.mul_(10)  # start spread out, so that the collapse has somewhere to go
    peak = torch.tensor([1.5, -0.5])
    with torch.no_grad():
        start_spread = mean_pairwise_distance(G(torch.randn(256, 2)))
    result = train_g_against_frozen_d(G, ConcaveD(peak), _config(steps=300, batch_size=64), device=CPU)
    with torch.no_grad():
        x_fake = G(torch.randn(256, 2))
    assert (x_fake.mean(0) - peak).norm() < 0.05  # on the favourite point ...
    assert mean_pairwise_distance(x_fake) < 0.1 * start_spread  # ... and every sample on it
    assert start_spread > 0.5
    assert result.history["spread"][-1] < result.history["spread"][0]


def test_frozen_d_is_evaluated_in_eval_mode_and_its_mode_is_restored():
    # batch norm in train mode would update its running statistics (and judge each batch by itself)
    D = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1)).train()
    running_mean = D[1].running_mean.clone()
    train_g_against_frozen_d(MLPGenerator(width=8, depth=1), D, _config(), device=CPU)
    assert torch.equal(D[1].running_mean, running_mean)
    assert D.training


def test_stacked_seeds_train_as_if_alone():
    seeds = [4, 7]
    singles = []
    for s in seeds:
        torch.manual_seed(s)
        singles.append((MLPGenerator(width=8, depth=1), MLPDiscriminator(width=8, depth=1)))
    G = MLPGenerator.stack([g for g, _ in singles])
    D = MLPDiscriminator.stack([d for _, d in singles])
    stacked = train_g_against_frozen_d(G, D, _config(), seeds=seeds, device=CPU)
    for i, ((g, d), s) in enumerate(zip(singles, seeds, strict=True)):
        alone = train_g_against_frozen_d(g, d, _config(), seeds=[s], device=CPU)
        for p, p_alone in zip(stacked.G.unstack(i).parameters(), alone.G.parameters(), strict=True):
            assert_close(p, p_alone, rtol=1e-4, atol=1e-5)
        for key in ("spread", "g_loss", "d_fake"):
            assert_close(stacked.history[key][:, i], alone.history[key], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="one seed per stacked model"):
        train_g_against_frozen_d(G, D, _config(), seeds=[1], device=CPU)
