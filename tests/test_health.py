"""The health monitor on runs that fail each way (small real runs where cheap) and on healthy ones.

Each test checks both sides: the symptom fires on the failing run and stays quiet on a healthy one.
The D-wins run goes through :func:`gancourse.training.train_seeds` with the monitor as its
callback. The run that diverges (the course's loop stops at the first NaN) and the Dirac-GAN are
written out here; they record what :func:`gancourse.training.train` records.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import datasets
from gancourse.diagnostics import mean_pairwise_distance
from gancourse.diagnostics.health import CHAPTERS, HealthMonitor, Symptom, explosion, explosion_message
from gancourse.losses import get_loss
from gancourse.models.mlp import MLPDiscriminator, MLPGenerator
from gancourse.training import TrainConfig, train_seeds
from gancourse.training.history import History


def _mlp(n_in, n_out, width=32):
    return nn.Sequential(nn.Linear(n_in, width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2),
                         nn.Linear(width, n_out))


def _train_ring(steps, lr, seed=0, batch=64):
    """A 2-D GAN on the 8-Gaussian ring with the non-saturating loss and Adam, recorded each step."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    G, D = _mlp(2, 2), _mlp(2, 1)
    opt_d = torch.optim.Adam(D.parameters(), lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr, betas=(0.5, 0.999))
    gan_loss, ring, history = get_loss("non_saturating"), datasets.ring(), History(flush_every=50)
    for step in range(steps):
        # (1) D step
        real_logits = D(ring.sample(batch, gen))
        fake_logits = D(G(torch.randn(batch, 2, generator=gen)).detach())
        d_loss = gan_loss.d(real_logits, fake_logits)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        # (2) G step
        g_loss = gan_loss.g(D(G(torch.randn(batch, 2, generator=gen))))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        history.record(step, d_loss=d_loss, g_loss=g_loss, d_real=torch.sigmoid(real_logits).mean(),
                       d_fake=torch.sigmoid(fake_logits).mean(),
                       d_grad_norm=torch.nn.utils.get_total_norm([p.grad for p in D.parameters()]),
                       g_grad_norm=torch.nn.utils.get_total_norm([p.grad for p in G.parameters()]))
    return history


def _dirac_gan(gamma, steps=400, lr=0.2):
    """Dirac-GAN (Mescheder et al. 2018), one seed per entry of ``gamma`` (its R1 weight), stacked.

    G is a point mass at theta, D(x) = psi * x, data at 0; minimax loss, alternating gradient steps.
    Unregularised (gamma = 0) it circles the equilibrium for ever; with R1 it converges.
    """
    gamma = torch.tensor(gamma)
    theta, psi = torch.ones_like(gamma), torch.ones_like(gamma)
    history = History(flush_every=100)
    for step in range(steps):
        fake_logits = psi * theta  # (S,); the real logit psi * 0 is 0
        d_loss = F.softplus(torch.zeros_like(psi)) + F.softplus(fake_logits)  # -log D(0) - log(1 - D(theta))
        d_grad = theta * torch.sigmoid(fake_logits) + gamma * psi  # d/dpsi of d_loss + gamma/2 psi^2
        psi = psi - lr * d_grad
        g_loss = -F.softplus(psi * theta)  # saturating: log(1 - D(theta))
        g_grad = -psi * torch.sigmoid(psi * theta)
        theta = theta - lr * g_grad
        history.record(step, d_loss=d_loss, g_loss=g_loss, d_real=torch.full_like(psi, 0.5),
                       d_fake=torch.sigmoid(fake_logits), d_grad_norm=d_grad.abs(), g_grad_norm=g_grad.abs())
    return history


def _healthy_history(steps=600, n_seeds=None, seed=0):
    """Synthetic records of a run near equilibrium: noisy flat losses, D unsure, steady gradient norms."""
    gen = torch.Generator().manual_seed(seed)
    shape = (steps,) if n_seeds is None else (steps, n_seeds)
    noise = lambda scale: scale * torch.randn(shape, generator=gen)
    return History.from_dict({
        "d_loss": 1.35 + noise(0.05), "g_loss": 0.72 + noise(0.08), "d_real": 0.52 + noise(0.02),
        "d_fake": 0.48 + noise(0.02), "d_grad_norm": 0.5 + noise(0.05).abs(), "g_grad_norm": 0.3 + noise(0.03).abs(),
    })


def _names(symptoms):
    return {s.name for s in symptoms}


