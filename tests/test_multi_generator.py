"""Multiple generators (MAD-GAN): the loss against a naive loop, sample j from generator j mod k (perturbation
tests), shared and separate bodies, stacking over seeds, and training end to end on 2-D data and the DCGAN."""

from __future__ import annotations

import math

import pytest
import torch
from test_seeds import assert_close_up_to_adam_on_zero_gradients
from torch import nn
from torch.testing import assert_close

from gancourse import datasets
from gancourse.losses import d_mad_gan_loss, g_mad_gan_loss, get_loss, p_real_mad_gan
from gancourse.models import dcgan, mlp
from gancourse.models.multi_generator import MultiGenerator, MultiMLPGenerator, generator_index, multi_dcgan_generator
from gancourse.training import TrainConfig, d_step, train, train_seeds
from gancourse.training.seeds import init_models

CPU = torch.device("cpu")


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"steps": 4, "batch_size": 12, "lr_d": 1e-3, "lr_g": 1e-3, "progress": False,
                          "log_every": 2, "loss": "mad_gan", **kw})


# ---------------------------------------------------------------- the loss


def naive_d_loss(real_logits, fake_logits):
    k = real_logits.shape[1] - 1
    real = [-math.log(torch.softmax(row, 0)[k].item()) for row in real_logits]
    fake = [-math.log(torch.softmax(row, 0)[j % k].item()) for j, row in enumerate(fake_logits)]
    return sum(real) / len(real) + sum(fake) / len(fake)


def test_d_loss_is_the_cross_entropy_of_real_as_class_k_and_fake_j_as_generator_j_mod_k():
    real, fake = torch.randn(6, 4), torch.randn(9, 4)  # k = 3 generators
    assert_close(d_mad_gan_loss(real, fake).item(), naive_d_loss(real, fake), rtol=1e-5, atol=1e-6)
    assert generator_index(9, 3).tolist() == [j % 3 for j in range(9)]  # the rule the loss assumes


def test_g_loss_asks_D_to_call_every_fake_real():
    fake = torch.randn(7, 5)
    naive = sum(-math.log(torch.softmax(row, 0)[4].item()) for row in fake) / 7
    assert_close(g_mad_gan_loss(fake).item(), naive, rtol=1e-5, atol=1e-6)
    assert_close(p_real_mad_gan(fake).squeeze(1), torch.softmax(fake, 1)[:, 4])


def test_per_seed_losses_are_each_seeds_own():
    real, fake = torch.randn(3, 6, 4), torch.randn(3, 6, 4)
    d, g = d_mad_gan_loss(real, fake, per_seed=True), g_mad_gan_loss(fake, per_seed=True)
    for s in range(3):
        assert_close(d[s], d_mad_gan_loss(real[s], fake[s]))
        assert_close(g[s], g_mad_gan_loss(fake[s]))


def test_the_loss_needs_k_plus_one_logits_and_no_packing():
    with pytest.raises(ValueError, match="out_dim = k \\+ 1"):
        d_mad_gan_loss(torch.randn(4, 1), torch.randn(4, 1))
    with pytest.raises(ValueError, match="pack must be 1"):
        TrainConfig(loss="mad_gan", pack=2)
    assert not get_loss("mad_gan").supports_label_smoothing


def test_d_step_records_the_probability_of_real_from_the_softmax():
    G, D = init_models(0, lambda: MultiMLPGenerator(3, width=8), lambda: mlp.MLPDiscriminator(width=8, out_dim=4))
    x_real, z = torch.randn(12, 2), torch.randn(12, 2)
    with torch.no_grad():
        expected_real = torch.softmax(D(x_real), 1)[:, 3].mean()
        expected_loss = d_mad_gan_loss(D(x_real), D(G(z)))
    stats = d_step(G, D, torch.optim.Adam(D.parameters()), x_real, z, cfg())
    assert_close(stats.d_real, expected_real)
    assert_close(stats.d_loss, expected_loss)


# ---------------------------------------------------------------- the generators


