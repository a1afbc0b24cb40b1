"""The training loop: every model x every loss runs, each fix does what it says, the steps match a hand-written
reference, n_critic counts, divergence is caught with a useful message, and the loop never syncs per step."""

from __future__ import annotations

import contextlib
import copy
import re

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from gancourse import datasets, losses
from gancourse.diagnostics.health import HealthMonitor
from gancourse.losses import ONE_GENERATOR_LOSSES
from gancourse.models import dcgan, mlp
from gancourse.models.minibatch import pack
from gancourse.training import TrainConfig, TrainingDiverged, d_step, g_step, train, unrolled_g_step
from gancourse.training.history import History
from gancourse.training.loop import _divergence
from gancourse.training.seeds import Randomness, init_models
from gancourse.training.steps import _autocast, _judge, judges_samples_alone

CPU = torch.device("cpu")


def tiny_mlp(pack_m: int = 1, seed: int = 0):
    return init_models(seed, lambda: mlp.MLPGenerator(width=16, depth=2),
                       lambda: mlp.MLPDiscriminator(width=16, depth=2, pack=pack_m))


def tiny_dcgan(pack_m: int = 1, norm: str = "batch"):
    return init_models(0, lambda: dcgan.DCGANGenerator(z_dim=8, width=4, norm=norm),
                       lambda: dcgan.DCGANDiscriminator(width=4, pack=pack_m, norm=norm))


def fake_images(n: int = 64) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"steps": 3, "batch_size": 8, "progress": False, "log_every": 2, "lr_d": 1e-3,
                          "lr_g": 1e-3, **kw})


def params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def assert_all_finite(history) -> None:
    for key in history.keys:
        assert torch.isfinite(history[key]).all(), key


# ---------------------------------------------------------------- smoke: every model x every loss


# MAD-GAN's loss needs k generators and a (k+1)-way D: tests/test_multi_generator.py trains it
@pytest.mark.parametrize("loss", ONE_GENERATOR_LOSSES)
@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_every_model_and_loss_trains(model, loss):
    G, D = tiny_mlp() if model == "mlp" else tiny_dcgan()
    data = datasets.ring().sample if model == "mlp" else fake_images()
    g0, d0 = params(G), params(D)
    result = train(G, D, data, cfg(loss=loss), device=CPU)
    assert len(result.history) == 3 and result.history.steps.tolist() == [0, 1, 2]
    assert_all_finite(result.history)
    # both networks moved, and D(x), D(G(z)) are probabilities
    assert any(not torch.equal(a, b) for a, b in zip(g0, result.G.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(d0, result.D.parameters(), strict=True))
    for key in ("d_real", "d_fake"):
        assert ((result.history[key] > 0) & (result.history[key] < 1)).all()


@pytest.mark.parametrize("options", [
    {"loss": "wasserstein", "gp_weight": 10.0, "n_critic": 2, "betas": (0.5, 0.9)},
    {"r1_weight": 1.0},
    {"instance_noise": 0.5, "instance_noise_anneal": 2},
    {"label_smoothing": 0.1},
    {"unrolled_steps": 2},
    {"amp": "bf16"},
    {"channels_last": False},
], ids=lambda o: ",".join(o))
def test_mlp_trains_with_each_fix(options):
    result = train(*tiny_mlp(), datasets.ring().sample, cfg(**options), device=CPU)
    assert len(result.history) == 3
    assert_all_finite(result.history)


def test_weight_clipping_keeps_every_weight_of_D_within_c():
    G, D = tiny_mlp()
    result = train(G, D, datasets.ring().sample, cfg(loss="wasserstein", clip_value=0.01), device=CPU)
    weights = torch.cat([p.detach().flatten() for p in result.D.parameters()])
    assert weights.max() <= 0.01 and weights.min() >= -0.01
    assert float(weights.abs().max()) == pytest.approx(0.01)  # the bound is reached: clipping acted


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_pack_feeds_D_packed_inputs(model):
    G, D = tiny_mlp(pack_m=2) if model == "mlp" else tiny_dcgan(pack_m=2, norm="none")
    data = datasets.ring().sample if model == "mlp" else fake_images()
    seen = []
    D.register_forward_pre_hook(lambda m, args: seen.append(tuple(args[0].shape)))
    train(G, D, data, cfg(pack=2, gp_weight=1.0), device=CPU)
    # batch_size (8) packs of 2 samples each; D's step judges the real and the fake packs in one pass (16)
    expected = (4,) if model == "mlp" else (2, 28, 28)
    assert seen and all(shape[0] in (8, 16) and shape[1:] == expected for shape in seen)


@pytest.mark.parametrize("D_options, passes", [
    ({}, [16, 8]),  # D judges each sample alone: real and fake in one pass, then G's step
    ({"minibatch_stddev": True}, [8, 8, 8]),  # a minibatch layer sees each batch on its own
], ids=["per-sample", "minibatch"])
def test_D_step_judges_real_and_fake_together_only_where_D_judges_samples_alone(D_options, passes):
    G, _ = tiny_mlp()
    D = mlp.MLPDiscriminator(width=16, depth=2, **D_options)
    seen = []
    D.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[0]))
    train(G, D, datasets.ring().sample, cfg(steps=2), device=CPU)
    assert seen == passes * 2
    assert not judges_samples_alone(tiny_dcgan(norm="batch")[1]) and judges_samples_alone(tiny_dcgan(norm="none")[1])


