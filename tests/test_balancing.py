"""Letting the strong network wait: the loop equals train() when nobody waits, and a naive loop when they do."""

import copy
import dataclasses

import pytest
import torch
from script_loader import load_script

from gancourse import datasets
from gancourse.losses import d_minimax_loss, g_non_saturating_loss
from gancourse.models import mlp
from gancourse.training import TrainConfig, TrainingDiverged, balancing, train
from gancourse.training.balancing import WAIT_KEYS, train_waiting
from gancourse.training.seeds import init_models, stacked_models

RING = datasets.ring()
make_G = lambda: mlp.MLPGenerator(z_dim=4, width=16, depth=2)  # noqa: E731
make_D = lambda: mlp.MLPDiscriminator(width=16, depth=2)  # noqa: E731


def _config(**fields):
    return TrainConfig(**{"steps": 30, "batch_size": 32, "lr_d": 1e-3, "lr_g": 1e-3, "log_every": 10,
                          "progress": False, **fields})


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("n_critic", [1, 2])
def test_nobody_waits_without_thresholds_and_the_run_equals_train(n_critic):
    config = _config(n_critic=n_critic)
    G1, D1 = stacked_models([3, 4], make_G, make_D)
    G2, D2 = copy.deepcopy(G1), copy.deepcopy(D1)
    ours = train_waiting(G1, D1, RING.sample, config, seeds=[3, 4], device="cpu")
    theirs = train(G2, D2, RING.sample, config, seeds=[3, 4], device="cpu")
    torch.testing.assert_close(_weights(ours.G), _weights(theirs.G), rtol=0, atol=0)
    torch.testing.assert_close(_weights(ours.D), _weights(theirs.D), rtol=0, atol=0)
    for key in theirs.history.keys:
        torch.testing.assert_close(ours.history[key], theirs.history[key], rtol=0, atol=0)
    for key in WAIT_KEYS:
        assert (ours.history[key] == 0).all()
    # thresholds below any loss change nothing either
    G3, D3 = stacked_models([3, 4], make_G, make_D)
    never = train_waiting(G3, D3, RING.sample, config, d_wait_below=-1.0, g_wait_below=-1.0, seeds=[3, 4],
                          device="cpu")
    torch.testing.assert_close(_weights(never.G), _weights(theirs.G), rtol=0, atol=0)


def test_a_player_that_always_waits_never_moves():
    G, D = init_models(0, make_G, make_D)
    D_before = copy.deepcopy(D)
    result = train_waiting(G, D, RING.sample, _config(), d_wait_below=float("inf"), device="cpu")
    torch.testing.assert_close(_weights(result.D), _weights(D_before), rtol=0, atol=0)
    assert all((v == 0).all() for state in result.opt_d.state.values() for k, v in state.items()
               if k != "step" and isinstance(v, torch.Tensor))  # Adam's moments never left zero
    assert (result.history["d_waited"] == 1).all() and (result.history["g_waited"] == 0).all()
    assert not torch.equal(_weights(result.G), _weights(init_models(0, make_G, make_D)[0]))  # G still learnt


def _naive_waiting(G, D, config, d_wait_below, g_wait_below, seed):
    """The rule written the obvious way: look at the loss first, step only if the player is behind."""
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas)
    g = torch.Generator().manual_seed(seed)
    waited = []
    for _ in range(config.steps):
        x_real = RING.sample(config.batch_size, g)
        z = torch.randn(config.batch_size, G.z_dim, generator=g)
        real_logits, fake_logits = D(torch.cat([x_real, G(z).detach()])).split(config.batch_size)
        d_loss = d_minimax_loss(real_logits, fake_logits)
        d_waits = d_loss.item() < d_wait_below
        if not d_waits:
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
        z = torch.randn(config.batch_size, G.z_dim, generator=g)
        g_loss = g_non_saturating_loss(D(G(z)))
        g_waits = g_loss.item() < g_wait_below
        if not g_waits:
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
        waited.append((d_waits, g_waits))
    return waited


