"""gancourse.regularizers against analytic answers and naive per-sample implementations."""

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from gancourse.models.mlp import StackedLinear
from gancourse.regularizers import (
    add_instance_noise,
    clip_weights_,
    gradient_penalty,
    instance_noise_std,
    r1_penalty,
    spectral_norm,
)

W = torch.tensor([3.0, 4.0])  # ||w|| = 5


def linear_d(in_features, weight):
    D = nn.Linear(in_features, 1)
    with torch.no_grad():
        D.weight.copy_(weight.view(1, -1))
    return D


def test_linear_critic_on_points_has_known_penalties():
    """D(x) = w.x + b has input gradient w everywhere: GP = (||w|| - 1)^2, R1 = ||w||^2."""
    gen = torch.Generator().manual_seed(0)
    D = linear_d(2, W)
    x_real, x_fake = torch.randn(16, 2, generator=gen), torch.randn(16, 2, generator=gen)
    assert_close(gradient_penalty(D, x_real, x_fake, generator=gen), torch.tensor(16.0))
    assert_close(gradient_penalty(D, x_real, x_fake, target=0.0), torch.tensor(25.0))
    assert_close(r1_penalty(D, x_real), torch.tensor(25.0))


def test_linear_critic_on_images_norms_over_all_pixels():
    w = torch.arange(16, dtype=torch.float32) / 10  # ||w||^2 = sum k^2 / 100 = 12.4
    D = nn.Sequential(nn.Flatten(), linear_d(16, w))
    gen = torch.Generator().manual_seed(1)
    x_real, x_fake = torch.randn(8, 1, 4, 4, generator=gen), torch.randn(8, 1, 4, 4, generator=gen)
    norm = w.norm()
    assert_close(gradient_penalty(D, x_real, x_fake, generator=gen), (norm - 1) ** 2)
    assert_close(r1_penalty(D, x_real), norm**2)


def test_stacked_seeds_average_their_own_penalties():
    w = torch.tensor([[3.0, 4.0], [0.6, 0.8], [0.0, 2.0]]).view(3, 1, 2)  # norms 5, 1, 2

    def D(x):  # (S, B, 2) -> (S, B, 1), one linear critic per seed
        return (x * w).sum(-1, keepdim=True)

    gen = torch.Generator().manual_seed(2)
    x_real, x_fake = torch.randn(3, 10, 2, generator=gen), torch.randn(3, 10, 2, generator=gen)
    norms = torch.tensor([5.0, 1.0, 2.0])
    gp = gradient_penalty(D, x_real, x_fake, generator=gen, batch_dims=2)
    assert_close(gp, ((norms - 1) ** 2).mean())
    assert_close(r1_penalty(D, x_real, batch_dims=2), (norms**2).mean())


def test_gradient_penalty_interpolates_like_a_naive_loop():
    """A non-linear D, D(x) = sum(x^2): grad = 2 x_hat, so the interpolation points matter."""

    def D(x):
        return x.square().flatten(1).sum(1, keepdim=True)

    gen = torch.Generator().manual_seed(3)
    x_real, x_fake = torch.randn(5, 2, 3, generator=gen), torch.randn(5, 2, 3, generator=gen)
    gp = gradient_penalty(D, x_real, x_fake, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(5, 1, 1, generator=torch.Generator().manual_seed(7))  # same draw as inside
    naive = []
    for i in range(5):
        x_hat = (eps[i] * x_real[i] + (1 - eps[i]) * x_fake[i]).requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x_hat[None]).sum(), x_hat)
        naive.append((grad.norm() - 1) ** 2)
    assert_close(gp, torch.stack(naive).mean())


