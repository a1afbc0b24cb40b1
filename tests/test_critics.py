"""gancourse.theory.critics: the shift generator, G's gradient in its shift, per-model clipping, D fitted against G."""

import math

import pytest
import torch
from torch import nn

from gancourse.models import mlp
from gancourse.regularizers import clip_weights_
from gancourse.theory import distances
from gancourse.theory.critics import ShiftGenerator, clip_weights_per_model_, fit_d, shift_gradient


def test_shift_generator_is_z_times_scale_plus_shift():
    G = ShiftGenerator([[0.0, 1.0]], [0.5, 0.0])
    z = torch.rand(7, 1)
    torch.testing.assert_close(G(z), torch.cat([torch.full((7, 1), 0.5), z], dim=1))
    stacked = ShiftGenerator([[2.0]], [[1.0], [-1.0], [0.0]])  # three 1-D Gaussians N(mu, 4)
    assert stacked.n_models == 3 and stacked.stacked
    z = torch.randn(3, 5, 1)
    torch.testing.assert_close(stacked(z), 2 * z + torch.tensor([1.0, -1.0, 0.0])[:, None, None])
    with pytest.raises(ValueError, match="expects z of shape"):
        stacked(torch.randn(5, 1))
    with pytest.raises(ValueError, match="same d"):
        ShiftGenerator([[1.0, 0.0]], [1.0])


def test_shift_gradient_of_a_linear_critic_is_minus_its_weight():
    w = torch.tensor([[0.6, -0.8], [2.0, 1.0]])  # (S, 2)
    D = lambda x: (x * w[:, None, :]).sum(-1, keepdim=True) + 0.3  # stacked linear critic
    G = ShiftGenerator(torch.eye(2), torch.zeros(2, 2))
    z = torch.randn(2, 64, 2)
    # Wasserstein: G's loss -E D(G(z)) has gradient -w in the shift, whatever z
    torch.testing.assert_close(shift_gradient(G, D, z, "wasserstein"), -w)
    # saturating: log(1 - D) = -softplus(l), gradient -E[sigmoid(l)] w
    logits = D(G(z)).detach()
    expected = -(logits.sigmoid().mean(1)) * w
    torch.testing.assert_close(shift_gradient(G, D, z, "minimax"), expected)
    assert G.shift.grad is None  # nothing written to .grad


def test_per_model_clipping_equals_clipping_each_model_alone():
    torch.manual_seed(0)
    models = [mlp.MLPDiscriminator(width=16, depth=2) for _ in range(3)]
    stacked = mlp.MLPDiscriminator.stack(models)
    c = torch.tensor([0.5, 0.05, 0.005])
    clip_weights_per_model_(stacked, c)
    for s, (model, bound) in enumerate(zip(models, c.tolist(), strict=True)):
        clip_weights_(model, bound)  # the package's one-model clipping as the reference
        alone = stacked.unstack(s)
        for a, b in zip(alone.parameters(), model.parameters(), strict=True):
            torch.testing.assert_close(a, b)
        assert max(p.abs().max().item() for p in alone.parameters()) <= bound
    clip_weights_per_model_(models[0], 0.01)  # a number works on an ordinary model too
    assert max(p.abs().max().item() for p in models[0].parameters()) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="one per model"):
        clip_weights_per_model_(stacked, torch.tensor([0.1, 0.1]))
    with pytest.raises(ValueError, match="> 0"):
        clip_weights_per_model_(stacked, torch.tensor([0.1, 0.0, 0.1]))


def _lines(thetas):
    S = len(thetas)
    G = ShiftGenerator([[0.0, 1.0]], torch.stack([thetas, torch.zeros(S)], dim=1))
    sample_real = lambda n, g: torch.cat([torch.zeros(S, n, 1), torch.rand(S, n, 1, generator=g)], dim=-1)
    sample_z = lambda n, g: torch.rand(S, n, 1, generator=g)
    return G, sample_real, sample_z


def test_fitted_discriminator_and_critic_recover_js_and_w_on_the_parallel_lines():
    thetas = torch.tensor([0.0, 0.5, -1.0])
    G, sample_real, sample_z = _lines(thetas)
    shift = G.shift.detach().clone()
    torch.manual_seed(0)
    D = mlp.MLPDiscriminator.stack([mlp.MLPDiscriminator(width=32, depth=2) for _ in range(3)])
    record = fit_d(G, D, sample_real, sample_z, 200, loss="minimax", lr=1e-3, betas=(0.5, 0.999),
                   batch_size=128, device="cpu")
    assert record.d_loss.shape == (200, 3)
    torch.testing.assert_close(G.shift, shift)  # G never moves
    js = distances.js_from_d_loss(record.d_loss[-20:].mean(0))
    assert abs(js[0]) < 0.02 and (js[1:] > math.log(2) - 0.05).all() and (js <= math.log(2) + 1e-6).all()
    torch.manual_seed(0)
    critic = mlp.MLPDiscriminator.stack([mlp.MLPDiscriminator(width=32, depth=2) for _ in range(3)])
    record = fit_d(G, critic, sample_real, sample_z, 200, gp_weight=10.0, lr=1e-3, batch_size=128, device="cpu")
    w = -record.d_loss[-20:].mean(0)
    torch.testing.assert_close(w, thetas.abs(), atol=0.1, rtol=0.1)


def test_fit_d_clips_every_step_and_refuses_a_one_model_stack():
    G, sample_real, sample_z = _lines(torch.tensor([0.5, 1.0]))
    D = mlp.MLPDiscriminator.stack([mlp.MLPDiscriminator(width=8, depth=1) for _ in range(2)])
    c = torch.tensor([0.02, 0.2])
    fit_d(G, D, sample_real, sample_z, 5, clip=c, lr=1e-2, batch_size=16, device="cpu")
    for s, bound in enumerate(c.tolist()):
        assert max(p.abs().max().item() for p in D.unstack(s).parameters()) <= bound + 1e-7
    G1, real1, z1 = _lines(torch.tensor([0.5]))
    with pytest.raises(ValueError, match="ordinary modules"):
        fit_d(G1, mlp.MLPDiscriminator.stack([mlp.MLPDiscriminator()]), real1, z1, 1, device="cpu")
    with pytest.raises(ValueError, match="steps must be"):
        fit_d(G, D, sample_real, sample_z, 0, device="cpu")
    with pytest.raises(ValueError, match="TrainConfig.loss"):
        fit_d(G, D, sample_real, sample_z, 1, loss="wgan", device="cpu")
    assert isinstance(D, nn.Module)


def test_stacked_critics_start_from_each_seeds_own_weights():
    from gancourse.theory.critics import stacked_critics

    make_D = lambda: mlp.MLPDiscriminator(width=8, depth=1)
    stacked = stacked_critics([4, 9], make_D)
    for s, seed in enumerate([4, 9]):
        torch.manual_seed(seed)
        alone = make_D()
        for a, b in zip(stacked.unstack(s).parameters(), alone.parameters(), strict=True):
            torch.testing.assert_close(a, b)
    assert not getattr(stacked_critics([4], make_D), "stacked", False)
    with pytest.raises(ValueError, match="distinct"):
        stacked_critics([1, 1], make_D)