def test_one_pass_over_real_and_fake_gives_the_logits_of_two_passes():
    _, D = tiny_mlp()
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    real_logits, fake_logits = _judge(D, real, fake, batch_dims=1)
    assert_close(real_logits, D(real))
    assert_close(fake_logits, D(fake))


def test_n_critic_counts_D_steps():
    """Adam's step counters: D steps n_critic times per G step (unrolled look-ahead steps are undone)."""
    for n_critic, unrolled in [(1, 0), (3, 0), (2, 3)]:
        result = train(*tiny_mlp(), datasets.ring().sample, cfg(steps=4, n_critic=n_critic, unrolled_steps=unrolled),
                       device=CPU)
        d_steps = {float(s["step"]) for s in result.opt_d.state.values()}
        g_steps = {float(s["step"]) for s in result.opt_g.state.values()}
        assert d_steps == {4.0 * n_critic} and g_steps == {4.0}


# ---------------------------------------------------------------- the steps against hand-written references


def reference_d_objective(G, D, x_real, z, eps, real_label, gp_weight, r1_weight):
    """D's loss as the papers write it, computed naively."""
    x_fake = G(z).detach()
    real_logits, fake_logits = D(x_real), D(x_fake)
    loss = -(real_label * torch.log(torch.sigmoid(real_logits)) + (1 - real_label) * torch.log(
        1 - torch.sigmoid(real_logits))).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()
    x_hat = (eps * x_real + (1 - eps) * x_fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    gp = ((grad.norm(dim=1) - 1) ** 2).mean()
    x_r = x_real.clone().requires_grad_(True)
    (grad_r,) = torch.autograd.grad(D(x_r).sum(), x_r, create_graph=True)
    r1 = grad_r.square().sum(dim=1).mean()
    return loss, loss + gp_weight * gp + r1_weight / 2 * r1


def test_d_step_matches_the_written_out_objective():
    G, D = tiny_mlp()
    D_ref = copy.deepcopy(D)
    gen = torch.Generator().manual_seed(1)
    x_real, z = datasets.ring().sample(16, gen), torch.randn(16, 2, generator=gen)
    config = cfg(label_smoothing=0.1, gp_weight=10.0, r1_weight=2.0)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=config.betas)
    opt_ref = torch.optim.Adam(D_ref.parameters(), lr=1e-3, betas=config.betas)

    stats = d_step(G, D, opt_d, x_real, z, config, Randomness([7], CPU))  # the GP's eps come from seed 7
    eps = torch.rand(16, 1, generator=torch.Generator().manual_seed(7))
    loss, objective = reference_d_objective(G, D_ref, x_real, z, eps, 0.9, 10.0, 2.0)
    objective.backward()
    ref_norm = torch.cat([p.grad.flatten() for p in D_ref.parameters()]).norm()
    opt_ref.step()
    assert_close(stats.d_loss, loss.detach())  # the recorded loss leaves the penalties out
    assert_close(stats.d_grad_norm, ref_norm)  # ... but D's gradient includes lambda*GP and gamma/2*R1
    for p, q in zip(D.parameters(), D_ref.parameters(), strict=True):
        assert_close(p, q)


