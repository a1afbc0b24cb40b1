"""Many seeds in one run: seed s of a batched run is the run of seed s alone, every option included."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.testing import assert_close

from gancourse import datasets, losses
from gancourse.models import mlp
from gancourse.training import TrainConfig, d_step, g_step, train, train_seeds
from gancourse.training.seeds import Randomness, grad_norm, init_models, n_models, per_seed_loss

CPU = torch.device("cpu")
SEEDS = [3, 5, 11]


def make_G():
    return mlp.MLPGenerator(width=16, depth=2)


def make_D():
    return mlp.MLPDiscriminator(width=16, depth=2)


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"steps": 6, "batch_size": 16, "lr_d": 1e-3, "lr_g": 1e-3, "progress": False,
                          "log_every": 3, **kw})


def test_init_models_is_seeded_and_leaves_the_global_generator_alone():
    state = torch.get_rng_state()
    G1, D1 = init_models(4, make_G, make_D)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(4)
    G2, D2 = make_G(), make_D()
    for a, b in zip([*G1.parameters(), *D1.parameters()], [*G2.parameters(), *D2.parameters()], strict=True):
        assert torch.equal(a, b)
    G3, _ = init_models(5, make_G, make_D)
    assert not torch.equal(next(G3.parameters()), next(G1.parameters()))


@pytest.mark.parametrize("source", ["mixture", "sampler", "tensor"])
def test_each_seed_draws_the_numbers_of_a_run_with_that_seed_alone(source):
    # a Mixture draws every seed's batch in one call; any other sampler is called once per seed
    data = {"mixture": datasets.ring().sample, "sampler": lambda n, g: datasets.ring().sample(n, g),
            "tensor": torch.randn(100, 2)}[source]
    together, alone = Randomness(SEEDS, CPU), [Randomness([s], CPU) for s in SEEDS]
    for _ in range(2):  # the streams stay aligned over successive draws
        real, z = together.real(data, 10), together.z(10, 4)
        noisy, eps = together.add_noise(real, 0.5), together.uniform((10, 1))
        assert real.shape == (3, 10, 2) and z.shape == (3, 10, 4) and eps.shape == (3, 10, 1)
        for s, rng in enumerate(alone):
            real_s = rng.real(data, 10)
            assert torch.equal(real[s], real_s)
            assert torch.equal(z[s], rng.z(10, 4))
            assert torch.equal(noisy[s], rng.add_noise(real_s, 0.5))
            assert torch.equal(eps[s], rng.uniform((10, 1)))
    assert not torch.equal(real[0], real[1])


def test_randomness_rejects_bad_seeds_and_foreign_checkpoints():
    with pytest.raises(ValueError, match="non-negative ints"):
        Randomness([1, -2], CPU)
    rng = Randomness([1, 2], CPU)
    with pytest.raises(ValueError, match=r"seeds \[1, 3\]"):
        rng.load_state_dict(Randomness([1, 3], CPU).state_dict())


def test_per_seed_loss_and_grad_norm_equal_a_loop_over_seeds():
    real, fake = torch.randn(3, 8, 1), torch.randn(3, 8, 1)
    d_minimax = losses.get_loss("minimax").d
    assert_close(per_seed_loss(d_minimax, 3, real, fake, real_label=0.9),
                 torch.stack([d_minimax(real[s], fake[s], real_label=0.9) for s in range(3)]))
    singles = [init_models(s, make_G, make_D)[0] for s in SEEDS]
    stacked = mlp.MLPGenerator.stack(singles)
    z = torch.randn(3, 8, 2)
    stacked(z).square().sum().backward()
    for s, G in enumerate(singles):
        G(z[s]).square().sum().backward()
    expected = torch.stack([torch.cat([p.grad.flatten() for p in G.parameters()]).norm() for G in singles])
    assert_close(grad_norm(list(stacked.parameters()), 3), expected)
    assert_close(grad_norm(list(singles[0].parameters())), expected[0])


def assert_close_up_to_adam_on_zero_gradients(a, b, lr):
    """Equal to float rounding, except where Adam turned a rounding-sized gradient into a step.

    Some gradients are exactly 0 in exact arithmetic: with the Wasserstein loss, the bias of a
    unit that all samples cross in the same linear piece gets ``+c`` from every fake and ``-c``
    from every real sample. Summed in another order (the batched run's), the 0 comes out as
    1e-9, and Adam, which divides by sqrt(v), moves that bias by about ``lr``; what D computes
    then shifts by as much. A wrong batch, ``z``, noise or penalty for a seed moves values
    by far more (tenths), and moves most elements, not a few.
    """
    far = ~torch.isclose(a, b, rtol=1e-4, atol=1e-5)
    assert far.sum() <= max(2, 0.05 * far.numel()), f"{int(far.sum())} of {far.numel()} elements differ"
    assert_close(a, b, rtol=0, atol=3 * lr)


def test_batched_steps_equal_separate_steps_on_the_same_batches():
    """(a) One step of the stacked models = one step of each seed's own models, for D and G, with R1 and GP."""
    config = cfg(loss="non_saturating", label_smoothing=0.1, r1_weight=1.0, gp_weight=10.0)
    pairs = [init_models(s, make_G, make_D) for s in SEEDS]
    G, D = mlp.MLPGenerator.stack([g for g, _ in pairs]), mlp.MLPDiscriminator.stack([d for _, d in pairs])
    opt_g, opt_d = torch.optim.Adam(G.parameters(), lr=1e-2), torch.optim.Adam(D.parameters(), lr=1e-2)
    opts = [(torch.optim.Adam(g.parameters(), lr=1e-2), torch.optim.Adam(d.parameters(), lr=1e-2)) for g, d in pairs]
    gen = torch.Generator().manual_seed(0)
    rng, alone = Randomness(SEEDS, CPU), [Randomness([s], CPU) for s in SEEDS]  # the GP's eps, per seed
    for _ in range(3):
        x_real, z_d, z_g = torch.randn(3, 16, 2, generator=gen), torch.randn(3, 16, 2, generator=gen), \
            torch.randn(3, 16, 2, generator=gen)
        d_stats, g_stats = d_step(G, D, opt_d, x_real, z_d, config, rng), g_step(G, D, opt_g, z_g, config, rng)
        for s, ((G_s, D_s), (opt_g_s, opt_d_s)) in enumerate(zip(pairs, opts, strict=True)):
            d_s = d_step(G_s, D_s, opt_d_s, x_real[s], z_d[s], config, alone[s])
            g_s = g_step(G_s, D_s, opt_g_s, z_g[s], config, alone[s])
            for a, b in zip([*d_stats, *g_stats], [*d_s, *g_s], strict=True):
                assert_close(a[s], b)
    for s, (G_s, D_s) in enumerate(pairs):
        for a, b in zip([*G.unstack(s).parameters(), *D.unstack(s).parameters()],
                        [*G_s.parameters(), *D_s.parameters()], strict=True):
            assert_close_up_to_adam_on_zero_gradients(a, b, lr=1e-2)


def test_batched_steps_with_packing_equal_separate_steps():
    """PacGAN with stacked seeds: seed s's packs are its own samples, as in a run of seed s alone."""
    config = cfg(pack=2, instance_noise=0.1)
    make_packed_D = lambda: mlp.MLPDiscriminator(width=16, depth=2, pack=2)  # noqa: E731
    pairs = [init_models(s, make_G, make_packed_D) for s in SEEDS]
    G, D = mlp.MLPGenerator.stack([g for g, _ in pairs]), mlp.MLPDiscriminator.stack([d for _, d in pairs])
    opt_g, opt_d = torch.optim.Adam(G.parameters(), lr=1e-2), torch.optim.Adam(D.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(1)
    x_real, z_d, z_g = (torch.randn(3, 16, 2, generator=gen) for _ in range(3))
    rng = Randomness(SEEDS, CPU)
    d_stats = d_step(G, D, opt_d, x_real, z_d, config, rng, noise_std=0.1)
    g_stats = g_step(G, D, opt_g, z_g, config, rng, noise_std=0.1)
    for s, (G_s, D_s) in enumerate(pairs):
        alone = Randomness([SEEDS[s]], CPU)
        d_s = d_step(G_s, D_s, torch.optim.Adam(D_s.parameters(), lr=1e-2), x_real[s], z_d[s], config, alone, 0.1)
        g_s = g_step(G_s, D_s, torch.optim.Adam(G_s.parameters(), lr=1e-2), z_g[s], config, alone, 0.1)
        for a, b in zip([*d_stats, *g_stats], [*d_s, *g_s], strict=True):
            assert_close(a[s], b)


@pytest.mark.parametrize("options", [
    {"n_critic": 2, "instance_noise": 0.2, "r1_weight": 1.0, "unrolled_steps": 1},
    # the second-order unrolled step: differentiable Adam steps of each seed's D, each seed's gradient its own
    {"unrolled_steps": 2, "unroll_order": 2, "instance_noise": 0.1, "label_smoothing": 0.1, "loss": "minimax"},
    # WGAN-GP: each seed's interpolation weights come from its own generator, as in a separate run
    {"loss": "wasserstein", "gp_weight": 10.0, "n_critic": 3, "betas": (0.5, 0.9), "instance_noise": 0.1},
], ids=["noise-r1-unrolled", "second-order-unrolled", "wgan-gp"])
def test_train_seeds_equals_separate_runs_of_each_seed(options):
    """(a) End to end: seed s of train_seeds has the weights and history of train(config.seed=s) alone."""
    config = cfg(**options)
    batched = train_seeds(SEEDS, make_G, make_D, datasets.ring().sample, config, device=CPU)
    assert batched.history["g_loss"].shape == (6, 3)
    for i, s in enumerate(SEEDS):
        alone = train(*init_models(s, make_G, make_D), datasets.ring().sample,
                      TrainConfig(**{**config.to_dict(), "seed": s}), device=CPU)
        for a, b in zip(batched.G.unstack(i).parameters(), alone.G.parameters(), strict=True):
            assert_close_up_to_adam_on_zero_gradients(a, b, lr=config.lr_g)
        for a, b in zip(batched.D.unstack(i).parameters(), alone.D.parameters(), strict=True):
            assert_close_up_to_adam_on_zero_gradients(a, b, lr=config.lr_d)
        for key in alone.history.keys:  # once one of D's biases is off by ~lr, every later record is off a little
            assert_close(batched.history[key][:, i], alone.history[key], rtol=1e-3, atol=3 * config.lr_d)


def test_train_seeds_checks_its_input():
    with pytest.raises(ValueError, match="distinct"):
        train_seeds([1, 1], make_G, make_D, datasets.ring().sample, cfg())
    with pytest.raises(ValueError, match="cannot be stacked"):
        train_seeds([1, 2], lambda: torch.nn.Linear(2, 2), make_D, datasets.ring().sample, cfg())
    G, D = init_models(0, make_G, make_D)
    with pytest.raises(ValueError, match="G holds 1 seeds but D holds 2"):
        train(G, mlp.MLPDiscriminator.stack([D, copy.deepcopy(D)]), datasets.ring().sample, cfg(), device=CPU)


def test_grad_norm_counts_missing_gradients_as_zero_and_needs_seed_major_layouts():
    weight, bias = torch.nn.Parameter(torch.ones(3, 4)), torch.nn.Parameter(torch.ones(3))
    assert torch.equal(grad_norm([weight, bias]), torch.tensor(0.0))  # no backward yet
    assert torch.equal(grad_norm([weight, bias], 3), torch.zeros(3))
    weight.grad = torch.arange(12.0).view(3, 4)  # seed s owns row s; bias has no gradient
    assert_close(grad_norm([weight, bias], 3), torch.arange(12.0).view(3, 4).norm(dim=1))
    assert_close(grad_norm([weight, bias]), torch.arange(12.0).norm())
    odd = torch.nn.Parameter(torch.ones(5))
    odd.grad = torch.ones(5)
    with pytest.raises(ValueError, match="cannot be split into 3 seeds"):
        grad_norm([weight, odd], 3)
    on_meta = torch.nn.Parameter(torch.ones(2, device="meta"))
    assert grad_norm([on_meta], 2).device.type == "meta"  # the zeros live where the parameters do


def test_n_models_of_plain_and_stacked_modules():
    assert n_models(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)) == 1  # modules without n_models: one seed
    G = mlp.MLPGenerator.stack([make_G(), make_G()])
    assert n_models(G, mlp.MLPDiscriminator.stack([make_D(), make_D()])) == 2
    with pytest.raises(ValueError, match="G holds 2 seeds but D holds 1"):
        n_models(G, torch.nn.Linear(2, 1))


def test_randomness_takes_seed_zero_and_resumes_from_its_state():
    rng = Randomness([0, 7], CPU)
    first = rng.z(4, 2)
    assert torch.equal(first[0], torch.randn(4, 2, generator=torch.Generator().manual_seed(0)))
    state = rng.state_dict()
    expected = rng.z(4, 2)  # what comes next
    again = Randomness([0, 7], CPU)
    again.load_state_dict(state)
    assert torch.equal(again.z(4, 2), expected)