@pytest.fixture(scope="module")
def strong_d_run():
    """Two seeds trained by the course's loop with the monitor as callback (chapter 02's failure).

    Saturating loss, 5 D steps per G step and a larger D learning rate: D becomes certain
    within a few dozen steps and G's gradient dies.
    """
    monitor = HealthMonitor(window=40)
    config = TrainConfig(steps=160, batch_size=64, loss="minimax", n_critic=5, lr_d=3e-3, lr_g=1e-4, log_every=40,
                         progress=False)
    result = train_seeds([0, 1], lambda: MLPGenerator(width=32, depth=2), lambda: MLPDiscriminator(width=32, depth=2),
                         datasets.ring().sample, config, callback=monitor, device="cpu")
    return result.history, monitor


def test_healthy_histories_stay_quiet():
    monitor = HealthMonitor(window=200)
    assert monitor.check(_healthy_history()) == []
    assert monitor.check(_healthy_history(n_seeds=4)) == []
    assert monitor.check(_dirac_gan([1.0, 2.0])) == []  # R1 converges: every check quiet


def test_d_wins_on_a_real_run_and_not_on_a_healthy_one(strong_d_run, capsys):
    history, monitor = strong_d_run
    assert history["d_real"].shape == (160, 2)
    d_wins = [s for s in monitor.symptoms if s.name == "d_wins"]
    assert len(d_wins) == 1 and d_wins[0].seeds == (0, 1) and d_wins[0].step < 160
    assert d_wins[0].chapter == CHAPTERS["d_wins"] == "02 vanishing gradients"
    assert "D wins" in d_wins[0].message and "chapter 02" in d_wins[0].message
    assert (history["d_real"][-40:].mean(0) >= 0.95).all() and (history["d_fake"][-40:].mean(0) <= 0.05).all()
    assert "d_wins" not in _names(HealthMonitor(window=40).check(_healthy_history()))


def test_d_wins_thresholds_on_both_sides():
    def history(d_real, d_fake, d_loss):
        n = 50
        return History.from_dict({"d_loss": torch.full((n,), d_loss), "g_loss": torch.full((n,), 3.0),
                                  "d_real": torch.full((n,), d_real), "d_fake": torch.full((n,), d_fake)})

    monitor = HealthMonitor(window=50, d_confidence=0.95, d_loss_max=0.2)
    assert _names(monitor.check(history(0.97, 0.03, 0.06))) == {"d_wins"}
    # the message gives the numbers it judged, D's loss only where the loss was judged
    (wins,) = monitor.check(history(0.97, 0.03, 0.06))
    assert "(D(x) = 0.970, D(G(z)) = 0.030, D loss = 0.06)" in wins.message and wins.seeds is None
    (wins,) = HealthMonitor(window=50, d_loss_max=None).check(history(0.97, 0.03, 0.06))
    assert "(D(x) = 0.970, D(G(z)) = 0.030)" in wins.message and "D loss" not in wins.message
    assert monitor.check(history(0.93, 0.03, 0.06)) == []  # D(x) not high enough
    assert monitor.check(history(0.97, 0.07, 0.06)) == []  # D(G(z)) not low enough
    assert monitor.check(history(0.97, 0.03, 0.3)) == []  # D's loss not near zero
    assert _names(HealthMonitor(window=50, d_loss_max=None).check(history(0.97, 0.03, 0.3))) == {"d_wins"}


def test_g_starves_on_a_real_run_and_not_at_an_equilibrium(strong_d_run):
    history, _ = strong_d_run
    grad = history["g_grad_norm"]
    assert (grad[-40:].median(0).values < 0.02 * grad[:4].median(0).values).all()  # the run really starved G...
    symptoms = [s for s in HealthMonitor(window=40).check(history) if s.name == "g_starves"]
    assert len(symptoms) == 1 and symptoms[0].seeds == (0, 1) and "chapter 02" in symptoms[0].message
    # ...but a 100-fold drop while D(G(z)) is about 1/2 is a converged G, not a starved one
    converged = _healthy_history(steps=100)
    decayed = History.from_dict({**converged.to_dict(), "g_grad_norm": torch.logspace(0, -3, 100)})
    assert "g_starves" not in _names(HealthMonitor(window=20).check(decayed))
    starved = History.from_dict({**decayed.to_dict(), "d_fake": torch.full((100,), 0.01)})
    assert "g_starves" in _names(HealthMonitor(window=20, d_loss_max=None).check(starved))
    floor = HealthMonitor(window=20, g_grad_floor=1e-2)
    steady = History.from_dict({**starved.to_dict(), "g_grad_norm": torch.full((100,), 5e-3)})
    assert "g_starves" in _names(floor.check(steady))  # the absolute floor alone, no drop
    assert "g_starves" not in _names(HealthMonitor(window=20).check(steady))


def test_oscillation_fires_for_the_unregularised_dirac_gan_seed_only():
    history = _dirac_gan([0.0, 1.0, 0.0])  # seeds 0 and 2 unregularised, seed 1 with R1
    assert history["g_loss"].shape == (400, 3)
    symptoms = [s for s in HealthMonitor(window=200).check(history) if s.name == "oscillation"]
    assert len(symptoms) == 1
    assert symptoms[0].seeds == (0, 2)
    assert "seed 0" in symptoms[0].message and "seed 1:" not in symptoms[0].message
    assert "chapter 04" in symptoms[0].message