def test_gradient_penalty_with_given_eps_equals_the_drawn_one_and_the_naive_formula():
    """eps given per sample (here per seed and sample) = eps drawn from a generator; checked against
    D(x) = sum(x^2) per seed, whose input gradient at x_hat is 2 x_hat."""

    def D(x):
        return x.square().sum(-1, keepdim=True)

    gen = torch.Generator().manual_seed(9)
    x_real, x_fake = torch.randn(3, 5, 2, generator=gen), torch.randn(3, 5, 2, generator=gen)
    eps = torch.rand(3, 5, 1, generator=torch.Generator().manual_seed(10))
    given = gradient_penalty(D, x_real, x_fake, eps=eps, batch_dims=2)
    drawn = gradient_penalty(D, x_real, x_fake, generator=torch.Generator().manual_seed(10), batch_dims=2)
    x_hat = eps * x_real + (1 - eps) * x_fake
    assert_close(given, ((2 * x_hat.norm(dim=-1) - 1) ** 2).mean())
    assert_close(given, drawn)
    other = gradient_penalty(D, x_real, x_fake, eps=eps.flip(1), batch_dims=2)
    assert not torch.allclose(other, given)  # eps is really used


def test_gradient_penalty_rejects_a_wrong_eps():
    D = linear_d(2, W)
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match=r"eps must have shape \(4, 1\)"):
        gradient_penalty(D, x, x, eps=torch.rand(4))
    with pytest.raises(ValueError, match="not both"):
        gradient_penalty(D, x, x, generator=torch.Generator(), eps=torch.rand(4, 1))


def test_penalties_backpropagate_into_d():
    """d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: needs create_graph=True."""
    D = linear_d(2, W)
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(4))
    gradient_penalty(D, x, x.flip(0)).backward()
    assert_close(D.weight.grad, (2 * (5 - 1) * W / 5).view(1, 2))
    D.weight.grad = None
    r1_penalty(D, x).backward()
    assert_close(D.weight.grad, (2 * W).view(1, 2))


def test_penalty_shape_errors():
    D = linear_d(2, W)
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(D, torch.zeros(4, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="batch_dims"):
        r1_penalty(D, torch.zeros(4))


def test_clip_weights_bounds_every_parameter():
    model = nn.Sequential(nn.Linear(5, 7), nn.Linear(7, 3))
    with torch.no_grad():
        model[0].weight.mul_(100)
    before = [p.detach().clone() for p in model.parameters()]
    c = 0.05
    clip_weights_(model, c)
    for old, new in zip(before, model.parameters(), strict=True):
        assert_close(new.detach(), old.clamp(-c, c))
        assert -c <= new.min() and new.max() <= c
    assert model[0].weight.max() == c and model[0].weight.min() == -c  # the large ones sit at the bounds
    with pytest.raises(ValueError, match="> 0"):
        clip_weights_(model, 0.0)


@pytest.mark.parametrize(
    "make_layer, as_matrix",
    [
        (lambda: nn.Linear(8, 6), lambda w: w),
        (lambda: nn.Conv2d(3, 5, 3), lambda w: w.flatten(1)),
        (lambda: nn.ConvTranspose2d(4, 3, 3), lambda w: w.transpose(0, 1).flatten(1)),
    ],
)
def test_spectral_norm_makes_largest_singular_value_one(make_layer, as_matrix):
    torch.manual_seed(5)
    layer = make_layer()
    with torch.no_grad():
        layer.weight.mul_(10)
    sigma_before = torch.linalg.matrix_norm(as_matrix(layer.weight.detach()), ord=2)
    model = nn.Sequential(layer)
    assert spectral_norm(model) is model
    x = torch.randn(2, 8) if isinstance(layer, nn.Linear) else torch.randn(2, layer.in_channels, 6, 6)
    model.train()
    for _ in range(50):  # one power iteration per forward pass
        model(x)
    sigma_after = torch.linalg.matrix_norm(as_matrix(layer.weight.detach()), ord=2)
    assert sigma_before > 2
    assert 0.99 < sigma_after < 1.01


def test_spectral_norm_of_stacked_layers_normalises_each_seed_on_its_own():
    """Stacked weights (S, in, out): one power iteration per seed; each seed's sigma goes to 1 (chapter 08)."""
    torch.manual_seed(5)
    layer = StackedLinear(8, 6, n_models=3)
    with torch.no_grad():
        layer.weight.mul_(torch.tensor([1.0, 10.0, 100.0]).view(3, 1, 1))  # three different scales
    model = spectral_norm(nn.Sequential(layer)).train()
    x = torch.randn(3, 2, 8)
    for _ in range(50):
        model(x)
    sigmas = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)  # (3,): the normalised weights
    assert ((sigmas > 0.99) & (sigmas < 1.01)).all(), sigmas
    raw = layer.parametrizations.weight.original.detach()
    assert_close(layer.weight.detach(), raw / torch.linalg.matrix_norm(raw, ord=2).view(3, 1, 1), rtol=1e-3,
                 atol=1e-5)