@pytest.mark.parametrize("shared_body", [True, False])
def test_changing_one_generator_changes_only_its_samples(shared_body):
    """Sample j comes from generator j mod k: perturb generator 1's own layers, only samples 1, 4, 7, ... move."""
    torch.manual_seed(0)
    G = MultiMLPGenerator(3, shared_body=shared_body, width=8, depth=2)
    z = torch.randn(9, 2)
    before = G(z)
    with torch.no_grad():
        last = G.heads[-1]  # StackedLinear over the 3 generators: slice 1 is generator 1
        last.bias[1] += 1.0
    moved = (G(z) - before).abs().sum(dim=1) > 0
    assert moved.tolist() == [j % 3 == 1 for j in range(9)]


def test_a_shared_body_is_shared_and_separate_bodies_are_not():
    torch.manual_seed(0)
    shared, separate = MultiMLPGenerator(3, True, width=8, depth=2), MultiMLPGenerator(3, False, width=8, depth=2)
    z = torch.randn(6, 2)
    before = shared(z)
    with torch.no_grad():
        shared.body[0].bias += 1.0  # the first hidden layer of the one body
    assert ((shared(z) - before).abs().sum(dim=1) > 0).all()
    assert sum(p.numel() for p in shared.parameters()) < sum(p.numel() for p in separate.parameters())
    assert len(shared.body) > 0 and len(separate.body) == 0


def test_separate_generators_are_mlps_written_out():
    """Generator i of the separate version computes relu layers then a linear output from its own weights."""
    torch.manual_seed(1)
    G = MultiMLPGenerator(2, shared_body=False, width=5, depth=1)
    z = torch.randn(6, 2)
    hidden, out = G.heads[0], G.heads[2]
    for i in range(2):
        h = torch.relu(z[i::2] @ hidden.weight[i] + hidden.bias[i])
        assert_close(G(z)[i::2], h @ out.weight[i] + out.bias[i])


def test_batches_that_are_not_a_multiple_of_k_are_cut_back():
    torch.manual_seed(0)
    G = MultiMLPGenerator(4, width=8, norm="batch").eval()
    z = torch.randn(8, 2)
    assert G(z[:7]).shape == (7, 2)
    assert_close(G(z[:7]), G(z)[:7])  # eval mode: each sample on its own
    with pytest.raises(ValueError, match=r"expects z of shape \(B, 2\)"):
        G(torch.randn(4, 3))


def test_stacked_multi_generators_compute_each_seeds_own_and_unstack_back():
    singles = [init_models(s, lambda: MultiMLPGenerator(3, width=6, norm="batch"), nn.Identity)[0] for s in range(4)]
    stacked = MultiMLPGenerator.stack(singles)
    z = torch.randn(4, 9, 2)
    out = stacked(z)  # train mode: batch norm per seed (body) or per generator (the rest)
    for s in range(4):
        assert_close(out[s], singles[s](z[s]))
        back = stacked.unstack(s)
        for a, b in zip(back.state_dict().values(), singles[s].state_dict().values(), strict=True):
            assert torch.equal(a, b)
    with pytest.raises(ValueError, match="different settings"):
        MultiMLPGenerator.stack([MultiMLPGenerator(3), MultiMLPGenerator(2)])