def test_d_step_records_D_of_x_before_the_update():
    G, D = tiny_mlp()
    x_real, z = torch.randn(8, 2), torch.randn(8, 2)
    with torch.no_grad():
        expected_real, expected_fake = torch.sigmoid(D(x_real)).mean(), torch.sigmoid(D(G(z))).mean()
    stats = d_step(G, D, torch.optim.Adam(D.parameters()), x_real, z, cfg())
    assert_close(stats.d_real, expected_real)
    assert_close(stats.d_fake, expected_fake)


@pytest.mark.parametrize("loss", ["minimax", "non_saturating", "wasserstein"])
def test_g_step_follows_the_gradient_of_G_loss_and_leaves_D_alone(loss):
    G, D = tiny_mlp()
    G_ref, d_before = copy.deepcopy(G), params(D)
    z = torch.randn(8, 2)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    stats = g_step(G, D, opt_g, z, cfg(loss=loss))
    g_loss = losses.get_loss(loss).g(D(G_ref(z)))
    grads = torch.autograd.grad(g_loss, list(G_ref.parameters()))
    assert_close(stats.g_loss, g_loss.detach())
    assert_close(stats.g_grad_norm, torch.cat([g.flatten() for g in grads]).norm())
    for g, p in zip(grads, G.parameters(), strict=True):
        assert_close(p.grad, g)
    assert all(torch.equal(a, b) for a, b in zip(d_before, D.parameters(), strict=True))
    assert all(p.grad is None for p in D.parameters())  # D's weight gradients were not even computed


def test_unrolled_g_step_steps_against_the_look_ahead_D_then_restores_it():
    G, D = tiny_mlp()
    config = cfg(unrolled_steps=3)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), lr=1e-2), torch.optim.Adam(D.parameters(), lr=1e-2)
    d_step(G, D, opt_d, torch.randn(8, 2), torch.randn(8, 2), config)  # give opt_d some state
    batches = [(torch.randn(8, 2), torch.randn(8, 2)) for _ in range(3)]
    z = torch.randn(8, 2)
    # reference: copies of everything, D advanced by hand, then an ordinary G step
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    opt_g_ref, opt_d_ref = torch.optim.Adam(G_ref.parameters(), lr=1e-2), torch.optim.Adam(D_ref.parameters(), lr=1e-2)
    opt_d_ref.load_state_dict(copy.deepcopy(opt_d.state_dict()))  # load_state_dict shares tensors
    for x_real, z_d in batches:
        d_step(G_ref, D_ref, opt_d_ref, x_real, z_d, config)
    g_step(G_ref, D_ref, opt_g_ref, z, config)

    d_before, opt_before = params(D), copy.deepcopy(opt_d.state_dict())
    it = iter(batches)
    unrolled_g_step(G, D, opt_g, opt_d, z, lambda: next(it), config)
    for p, q in zip(G.parameters(), G_ref.parameters(), strict=True):
        assert_close(p, q)
    assert all(torch.equal(a, b) for a, b in zip(d_before, D.parameters(), strict=True))
    for key, state in opt_d.state_dict()["state"].items():
        for name, value in state.items():
            assert torch.equal(value, opt_before["state"][key][name]), name
    assert not any(torch.equal(a, b) for a, b in zip(D.parameters(), D_ref.parameters(), strict=True))


def test_instance_noise_is_annealed_to_zero():
    seen = []
    G, D = tiny_mlp()
    D.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    x = torch.zeros(1000, 2)  # every real sample at the origin: what D sees on real data is the noise
    train(G, D, x, cfg(steps=4, batch_size=500, instance_noise=1.0, instance_noise_anneal=2), device=CPU)
    # per step: D(real and fake together) in the D step, D(fake) in the G step; the real half comes first
    real_inputs = [x[:500] for x in seen[0::2]]
    stds = [float(x.std()) for x in real_inputs]
    assert stds[0] == pytest.approx(1.0, abs=0.05) and stds[1] == pytest.approx(0.5, abs=0.03)
    assert stds[2] == 0.0 and stds[3] == 0.0


