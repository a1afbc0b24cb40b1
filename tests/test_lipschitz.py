"""gancourse.diagnostics.lipschitz against hand-set weights, per-sample Jacobians and per-model loops."""

import pytest
import torch
from torch import nn

from gancourse.diagnostics import lipschitz
from gancourse.models import mlp


def test_weight_values_of_a_stack_are_each_models_weights():
    torch.manual_seed(0)
    models = [mlp.MLPDiscriminator(width=8, depth=2) for _ in range(3)]
    stacked = mlp.MLPDiscriminator.stack(models)
    values = lipschitz.weight_values(stacked)
    assert values.shape == (3, 2 * 8 + 8 * 8 + 8)  # the weights only, no biases
    for s, model in enumerate(models):
        mine = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, nn.Linear)])
        torch.testing.assert_close(values[s].sort().values, mine.sort().values)
    n_params = sum(p.numel() for p in models[0].parameters())
    assert lipschitz.weight_values(models[0], weights_only=False).numel() == n_params


def test_share_at_bounds_counts_weights_within_rtol_of_c():
    layer = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.1, -0.1, 0.05, 0.0995]]))
    assert lipschitz.share_at_bounds(layer, 0.1).item() == pytest.approx(3 / 4)  # 0.0995 >= 0.99 * 0.1
    assert lipschitz.share_at_bounds(layer, 0.1, rtol=0.001).item() == pytest.approx(2 / 4)
    assert lipschitz.share_at_bounds(layer, 1.0).item() == 0.0
    stacked = mlp.MLPDiscriminator.stack([mlp.MLPDiscriminator(width=8, depth=1) for _ in range(2)])
    with torch.no_grad():
        for p in stacked.parameters():
            p.fill_(0.01)
    torch.testing.assert_close(lipschitz.share_at_bounds(stacked, torch.tensor([0.01, 0.02])), torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="one bound per model"):
        lipschitz.share_at_bounds(stacked, torch.tensor([0.1, 0.1, 0.1]))


def _reference_depth_norms(model: mlp.MLPDiscriminator, x: torch.Tensor) -> torch.Tensor:
    """Per sample, run the layers by hand and take the Jacobian of the output w.r.t. each linear layer's input."""
    layers = list(model.net)
    norms = []
    for k, layer in enumerate(layers):
        if not isinstance(layer, nn.Linear):
            continue
        per_sample = []
        for xi in x:
            h = xi[None]
            for earlier in layers[:k]:
                h = earlier(h)
            rest = nn.Sequential(*layers[k:])
            jac = torch.autograd.functional.jacobian(lambda v, rest=rest: rest(v[None]).squeeze(), h[0])
            per_sample.append(jac.norm())
        norms.append(torch.stack(per_sample).mean())
    return torch.stack(norms)


def test_depth_grad_norms_match_a_jacobian_per_sample_and_per_model():
    torch.manual_seed(1)
    models = [mlp.MLPDiscriminator(width=8, depth=3, activation="relu") for _ in range(2)]
    x = torch.randn(2, 5, 2)
    stacked = mlp.MLPDiscriminator.stack(models)
    norms = lipschitz.depth_grad_norms(stacked, x)
    assert norms.shape == (2, 4)
    for s, model in enumerate(models):
        reference = _reference_depth_norms(model, x[s])
        torch.testing.assert_close(lipschitz.depth_grad_norms(model, x[s]), reference)
        torch.testing.assert_close(norms[s], reference)
    # the last entry is the norm of the output layer's weight row (the gradient w.r.t. its input)
    torch.testing.assert_close(norms[0, -1], models[0].net[-1].weight.norm())
    with pytest.raises(ValueError, match="sequence of layers"):
        lipschitz.depth_grad_norms(nn.Linear(2, 1), x[0])


def _batch_norm_critic() -> nn.Module:
    torch.manual_seed(2)
    return nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.LeakyReLU(0.2), nn.Linear(16, 1))


def test_own_input_grads_are_the_jacobian_diagonal():
    for D in (_batch_norm_critic(), nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))):
        x = torch.randn(6, 3)
        jac = torch.autograd.functional.jacobian(lambda v, D=D: D(v).squeeze(1), x)  # (6, 6, 3)
        torch.testing.assert_close(lipschitz.own_input_grads(D, x), torch.stack([jac[i, i] for i in range(6)]))
        torch.testing.assert_close(lipschitz.batch_input_grads(D, x), jac.sum(0))


def test_without_batch_norm_the_two_gradients_agree_and_with_it_they_do_not():
    x = torch.randn(8, 3)
    plain = nn.Sequential(nn.Linear(3, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    torch.testing.assert_close(lipschitz.batch_input_grads(plain, x), lipschitz.own_input_grads(plain, x))
    D = _batch_norm_critic()
    gap = (lipschitz.batch_input_grads(D, x) - lipschitz.own_input_grads(D, x)).norm()
    assert gap > 1e-3 * lipschitz.own_input_grads(D, x).norm()
    with pytest.raises(ValueError, match="one output per sample"):
        lipschitz.own_input_grads(nn.Linear(3, 2), x)