def test_train_seeds_with_multiple_generators_equals_separate_runs():
    # no batch norm here: a bias before batch norm gets a zero gradient, which Adam turns into +-lr steps of noise
    make_G = lambda: MultiMLPGenerator(3, width=8, depth=2)  # noqa: E731
    make_D = lambda: mlp.MLPDiscriminator(width=8, depth=2, out_dim=4)  # noqa: E731
    config, seeds = cfg(), [4, 9]
    batched = train_seeds(seeds, make_G, make_D, datasets.grid().sample, config, device=CPU)
    for i, s in enumerate(seeds):
        alone = train(*init_models(s, make_G, make_D), datasets.grid().sample,
                      TrainConfig(**{**config.to_dict(), "seed": s}), device=CPU)
        for a, b in zip(batched.G.unstack(i).parameters(), alone.G.parameters(), strict=True):
            assert_close_up_to_adam_on_zero_gradients(a, b, lr=config.lr_g)
        assert_close(batched.history["d_loss"][:, i], alone.history["d_loss"], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("shared_body", [True, False])
def test_dcgan_multi_generator_interleaves_its_generators_and_trains(shared_body):
    torch.manual_seed(0)
    G = multi_dcgan_generator(2, shared_body=shared_body, z_dim=8, width=4)
    assert isinstance(G, MultiGenerator) and G.n_generators == 2
    z = torch.randn(4, 8)
    before = G(z)
    assert before.shape == (4, 1, 28, 28)
    with torch.no_grad():
        last = G.heads[1][0] if shared_body else G.heads[1].net[-2]  # generator 1's last transposed conv
        last.bias += 0.5
    moved = (G(z) - before).flatten(1).abs().sum(1) > 0
    assert moved.tolist() == [False, True, False, True]
    D = dcgan.DCGANDiscriminator(width=4, out_dim=3)
    result = train(G, D, torch.rand(16, 1, 28, 28) * 2 - 1, cfg(steps=2, batch_size=4), device=CPU)
    assert torch.isfinite(result.history["d_loss"]).all()
    assert ((result.history["d_real"] > 0) & (result.history["d_real"] < 1)).all()


def test_multi_generator_is_a_loop_over_samples_written_out():
    """Sample j is heads[j mod k](body(z_j)), for any batch size (padded inside, cut back)."""
    torch.manual_seed(0)
    heads, body = [nn.Linear(3, 2) for _ in range(3)], nn.Linear(2, 3)
    G = MultiGenerator(heads, z_dim=2, body=body)
    for B in (2, 3, 5, 6):
        z = torch.randn(B, 2)
        with torch.no_grad():
            by_loop = torch.stack([heads[j % 3](body(z[j])) for j in range(B)])
        assert_close(G(z), by_loop)


def test_the_defaults_are_four_generators_sharing_three_hidden_layers_of_128():
    G = MultiMLPGenerator()
    linears = [m for m in G.body if isinstance(m, mlp.StackedLinear)]
    assert [(m.weight.shape[-2:]) for m in linears] == [(2, 128), (128, 128), (128, 128)]  # (in, out) per layer
    assert G.n_generators == 4 and len(G.heads) == 1 and G(torch.zeros(8, 2)).shape == (8, 2)


def test_stacking_keeps_the_dtype_and_one_seed_stays_stacked():
    singles = [init_models(s, lambda: MultiMLPGenerator(2, width=4), nn.Identity)[0].double() for s in range(2)]
    stacked = MultiMLPGenerator.stack(singles)
    assert all(p.dtype == torch.float64 for p in stacked.parameters())
    z = torch.randn(2, 4, 2, dtype=torch.float64)
    assert_close(stacked(z)[1], singles[1](z[1]))  # float64 all the way: no rounding through float32
    one = MultiMLPGenerator.stack(singles[:1])  # a stack of one seed is still a stack: z is (1, B, 2)
    assert one.stacked and one(z[:1]).shape == (1, 4, 2)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="n_generators must be an int >= 1"):
        MultiMLPGenerator(0)
    with pytest.raises(ValueError, match="depth must be an int >= 0"):
        MultiMLPGenerator(2, shared_body=False, depth=-1)
    with pytest.raises(ValueError, match="width must be an int >= 1"):
        MultiMLPGenerator(2, width=8.0)
    with pytest.raises(ValueError, match="n_generators must be an int >= 1, got True"):
        MultiMLPGenerator(True)
    with pytest.raises(ValueError, match="shared_body needs depth >= 1"):
        MultiMLPGenerator(2, shared_body=True, depth=0)
    with pytest.raises(ValueError, match="n_generators must be an int >= 1"):
        multi_dcgan_generator(0)
