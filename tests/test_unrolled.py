"""The unrolled GAN: differentiable Adam equals torch's Adam, and the second-order G gradient equals
finite differences of G's loss through D's look-ahead steps (and differs from the first-order one)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.testing import assert_close

from gancourse.models import mlp
from gancourse.training import TrainConfig, d_step
from gancourse.training.seeds import init_models
from gancourse.training.steps import unrolled_g_step
from gancourse.training.unrolled import AdamState, adam_settings, adam_state, adam_update, look_ahead


def test_adam_update_equals_torch_adam_over_several_steps():
    gen = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.randn(5, 3, dtype=torch.float64, generator=gen))
    p.data[0] = 0.0  # a row whose gradient stays exactly 0: sqrt(v) = 0 there
    q = p.detach().clone()
    opt = torch.optim.Adam([p], lr=0.03, betas=(0.5, 0.9), eps=1e-6)
    state = AdamState([torch.zeros_like(q)], [torch.zeros_like(q)], 0)
    for _ in range(4):
        target = torch.randn(5, 3, dtype=torch.float64, generator=gen)
        target[0] = 0.0
        opt.zero_grad()
        ((p - target) ** 3).abs().sum().backward()
        grad = ((q - target) ** 3).abs().sign() * 3 * (q - target) ** 2 * ((q - target).sign())
        assert_close(p.grad, grad)
        (q,), state = adam_update([q], [grad], state, 0.03, (0.5, 0.9), 1e-6)
        opt.step()
        assert_close(q, p.detach(), rtol=1e-12, atol=1e-12)
    # and it continues a real optimizer's state exactly
    read = adam_state(opt, [p])
    assert read.step == 4
    assert_close(read.exp_avg[0], state.exp_avg[0])
    assert_close(read.exp_avg_sq[0], state.exp_avg_sq[0])


def test_adam_state_before_the_first_step_and_bad_optimizers():
    p = torch.nn.Parameter(torch.ones(3))
    state = adam_state(torch.optim.Adam([p]), [p])
    assert state.step == 0 and torch.equal(state.exp_avg[0], torch.zeros(3))
    assert adam_settings(torch.optim.Adam([p], lr=0.1, betas=(0.5, 0.99), eps=1e-7)) == (0.1, (0.5, 0.99), 1e-7)
    for opt, match in [(torch.optim.SGD([p], lr=0.1), "SGD"), (torch.optim.AdamW([p]), "AdamW"),
                       (torch.optim.Adam([p], weight_decay=0.1), "weight_decay=0"),
                       (torch.optim.Adam([p], amsgrad=True), "amsgrad=False")]:
        with pytest.raises(ValueError, match=match):
            adam_settings(opt)


def test_look_ahead_is_differentiable_through_every_step():
    """gradcheck: d(loss at the look-ahead weights)/d(what the objective depends on), against finite differences."""
    gen = torch.Generator().manual_seed(1)
    w0 = torch.randn(4, dtype=torch.float64, generator=gen, requires_grad=True)

    def final_loss(a: torch.Tensor) -> torch.Tensor:
        # D's weights w chase the target a (as D chases G's samples); G's loss depends on where w ends
        state = AdamState([torch.zeros(4, dtype=torch.float64)], [torch.full((4,), 0.5, dtype=torch.float64)], 3)
        (w,) = look_ahead(lambda i, ps: ((ps[0] - a) ** 2).sum() * (i + 1), [w0], state, 4, 0.1, (0.5, 0.9), 1e-8)
        return (w * a.sin()).sum()

    a = torch.randn(4, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(final_loss, (a,))


def _tiny(activation: str = "tanh"):
    torch.set_default_dtype(torch.float64)  # finite differences need float64; restored by the fixture below
    return init_models(0, lambda: mlp.MLPGenerator(width=8, depth=1, activation=activation),
                       lambda: mlp.MLPDiscriminator(width=8, depth=1, activation=activation))


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    yield
    torch.set_default_dtype(old)


def _config(order: int, loss: str, k: int = 3) -> TrainConfig:
    return TrainConfig(steps=1, batch_size=6, unrolled_steps=k, unroll_order=order, loss=loss, lr_d=1e-2,
                       progress=False)


def _g_loss_and_grad(G, D, opt_d, x, z, config):
    G = copy.deepcopy(G)
    stats = unrolled_g_step(G, D, torch.optim.SGD(G.parameters(), lr=0.0), opt_d, z, lambda: (x, z), config)
    return stats, [p.grad.clone() for p in G.parameters()]


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_second_order_gradient_equals_finite_differences(float64, loss):
    G, D = _tiny()
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)
    d_step(G, D, opt_d, torch.randn(6, 2, generator=gen), torch.randn(6, 2, generator=gen), _config(1, loss))
    opt_d.zero_grad(set_to_none=True)
    x, z = torch.randn(6, 2, generator=gen), torch.randn(6, 2, generator=gen)
    d_before = [p.detach().clone() for p in D.parameters()]
    opt_before = copy.deepcopy(opt_d.state_dict())
    stats, grads = _g_loss_and_grad(G, D, opt_d, x, z, _config(2, loss))
    assert all(p.grad is None for p in D.parameters())  # D's weight gradients were not even computed
    _, first_order = _g_loss_and_grad(G, D, opt_d, x, z, _config(1, loss))

    h, errors, gaps = 1e-6, [], []
    for i, p in enumerate(G.parameters()):
        numeric = torch.zeros_like(p)
        for j in range(p.numel()):
            for sign in (1, -1):
                G_h = copy.deepcopy(G)
                with torch.no_grad():
                    list(G_h.parameters())[i].view(-1)[j] += sign * h
                loss_h = _g_loss_and_grad(G_h, D, opt_d, x, z, _config(2, loss))[0].g_loss
                numeric.view(-1)[j] += sign * loss_h / (2 * h)
        errors.append(float((grads[i] - numeric).abs().max()))
        gaps.append(float((first_order[i] - numeric).norm() / numeric.norm()))
    assert max(errors) < 1e-7, errors
    # the second-order terms are not negligible here: the first-order gradient is off by more than rounding
    assert max(gaps) > 1e-3, gaps
    # D and its optimizer are as they were
    assert all(torch.equal(a, b) for a, b in zip(d_before, D.parameters(), strict=True))
    for key, state in opt_d.state_dict()["state"].items():
        for name, value in state.items():
            assert torch.equal(value, opt_before["state"][key][name]), name


def test_second_order_loss_is_the_first_order_loss_on_the_same_batches(float64):
    """Same look-ahead D (k Adam steps on one batch), so the same loss value; only the gradient differs."""
    G, D = _tiny(activation="relu")
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(2)
    d_step(G, D, opt_d, torch.randn(6, 2, generator=gen), torch.randn(6, 2, generator=gen), _config(1, "minimax"))
    x, z = torch.randn(6, 2, generator=gen), torch.randn(6, 2, generator=gen)
    first, _ = _g_loss_and_grad(G, D, opt_d, x, z, _config(1, "non_saturating", k=4))
    second, grads = _g_loss_and_grad(G, D, opt_d, x, z, _config(2, "non_saturating", k=4))
    assert_close(second.g_loss, first.g_loss)
    assert all(torch.isfinite(g).all() for g in grads)  # dead ReLUs give zero second moments: no NaN


def test_second_order_leaves_a_batch_norm_ds_statistics_alone():
    G, D = init_models(0, lambda: mlp.MLPGenerator(width=8, depth=1),
                       lambda: mlp.MLPDiscriminator(width=8, depth=1))
    G_bn = mlp.MLPGenerator(width=8, depth=1, norm="batch")
    running = G_bn.net[1].running_mean.clone()
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2)
    stats = unrolled_g_step(G_bn, D, torch.optim.Adam(G_bn.parameters()), opt_d, torch.randn(8, 2),
                            lambda: (torch.randn(8, 2), torch.randn(8, 2)), _config(2, "non_saturating"))
    assert torch.isfinite(stats.g_loss)
    assert not torch.equal(G_bn.net[1].running_mean, running)  # G ran forward once in train mode, as in g_step


def test_unroll_order_is_validated():
    with pytest.raises(ValueError, match="unroll_order must be 1"):
        TrainConfig(unroll_order=3)
    with pytest.raises(ValueError, match="unroll_order must be 1"):
        TrainConfig(unroll_order=True)
    with pytest.raises(ValueError, match="does not combine with"):
        TrainConfig(unrolled_steps=5, unroll_order=2, gp_weight=10.0)
    with pytest.raises(ValueError, match="does not combine with"):
        TrainConfig(unrolled_steps=5, unroll_order=2, clip_value=0.01)
    assert TrainConfig(unrolled_steps=5, unroll_order=2).unroll_order == 2


def test_a_checkpoint_written_before_unroll_order_existed_resumes_as_first_order(tmp_path):
    from gancourse import datasets
    from gancourse.training import train
    from gancourse.training.checkpoint import load_checkpoint, save_checkpoint

    make = (lambda: mlp.MLPGenerator(width=8, depth=1), lambda: mlp.MLPDiscriminator(width=8, depth=1))
    config = TrainConfig(steps=2, batch_size=8, unrolled_steps=2, checkpoint_every=2,
                         checkpoint_path=tmp_path / "run.pt", progress=False)
    train(*init_models(0, *make), datasets.ring().sample, config, device="cpu")
    state = load_checkpoint(tmp_path / "run.pt")
    del state["config"]["unroll_order"]  # as an older version of the package wrote it
    save_checkpoint(tmp_path / "old.pt", state)
    longer = TrainConfig(**{**config.to_dict(), "steps": 3})
    assert train(*init_models(0, *make), datasets.ring().sample, longer, resume_from=tmp_path / "old.pt",
                 device="cpu").steps == 3
    with pytest.raises(ValueError, match="unroll_order"):  # a second-order run cannot continue a first-order one
        train(*init_models(0, *make), datasets.ring().sample, TrainConfig(**{**longer.to_dict(), "unroll_order": 2}),
              resume_from=tmp_path / "old.pt", device="cpu")