def test_oscillation_needs_swings_not_noise_and_no_trend():
    t = torch.arange(400.0)
    wave = 0.7 + 0.3 * torch.sin(2 * torch.pi * t / 50)  # 8 periods, 30 % swing
    noise = 0.3 * torch.randn(400, generator=torch.Generator().manual_seed(0))

    def check(g_loss):
        return _names(HealthMonitor(window=400).check(History.from_dict({"g_loss": g_loss})))

    assert check(wave) == {"oscillation"}
    assert check(0.7 + noise) == set()  # as large, but step-to-step noise
    assert check(wave + 0.3 * noise) == {"oscillation"}  # a noisy oscillation is still one
    assert check(0.7 + 0.02 * torch.sin(2 * torch.pi * t / 50)) == set()  # 3 % swing: too small
    assert check(wave + t / 40) == set()  # a strong trend: the loss is going somewhere
    assert check(0.7 + 0.3 * torch.sin(2 * torch.pi * t / 400)) == set()  # one slow wave: 2 turns


def test_mode_collapse_from_diversity_fn_on_a_helvetica_run():
    # chapter 03's "Helvetica scenario": G trained against a frozen D maps every z to D's favourite point
    torch.manual_seed(0)
    G = _mlp(2, 2)
    favourite = torch.tensor([0.5, -0.5])
    D = lambda x: -(x - favourite).square().sum(-1, keepdim=True)  # frozen D, highest at `favourite`
    z_fixed = torch.randn(256, 2, generator=torch.Generator().manual_seed(1))
    x_real = datasets.ring().sample(256, torch.Generator().manual_seed(2))
    monitor = HealthMonitor(window=10, diversity_fn=lambda G: mean_pairwise_distance(G(z_fixed)), verbose=False)
    history = _healthy_history(steps=20)
    monitor(0, history, G, D)
    assert monitor.symptoms == []
    opt_g, gen = torch.optim.Adam(G.parameters(), 1e-2), torch.Generator().manual_seed(3)
    for _ in range(300):
        g_loss = get_loss("non_saturating").g(D(G(torch.randn(64, 2, generator=gen))))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    monitor(300, history, G, D)
    assert [s.name for s in monitor.symptoms] == ["mode_collapse"]
    assert monitor.symptoms[0].seeds is None and "seed 0" not in monitor.symptoms[0].message  # one run, not seeds
    first, last = monitor.diversity_log[0][1], monitor.diversity_log[-1][1]
    assert last < 0.5 * first
    assert "chapter 03" in monitor.symptoms[0].message
    # against the data's diversity: a G that reproduces the data is not collapsed, a point is
    reference = mean_pairwise_distance(x_real)
    like_data = HealthMonitor(diversity_fn=lambda G: mean_pairwise_distance(G(x_real)),
                              reference_diversity=reference)
    assert _names(like_data.check(history, nn.Identity())) == {"not_enough_history"}  # no collapse; 20 rows < window
    point = nn.Linear(2, 2)
    with torch.no_grad():
        point.weight.zero_()
    assert _names(like_data.check(history, point)) == {"mode_collapse"}


def test_mode_collapse_from_a_modes_record_per_seed():
    steps = 300
    base = _healthy_history(steps=steps, n_seeds=3).to_dict()
    modes = torch.full((steps, 3), float("nan"))  # measured every 50 steps only
    modes[::50, 0] = torch.tensor([3.0, 6, 8, 8, 7, 8])  # healthy
    modes[::50, 1] = torch.tensor([3.0, 6, 8, 5, 2, 1])  # collapses to 1 mode
    modes[::50, 2] = torch.tensor([3.0, 4, 5, 5, 4, 4])  # never great, but not falling below half
    history = History.from_dict({**base, "modes": modes})
    symptoms = HealthMonitor(window=100).check(history)
    assert [(s.name, s.seeds) for s in symptoms] == [("mode_collapse", (1,))]
    assert "1 against 8" in symptoms[0].message


def test_diverged_on_a_real_run_with_a_huge_learning_rate():
    history = _train_ring(steps=30, lr=1e30)
    finite = torch.stack([torch.isfinite(history[k]) for k in history.keys]).all(0)
    first_bad = int(history.steps[~finite][0])
    symptoms = HealthMonitor().check(history)
    assert [s.name for s in symptoms] == ["diverged"]  # the other checks are off once a run diverged
    assert symptoms[0].step == first_bad and "chapter 04" in symptoms[0].message
    assert _names(HealthMonitor().check(_train_ring(steps=30, lr=1e-3))) == {"not_enough_history"}  # 30 < window