def test_instance_noise_reaches_the_fake_half_of_D_input_and_G_step_too():
    seen = []
    G, D = tiny_mlp()
    with torch.no_grad():  # G(z) = 0 exactly: whatever D sees of the fakes is the noise
        G.net[-1].weight.zero_()
        G.net[-1].bias.zero_()
    D.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    x = torch.zeros(1000, 2)
    train(G, D, x, cfg(steps=4, batch_size=500, instance_noise=1.0, instance_noise_anneal=2, lr_g=1e-12),
          device=CPU)
    d_step_inputs, g_step_inputs = seen[0::2], seen[1::2]  # (real; fake) together in D's step, fakes in G's
    fake_stds = [float(x[500:].std()) for x in d_step_inputs]
    g_stds = [float(x.std()) for x in g_step_inputs]
    for stds in (fake_stds, g_stds):  # the std anneals 1 -> 0.5 -> 0 -> 0 (G moved by at most 1e-9)
        assert stds[0] == pytest.approx(1.0, abs=0.05) and stds[1] == pytest.approx(0.5, abs=0.03)
        assert stds[2] < 1e-6 and stds[3] < 1e-6
    real_noise, fake_noise = d_step_inputs[0][:500], d_step_inputs[0][500:]
    assert abs(float(torch.corrcoef(torch.stack([real_noise[:, 0], fake_noise[:, 0]]))[0, 1])) < 0.15  # fresh draws


def _dtypes_seen(*modules):
    seen = []
    for m in modules:
        m.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    return seen


@pytest.mark.parametrize("amp, expected", [("bf16", torch.bfloat16), ("off", torch.float32), ("auto", torch.float32)])
def test_amp_bf16_runs_both_players_linear_layers_in_bfloat16(amp, expected):
    # on a CPU, "auto" means float32 (bf16 autocast only on CUDA)
    G, D = tiny_mlp()
    seen = _dtypes_seen(G.net[0], D.net[0])
    x_real, z = torch.randn(8, 2), torch.randn(8, 2)
    stats = d_step(G, D, torch.optim.Adam(D.parameters()), x_real, z, cfg(amp=amp))
    g_stats = g_step(G, D, torch.optim.Adam(G.parameters()), z, cfg(amp=amp))
    assert seen and set(seen) == {expected}
    assert stats.d_loss.dtype == g_stats.g_loss.dtype == torch.float32  # records stay float32
    seen.clear()
    train(G, D, datasets.ring().sample, cfg(steps=2, amp=amp), device=CPU)
    assert seen and set(seen) == {expected}


def test_amp_bf16_d_loss_is_the_loss_computed_under_autocast_by_hand():
    G, D = tiny_mlp()
    D_ref = copy.deepcopy(D)
    # fixed inputs: with unseeded ones the bf16 rounding below was sometimes under 1e-5 (a flaky test)
    x_real, z = torch.randn(2, 8, 2, generator=torch.Generator().manual_seed(5)).unbind(0)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        real_logits, fake_logits = D_ref(x_real).float(), D_ref(G(z)).float()
    by_hand = torch.nn.functional.softplus(-real_logits).mean() + torch.nn.functional.softplus(fake_logits).mean()
    with torch.no_grad():
        in_float32 = torch.nn.functional.softplus(-D_ref(x_real)).mean() + torch.nn.functional.softplus(
            D_ref(G(z))).mean()
    stats = d_step(G, D, torch.optim.Adam(D.parameters()), x_real, z, cfg(amp="bf16"))
    assert_close(stats.d_loss, by_hand, rtol=0, atol=2e-6)
    assert abs(float(in_float32 - by_hand)) > 1e-5  # bfloat16 rounding changes the number by more than that


@pytest.mark.parametrize("channels_last, expected", [(None, torch.channels_last), (True, torch.channels_last),
                                                     (False, torch.contiguous_format)])