def test_instance_noise_schedule():
    assert instance_noise_std(0, 0.1, 100) == pytest.approx(0.1)
    assert instance_noise_std(25, 0.1, 100) == pytest.approx(0.075)
    assert instance_noise_std(100, 0.1, 100) == 0.0
    assert instance_noise_std(150, 0.1, 100) == 0.0
    with pytest.raises(ValueError, match="anneal_steps"):
        instance_noise_std(0, 0.1, 0)


def test_add_instance_noise_uses_the_generator():
    x = torch.randn(4000, 2, generator=torch.Generator().manual_seed(6))
    noisy = add_instance_noise(x, 0.3, generator=torch.Generator().manual_seed(8))
    expected = x + 0.3 * torch.randn(4000, 2, generator=torch.Generator().manual_seed(8))
    assert_close(noisy, expected)
    assert 0.28 < (noisy - x).std() < 0.32
    assert add_instance_noise(x, 0.0) is x
    with pytest.raises(ValueError, match="std"):
        add_instance_noise(x, -1.0)


def test_instance_noise_and_gp_weights_are_drawn_in_the_input_dtype_and_device():
    # float64 draws are another stream than float32 ones: the reference draws in float64 too
    x = torch.zeros(5, 3, dtype=torch.float64)
    noisy = add_instance_noise(x, 0.5, generator=torch.Generator().manual_seed(1))
    assert noisy.dtype == torch.float64
    assert torch.equal(noisy, 0.5 * torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    assert add_instance_noise(torch.zeros(4, 2, dtype=torch.bfloat16), 0.5).dtype == torch.bfloat16
    on_meta = add_instance_noise(torch.zeros(4, 2, device="meta"), 0.5)  # noise made where x lives
    assert on_meta.device.type == "meta"

    def D(x):  # grad = 2 x_hat
        return x.square().sum(-1, keepdim=True)

    gen = torch.Generator().manual_seed(2)
    x_real = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    x_fake = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    gp = gradient_penalty(D, x_real, x_fake, generator=torch.Generator().manual_seed(3))
    eps = torch.rand(6, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    x_hat = eps * x_real + (1 - eps) * x_fake
    assert gp.dtype == torch.float64
    assert_close(gp, ((2 * x_hat.norm(dim=-1) - 1) ** 2).mean())


class _Identity(nn.Module):
    def forward(self, x):
        return x


def test_spectral_norm_applies_once_and_only_skips_a_weight_that_already_has_a_parametrization():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    nn.utils.parametrize.register_parametrization(net[1], "bias", _Identity())  # the bias, not the weight
    spectral_norm(spectral_norm(net))  # twice: the second call changes nothing
    for layer in net:
        assert len(layer.parametrizations.weight) == 1
    assert len(net[1].parametrizations.bias) == 1
    net.eval()
    for layer in net:
        assert torch.linalg.matrix_norm(layer.weight.detach(), ord=2) == pytest.approx(1.0, abs=0.1)