def test_diverged_reports_the_seeds_and_first_step():
    records = _healthy_history(steps=50, n_seeds=4).to_dict()
    records["g_loss"][30:, 1] = float("nan")
    records["d_grad_norm"][12, 3] = float("inf")
    symptoms = HealthMonitor().check(History.from_dict(records))
    assert [(s.name, s.seeds, s.step) for s in symptoms] == [("diverged", (1, 3), 12)]
    assert "g_loss first at step 30" in symptoms[0].message and "d_grad_norm first at step 12" in symptoms[0].message
    records["d_loss"][35, 1] = float("nan")  # a second record of seed 1: both named, in the history's order
    (symptom,) = HealthMonitor().check(History.from_dict(records))
    assert "seed 1: d_loss, g_loss first at step 30; seed 3: d_grad_norm first at step 12" in symptom.message


def test_explosion_ignores_nan_and_its_message_reads_as_plain_words():
    # NaN is the 'diverged' check's business: it must not count as a large value, even under a low limit
    d_loss = torch.full((10, 1), 0.1)
    d_loss[2:8] = float("nan")
    assert explosion(History.from_dict({"d_loss": d_loss}), limits={"d_loss": 0.5}).exploding.tolist() == [False]
    assert explosion_message("d_loss", 5e3, 1.0, 25) == (
        "D's loss (d_loss) reached 5e+03 (median |value| of 10 consecutive steps, first over the limit at step 25; "
        "1 over the first steps), beyond 1e+03, which no healthy run of the course reaches")
    assert "my_norm (my_norm) reached 7" in explosion_message("my_norm", 7.0, 1.0, 3)  # a record it has no limit for


def test_each_seed_is_judged_against_its_own_level_and_noise():
    t = torch.arange(400.0)
    wave = 0.7 + 0.3 * torch.sin(2 * torch.pi * t / 50)  # oscillates
    loud = 100.0 + 30.0 * torch.randn(400, generator=torch.Generator().manual_seed(0))  # high level, pure noise
    found = HealthMonitor(window=400).check(History.from_dict({"g_loss": torch.stack([wave, loud], dim=1)}))
    assert [(s.name, s.seeds) for s in found] == [("oscillation", (0,))]


def test_an_empty_history_is_not_enough_at_step_0():
    (symptom,) = HealthMonitor().check(History(flush_every=10))
    assert (symptom.name, symptom.step) == ("not_enough_history", 0)


def test_explosion_with_no_new_rows_finds_nothing():
    records = {k: torch.full((30, 2), 1e9) for k in ("d_loss", "d_grad_norm", "g_grad_norm")}
    history = History.from_dict(records)
    assert explosion(history, since=29).exploding.tolist() == [True, True]  # the last window ends at row 29
    found = explosion(history, since=30)  # the engine's check after a flush that added no row
    assert found.exploding.tolist() == [False, False] and found.keys == [None, None]
    assert found.step.tolist() == [-1, -1]


def test_callback_prints_each_symptom_once_and_again_for_a_new_seed(capsys):
    records = _healthy_history(steps=50, n_seeds=3).to_dict()
    records["d_loss"][40:, 0] = float("nan")
    monitor = HealthMonitor()
    monitor(50, History.from_dict(records), None, None)
    monitor(60, History.from_dict(records), None, None)
    assert len(monitor.symptoms) == 1 and capsys.readouterr().out.count("Training diverged") == 1
    records["d_loss"][45:, 2] = float("nan")
    monitor(70, History.from_dict(records), None, None)
    assert [s.seeds for s in monitor.symptoms] == [(0,), (0, 2)]
    assert "Training diverged" in capsys.readouterr().out
    assert "diverged" in monitor.summary() and HealthMonitor().summary().startswith("not enough history")


def test_symptom_reads_as_plain_words():
    symptom = Symptom("d_wins", 10, "D wins: ...", CHAPTERS["d_wins"])
    assert str(symptom) == "[step 10] D wins: ..."


@pytest.mark.parametrize("kwargs, match", [
    ({"window": 2}, "window"), ({"window": 10.0}, "window must be an int"),
    ({"d_confidence": 1.5}, "d_confidence"), ({"g_grad_drop": 0}, "g_grad_drop"),
    ({"osc_smooth": 500}, "osc_smooth"), ({"d_loss_max": -1.0}, "d_loss_max"),
    ({"osc_amplitude": 0.0}, "^osc_amplitude must be > 0"), ({"osc_noise_ratio": -1.0}, "^osc_noise_ratio must be"),
    ({"reference_diversity": 1.0}, "diversity_fn"),
])
def test_bad_settings_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HealthMonitor(**kwargs)