def test_channels_last_puts_conv_weights_and_image_batches_in_that_format(channels_last, expected):
    G, D = tiny_dcgan()
    inputs = []
    D.register_forward_pre_hook(lambda m, args: inputs.append(args[0]))
    result = train(G, D, fake_images(), cfg(steps=1, channels_last=channels_last), device=CPU)
    conv_weights = [m.weight for m in result.D.modules() if isinstance(m, nn.Conv2d)]
    assert conv_weights and all(w.is_contiguous(memory_format=expected) for w in conv_weights)
    assert inputs[0].is_contiguous(memory_format=expected)
    if expected is torch.contiguous_format:
        assert not conv_weights[1].is_contiguous(memory_format=torch.channels_last)


def test_train_takes_the_seeds_it_is_given_and_checks_their_number():
    given = train(*tiny_mlp(), datasets.ring().sample, cfg(), device=CPU, seeds=[5])
    from_config = train(*tiny_mlp(), datasets.ring().sample, cfg(seed=5), device=CPU)
    other = train(*tiny_mlp(), datasets.ring().sample, cfg(seed=6), device=CPU)
    for key in given.history.keys:
        assert torch.equal(given.history[key], from_config.history[key]), key
    assert not torch.equal(given.history["d_loss"], other.history["d_loss"])
    with pytest.raises(ValueError, match="one seed per stacked model"):
        train(*tiny_mlp(), datasets.ring().sample, cfg(), device=CPU, seeds=[1, 2])


def test_z_dim_of_the_config_overrides_and_replaces_G_z_dim():
    z_seen = []
    G = nn.Sequential(nn.Linear(3, 2))  # no z_dim attribute
    G.register_forward_pre_hook(lambda m, args: z_seen.append(tuple(args[0].shape)))
    _, D = tiny_mlp()
    train(G, D, datasets.ring().sample, cfg(steps=1, z_dim=3), device=CPU)
    assert z_seen and set(z_seen) == {(8, 3)}
    with pytest.raises(ValueError, match="set TrainConfig.z_dim"):
        train(nn.Sequential(nn.Linear(3, 2)), D, datasets.ring().sample, cfg(steps=1), device=CPU)
    G5 = mlp.MLPGenerator(z_dim=5, width=8, depth=1)
    z_seen.clear()
    G5.register_forward_pre_hook(lambda m, args: z_seen.append(args[0].shape[-1]))
    train(G5, D, datasets.ring().sample, cfg(steps=1), device=CPU)
    assert set(z_seen) == {5}  # without the override, G's own z_dim


def test_autocast_choice_per_amp_mode_and_device():
    # "auto" means bf16 on CUDA only; the object is built, not entered, so no GPU is needed
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    with pytest.warns(UserWarning, match="CUDA is not available") if not torch.cuda.is_available() else \
            contextlib.nullcontext():
        on_cuda = _autocast("auto", cuda)
    assert isinstance(on_cuda, torch.autocast) and on_cuda.device == "cuda" and on_cuda.fast_dtype == torch.bfloat16
    bf16 = _autocast("bf16", cpu)
    assert isinstance(bf16, torch.autocast) and bf16.device == "cpu" and bf16.fast_dtype == torch.bfloat16
    for amp, device in (("auto", cpu), ("off", cpu), ("off", cuda)):
        assert not isinstance(_autocast(amp, device), torch.autocast), (amp, device)


def test_d_step_without_rng_draws_instance_noise_from_the_global_generator():
    G, D = tiny_mlp()
    with torch.no_grad():
        G.net[-1].weight.zero_()
        G.net[-1].bias.zero_()  # G(z) = 0: the fakes D sees are the noise alone
    seen = []
    D.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    x_real, z = torch.ones(8, 2), torch.randn(8, 2)
    torch.manual_seed(21)
    d_step(G, D, torch.optim.Adam(D.parameters()), x_real, z, cfg(), noise_std=0.5)
    torch.manual_seed(21)  # the same draws by hand: real noise first, then fake noise
    expected = torch.cat([x_real + 0.5 * torch.randn(8, 2), 0.5 * torch.randn(8, 2)])
    assert_close(seen[0], expected)


# ---------------------------------------------------------------- callback, divergence, host syncs