def test_waiting_matches_a_naive_loop_that_checks_the_loss_before_stepping():
    config = _config(steps=60, lr_d=3e-3, lr_g=3e-3)
    G, D = init_models(1, make_G, make_D)
    G_naive, D_naive = copy.deepcopy(G), copy.deepcopy(D)
    d_wait, g_wait = 1.30, 0.70  # near the equilibrium values 1.386 and 0.693: both rules fire now and then
    ours = train_waiting(G, D, RING.sample, config, d_wait_below=d_wait, g_wait_below=g_wait, device="cpu")
    waited = _naive_waiting(G_naive, D_naive, config, d_wait, g_wait, seed=config.seed)
    d_waited = ours.history["d_waited"].bool().tolist()
    g_waited = ours.history["g_waited"].bool().tolist()
    assert d_waited == [d for d, _ in waited] and g_waited == [g for _, g in waited]
    assert 0 < sum(d_waited) < len(d_waited) and 0 < sum(g_waited) < len(g_waited)  # the test exercises both
    torch.testing.assert_close(_weights(ours.G), _weights(G_naive), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(_weights(ours.D), _weights(D_naive), rtol=1e-4, atol=1e-5)


def test_stacked_seeds_wait_one_by_one():
    new = [torch.arange(6.0).reshape(2, 3), torch.arange(4.0), torch.tensor(5.0)]  # (S, ...), (S*F,), shared
    old = [torch.zeros(2, 3), torch.zeros(4), torch.tensor(4.0)]
    balancing._keep_where_waiting(new, old, torch.tensor([True, False]))
    assert new[0].tolist() == [[0, 0, 0], [3, 4, 5]]
    assert new[1].tolist() == [0, 0, 2, 3]  # seed-major blocks of 2
    assert new[2].item() == 5.0  # a shared counter keeps the new value unless every seed waits
    balancing._keep_where_waiting(new, old, torch.tensor([True, True]))
    assert new[2].item() == 4.0 and (new[0] == 0).all()


def test_bad_settings_are_refused_and_divergence_stops_the_run():
    G, D = init_models(0, make_G, make_D)
    with pytest.raises(ValueError, match="does not support TrainConfig.unrolled_steps"):
        train_waiting(G, D, RING.sample, _config(unrolled_steps=2), device="cpu")
    with pytest.raises(ValueError, match="d_wait_below must be a number"):
        train_waiting(G, D, RING.sample, _config(), d_wait_below="0.5", device="cpu")
    with pytest.raises(ValueError, match="one seed per stacked model"):
        train_waiting(G, D, RING.sample, _config(), seeds=[0, 1], device="cpu")
    with torch.no_grad():
        next(D.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="D's loss"):
        train_waiting(G, D, RING.sample, dataclasses.replace(_config(), steps=5, log_every=5), device="cpu")


def test_a_waiting_run_in_chunks_equals_one_uninterrupted_run_and_checks_its_data_as_train_does():
    """WaitingRun is the engine's loop (training.Run): chunked runs, input checks and the rest come with it."""
    config = _config(n_critic=2)
    G1, D1 = stacked_models([3, 4], make_G, make_D)
    G2, D2 = copy.deepcopy(G1), copy.deepcopy(D1)
    whole = train_waiting(G1, D1, RING.sample, config, d_wait_below=1.39, g_wait_below=0.7, seeds=[3, 4],
                          device="cpu")
    run = balancing.WaitingRun(G2, D2, RING.sample, config, d_wait_below=1.39, g_wait_below=0.7, seeds=[3, 4],
                               device="cpu")
    for chunk in (7, 13, 10):
        run.advance(chunk)
    run.close()
    chunked = run.result()
    assert 0 < float(whole.history["d_waited"].mean()) < 1  # D waited at some steps, not all
    for key in whole.history.keys:
        torch.testing.assert_close(chunked.history[key], whole.history[key], rtol=0, atol=0)
    torch.testing.assert_close(_weights(chunked.G), _weights(whole.G), rtol=0, atol=0)
    data = RING.sample(256, torch.Generator().manual_seed(0))
    data[5, 0] = float("nan")
    G, D = init_models(0, make_G, make_D)
    with pytest.raises(ValueError, match="NaN"):
        train_waiting(G, D, data, config, d_wait_below=1.0, device="cpu")


def test_the_callback_gets_the_step_the_history_and_both_models_at_each_flush():
    G, D = init_models(0, make_G, make_D)
    calls = []
    result = train_waiting(G, D, RING.sample, _config(steps=25), g_wait_below=0.5, device="cpu",
                           callback=lambda step, history, G_, D_: calls.append((step, len(history), G_, D_)))
    assert [(step, rows) for step, rows, _, _ in calls] == [(10, 10), (20, 20), (25, 25)]  # log_every=10, and the end
    assert all(G_ is result.G and D_ is result.D for _, _, G_, D_ in calls)


def test_recipes_split_into_config_fields_and_the_function_that_trains():
    fields, trainer = balancing.recipe_trainer(balancing.IMAGE_RECIPES["k = 5 D steps"])
    assert fields == {"n_critic": 5} and trainer is train
    fields, trainer = balancing.recipe_trainer({"lr_d": 4e-4, "g_wait_below": 0.5})
    assert fields == {"lr_d": 4e-4} and trainer.func is train_waiting and trainer.keywords == {"g_wait_below": 0.5}
    with pytest.raises(ValueError, match=r"unknown recipe fields \['lr'\]"):
        balancing.recipe_trainer({"lr": 1e-3})
    ttur = balancing.IMAGE_RECIPES["TTUR (lr_d = 4 lr_g)"]
    assert ttur["lr_d"] == 4 * ttur["lr_g"] == 4e-4  # Heusel et al.'s DCGAN rates


def test_score_recipes_gives_every_recipe_the_same_start_and_its_own_training():
    from gancourse.metrics import FIDScorer
    from gancourse.metrics.scoring import score_recipes
    from gancourse.models.fashion_dcgan import fashion_dcgan

    g = torch.Generator().manual_seed(0)
    real = torch.nn.functional.avg_pool2d(torch.rand(200, 1, 28, 28, generator=g) * 2 - 1, 3, 1, 1)
    recipes = {"plain": {}, "k = 3": {"n_critic": 3}, "G waits": {"g_wait_below": 100.0}}

    def make_setup(seed, **fields):
        return fashion_dcgan(seed=seed, width=4, data=real, device="cpu", steps=4, **fields)

    runs = score_recipes(recipes, [5, 6], make_setup, FIDScorer(real[:100]), every=2, device="cpu",
                                   n_samples=50, n_fixed=4)
    assert list(runs) == list(recipes) and all([r.seed for r in rs] == [5, 6] for rs in runs.values())
    for i in range(2):  # step 0 is scored before training: the same initial G for every recipe
        fids = {name: float(rs[i].scores.fid[0]) for name, rs in runs.items()}
        assert len(set(fids.values())) == 1
        assert runs["plain"][i].scores.steps.tolist() == [0, 2, 4]
    assert runs["k = 3"][0].images_seen == 3 * runs["plain"][0].images_seen
    waited = runs["G waits"][0].result.history["g_waited"]
    assert waited.min() == 1  # G's loss is always below 100: G never moves
    assert "g_waited" not in runs["plain"][0].result.history
    G0 = make_setup(5).G
    torch.testing.assert_close(_weights(runs["G waits"][0].result.G), _weights(G0), rtol=0, atol=0)


def test_the_image_balancing_script_runs_at_a_tiny_scale_and_records(tmp_path, capsys):
    from gancourse import recorded

    script = load_script("benchmarks/balancing_images.py")
    rows = script.main(["--steps", "2", "--every", "1", "--seeds", "1", "--width", "4", "--n-fid", "20",
                        "--device", "cpu", "--record", "--record-dir", str(tmp_path)])
    assert [r["recipe"] for r in rows] == list(balancing.IMAGE_RECIPES) and all(len(r["fid"]) == 3 for r in rows)
    rec = recorded.load("balancing_images", directory=tmp_path)
    assert rec.rows == rows and rec.meta["settings"]["steps"] == 2
    printed = capsys.readouterr().out
    assert all(name in printed for name in balancing.IMAGE_RECIPES)
    from gancourse.metrics.scoring import recipe_table

    table = recipe_table(rows).splitlines()
    assert table[1].startswith("plain") and "64" in table[1].split()
    assert table[2].startswith("k = 5") and "320" in table[2].split()  # 5 batches of 64 per G step