def test_callback_runs_at_every_flush_with_the_steps_done():
    calls = []
    train(*tiny_mlp(), datasets.ring().sample, cfg(steps=5, log_every=2), device=CPU,
          callback=lambda step, history, G, D: calls.append((step, len(history))))
    assert calls == [(2, 2), (4, 4), (5, 5)]


def test_huge_learning_rate_raises_training_diverged():
    G, D = tiny_mlp()
    with pytest.raises(TrainingDiverged, match=r"diverged at step \d+.*lower the learning rates") as info:
        train(G, D, datasets.ring().sample, cfg(steps=20, log_every=5, lr_d=1e30, lr_g=1e30), device=CPU)
    assert isinstance(info.value, FloatingPointError) and info.value.step < 20


class NaNAfter(nn.Module):
    """Wraps a net and makes its output NaN from the ``n``-th call on (only in grad mode, if asked)."""

    def __init__(self, net: nn.Module, n: int, only_with_grad: bool = False) -> None:
        super().__init__()
        self.net, self.n, self.only_with_grad, self.calls = net, n, only_with_grad, 0
        self.z_dim = getattr(net, "z_dim", None)

    def forward(self, x):
        out = self.net(x)
        if self.only_with_grad and not torch.is_grad_enabled():
            return out
        self.calls += 1
        return out * float("nan") if self.calls > self.n else out


def test_nan_in_D_is_reported_at_its_step_and_network():
    G, D = tiny_mlp()
    D = NaNAfter(D, n=2 * 3)  # D runs twice per step (real and fake together, then G's step): NaN from step 3 on
    with pytest.raises(TrainingDiverged, match=r"step 3: D's loss \(d_loss\).*network D") as info:
        train(G, D, datasets.ring().sample, cfg(steps=10, log_every=5), device=CPU)
    assert (info.value.step, info.value.key, info.value.network) == (3, "d_loss", "D")


def test_the_callback_sees_the_diverged_flush_before_training_diverged_is_raised():
    """A live HealthMonitor gets to print its "diverged" symptom: the callback runs, then the loop raises."""
    G, D = tiny_mlp()
    D = NaNAfter(D, n=2 * 3)  # NaN from step 3 on: the flush after step 5 holds it
    calls, monitor = [], HealthMonitor(window=4, osc_smooth=2, verbose=False)

    def callback(step, history, G, D):
        calls.append(step)
        monitor(step, history, G, D)

    with pytest.raises(TrainingDiverged) as info:
        train(G, D, datasets.ring().sample, cfg(steps=10, log_every=5), device=CPU, callback=callback)
    assert calls == [5]  # the diverged flush, and nothing after the raise
    assert [s.name for s in monitor.symptoms] == ["diverged"]
    assert monitor.symptoms[0].step == info.value.step == 3


def test_nan_in_G_step_is_reported_as_G():
    G, D = tiny_mlp()
    G = NaNAfter(G, n=2, only_with_grad=True)  # G's output is NaN in the G step of step 2
    with pytest.raises(TrainingDiverged, match=r"step 2: G's loss \(g_loss\).*network G") as info:
        train(G, D, datasets.ring().sample, cfg(steps=10, log_every=5), device=CPU)
    assert info.value.network == "G"


def test_the_loop_never_reads_a_tensor_on_the_host_between_flushes(monkeypatch):
    """Host reads (item, bool, float, int) happen per flush, not per step: 10 and 30 steps count the same."""
    reads = [0]

    def counting(original):
        def read(self, *args):
            reads[0] += 1
            return original(self, *args)
        return read

    counts = []
    for steps in (10, 30):
        reads[0] = 0
        for name in ("item", "__bool__", "__float__", "__int__"):
            monkeypatch.setattr(torch.Tensor, name, counting(getattr(torch.Tensor, name)))
        train(*tiny_mlp(), datasets.ring().sample, cfg(steps=steps, log_every=100), device=CPU)
        monkeypatch.undo()
        counts.append(reads[0])
    assert counts[0] == counts[1]


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize("field, value, message", [
    ("steps", 0, "steps must be an int >= 1"),
    ("batch_size", -1, "batch_size must be an int >= 1"),
    ("n_critic", 0, "n_critic must be an int >= 1"),
    ("lr_d", -1e-4, "lr_d must be a number > 0"),
    ("lr_g", 0.0, "lr_g must be a number > 0"),
    ("loss", "vanilla", "loss must be one of minimax, non_saturating, wasserstein, hinge, least_squares"),
    ("betas", (0.5, 1.0), "betas must be two numbers in"),
    ("unrolled_steps", -1, "unrolled_steps must be an int >= 0"),
    ("gp_weight", -10.0, "gp_weight must be a number >= 0"),
    ("clip_value", 0.0, "clip_value must be None"),
    ("label_smoothing", 1.0, "label_smoothing must be a number in"),
    ("pack", 0, "pack must be an int >= 1"),
    ("amp", "fp16", "amp must be one of off, bf16, auto"),
    ("checkpoint_every", 10, "checkpoint_every must be set together with checkpoint_path"),
    ("seed", -1, "seed must be an int >= 0"),
    ("steps", 2.5, "steps must be an int"),
])
def test_bad_config_values_raise_naming_the_field(field, value, message):
    with pytest.raises(ValueError, match=f"TrainConfig.{message}"):
        TrainConfig(**{field: value})


def test_label_smoothing_needs_a_loss_with_labels():
    with pytest.raises(ValueError, match="label_smoothing needs a loss with labels .minimax, non_saturating"):
        TrainConfig(loss="hinge", label_smoothing=0.1)
    assert TrainConfig(loss="minimax", label_smoothing=0.1).label_smoothing == 0.1


def test_pack_needs_a_D_built_for_packed_inputs():
    G, D = tiny_mlp(pack_m=1)
    with pytest.raises(ValueError, match=r"expects x of shape \(B, 2\), got \(\d+, 4\)"):  # D for single samples
        train(G, D, datasets.ring().sample, cfg(pack=2), device=CPU)
    assert pack(torch.zeros(8, 2), 2).shape == (4, 4)


def test_data_must_be_a_tensor_or_a_sampler():
    with pytest.raises(TypeError, match="sample_real"):
        train(*tiny_mlp(), [1, 2, 3], cfg(), device=CPU)


def _nan_history(key: str = "d_loss") -> History:
    rows = {k: torch.ones(4) for k in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm")}
    rows[key] = torch.tensor([1.0, 1.0, float("nan"), 1.0])
    return History.from_dict({**rows, "step": torch.arange(10, 14)})


@pytest.mark.parametrize("options, advice, not_advice", [
    ({"loss": "wasserstein"}, "constrain the wasserstein critic (gp_weight=10 or clip_value=0.01)", "float32"),
    ({"loss": "hinge"}, "constrain the hinge critic", "float32"),
    ({"loss": "wasserstein", "clip_value": 0.01}, "penalise D's gradients", "constrain"),
    ({"amp": "bf16"}, "train in float32 (amp='off')", "constrain"),
    ({"gp_weight": 10.0}, "lower the learning rates (lr_d=0.001, lr_g=0.001; try a tenth)", "penalise"),
])
def test_divergence_message_names_the_step_the_record_and_the_fixes_that_fit_the_config(options, advice, not_advice):
    error = _divergence(_nan_history(), 0, cfg(**options), [0])
    assert isinstance(error, TrainingDiverged) and (error.step, error.key, error.network) == (12, "d_loss", "D")
    assert "step 12: D's loss (d_loss) became nan" in str(error)
    fixes = re.split(r"; (?![^(]*\))", str(error).split("Try: ")[1].removesuffix("."))  # "; " outside brackets
    assert advice in fixes or any(f.startswith(advice) for f in fixes)
    assert not any(not_advice in f for f in fixes)
    assert _divergence(_nan_history(), 3, cfg(**options), [0]) is None  # rows from 3 on are finite


def test_progress_bar_only_when_asked(capsys):
    train(*tiny_mlp(), datasets.ring().sample, cfg(steps=2, progress=False), device=CPU)
    assert capsys.readouterr().err == ""
    train(*tiny_mlp(), datasets.ring().sample, cfg(steps=2, progress=True), device=CPU)
    shown = capsys.readouterr().err
    assert "training" in shown and "2/2" in shown and ("step/s" in shown or "s/step" in shown)
