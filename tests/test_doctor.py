"""The GAN doctor: it names the right symptom on logs built to fail in known ways, stays quiet on a healthy one,
reads what a learner's own loop writes (CSV), says clearly what is wrong with a bad file, and runs from a shell."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gancourse import datasets, doctor
from gancourse.diagnostics.health import CHAPTERS
from gancourse.lab import FIXES
from gancourse.models.mlp import MLPDiscriminator, MLPGenerator
from gancourse.training import TrainConfig, TrainingDiverged, train_seeds
from gancourse.training.history import History

ROOT = Path(__file__).resolve().parent.parent


def healthy_log(steps=600, seeds=None, seed=0):
    """Records of a run near equilibrium: noisy flat losses, D unsure (D(x), D(G(z)) near 1/2), steady gradients."""
    gen = torch.Generator().manual_seed(seed)
    shape = (steps,) if seeds is None else (steps, seeds)
    noise = lambda scale: scale * torch.randn(shape, generator=gen)  # noqa: E731
    return History.from_dict({
        "d_loss": 1.35 + noise(0.05), "g_loss": 0.72 + noise(0.08), "d_real": 0.52 + noise(0.02),
        "d_fake": 0.48 + noise(0.02), "d_grad_norm": 0.5 + noise(0.05).abs(), "g_grad_norm": 0.3 + noise(0.03).abs()})


@pytest.fixture(scope="module")
def strong_d_log():
    """Chapter 02's failure run by the course's loop: saturating loss, 5 D steps per G step, D's lr 30x G's."""
    config = TrainConfig(steps=240, batch_size=64, loss="minimax", n_critic=5, lr_d=3e-3, lr_g=1e-4, log_every=40,
                         progress=False)
    return train_seeds([0, 1], lambda: MLPGenerator(width=32, depth=2), lambda: MLPDiscriminator(width=32, depth=2),
                       datasets.ring().sample, config, device="cpu").history


def dirac_gan_log(gamma, steps=600, lr=0.2):
    """Dirac-GAN (Mescheder et al. 2018): G a point at theta, D(x) = psi x, data at 0; one seed per R1 weight."""
    gamma = torch.tensor(gamma)
    theta, psi = torch.ones_like(gamma), torch.ones_like(gamma)
    history = History(flush_every=100)
    for step in range(steps):
        fake_logits = psi * theta
        d_loss = F.softplus(torch.zeros_like(psi)) + F.softplus(fake_logits)
        d_grad = theta * torch.sigmoid(fake_logits) + gamma * psi
        psi = psi - lr * d_grad
        g_grad = -psi * torch.sigmoid(psi * theta)
        theta = theta - lr * g_grad
        history.record(step, d_loss=d_loss, g_loss=-F.softplus(psi * theta), d_real=torch.full_like(psi, 0.5),
                       d_fake=torch.sigmoid(fake_logits), d_grad_norm=d_grad.abs(), g_grad_norm=g_grad.abs())
    history.flush()
    return history


def test_healthy_logs_get_a_clean_bill():
    for seeds in (None, 3):
        diagnosis = doctor.diagnose(healthy_log(seeds=seeds))
        assert diagnosis.healthy and diagnosis.names == [] and diagnosis.first_fix() is None
        assert "No symptom" in str(diagnosis)


def test_d_wins_and_g_starves_on_a_real_strong_d_run(strong_d_log, tmp_path):
    # through a CSV, as a learner's own loop would log it
    path = doctor.write_log(strong_d_log, tmp_path / "strong_d.csv")
    diagnosis = doctor.diagnose(path)
    assert {"d_wins", "g_starves"} <= set(diagnosis.names)
    assert "diverged" not in diagnosis.names and "mode_collapse" not in diagnosis.names
    assert diagnosis.first_fix().chapter == "04" and "balance" in diagnosis.first_fix().what  # D wins comes first
    starves = [a for a in diagnosis.advice() if a.symptom == "g_starves"][0]
    assert "non-saturating" in starves.remedies[0].what and starves.remedies[0].chapter == "02"
    # the same settings with the non-saturating loss: G is not starved
    config = TrainConfig(steps=240, batch_size=64, loss="non_saturating", n_critic=5, lr_d=3e-3, lr_g=1e-4,
                         log_every=40, progress=False)
    fixed = train_seeds([0, 1], lambda: MLPGenerator(width=32, depth=2), lambda: MLPDiscriminator(width=32, depth=2),
                        datasets.ring().sample, config, device="cpu").history
    assert "g_starves" not in doctor.diagnose(fixed).names


def test_oscillation_in_the_unregularised_dirac_gan_only():
    log = dirac_gan_log([0.0, 1.0])  # seed 0 circles for ever, seed 1 has R1 and converges
    found = [s for s in doctor.diagnose(log, window=200).symptoms if s.name == "oscillation"]
    assert len(found) == 1 and found[0].seeds == (0,)
    assert doctor.diagnose(dirac_gan_log([1.0])).healthy


def test_oscillation_on_a_real_ring_run_with_simultaneous_steps_not_after_ttur_nor_when_healthy():
    """Chapter 09's oscillating case, trained for real: the playground's GAN with simultaneous D and G steps swings
    (measured: every seed of base seeds 0-3); the lab's 'ttur' fix and the healthy default do not."""
    from gancourse.lab import cases

    case = cases.CASES["oscillation"]
    broken, fixed = cases.run_case("oscillation", [0, 1, 2, 3])
    assert len(broken.log) == case.steps == 600 and not broken.stopped
    assert cases.seeds_with(broken, "oscillation") == [0, 1, 2, 3]
    message = next(s for s in broken.diagnosis.symptoms if s.name == "oscillation").message
    assert "swings" in message and broken.diagnosis.names[0] == "oscillation"
    assert doctor.GUIDE["oscillation"].remedies[1].fix == case.fix == "ttur"
    assert "oscillation" not in fixed.diagnosis.names
    healthy = cases.train_case(cases.HEALTHY, cases.HEALTHY_STEPS, [0, 1, 2, 3])
    assert "oscillation" not in healthy.diagnosis.names


def test_divergence_on_a_real_run_stopped_by_the_engine():
    seen = {}
    config = TrainConfig(steps=200, batch_size=64, loss="wasserstein", lr_d=1e3, lr_g=1e3, log_every=20,
                         progress=False)
    with pytest.raises(TrainingDiverged):
        train_seeds([0], lambda: MLPGenerator(width=16, depth=1), lambda: MLPDiscriminator(width=16, depth=1),
                    datasets.ring().sample, config, device="cpu",
                    callback=lambda step, history, G, D: seen.update(history=history))
    diagnosis = doctor.diagnose(seen["history"], loss="wasserstein")
    assert diagnosis.names[0] in ("diverged", "diverging")
    assert diagnosis.advice()[0].symptom == diagnosis.names[0]


def collapse_log(modes_path, steps=300):
    """Healthy losses with a ``modes`` column measured every 50 steps (NaN in between)."""
    records = healthy_log(steps).to_dict()
    modes = torch.full((steps,), math.nan)
    modes[::50] = torch.tensor(modes_path, dtype=torch.float32)
    return History.from_dict({**records, "modes": modes})


def test_collapse_from_a_modes_column_against_its_best_and_against_the_data():
    fell = collapse_log([2, 5, 8, 6, 3, 1])  # spread to 8 modes, then fell to 1
    assert doctor.diagnose(fell).names == ["mode_collapse"]
    never = collapse_log([1, 1, 1, 1, 1, 1])  # never spread: no fall from its best...
    assert doctor.diagnose(never).healthy
    assert doctor.diagnose(never, reference_diversity=8).names == ["mode_collapse"]  # ...but 1 of the ring's 8
    covered = collapse_log([2, 5, 8, 7, 8, 7])
    assert doctor.diagnose(covered, reference_diversity=8).healthy
    # both sides of the bound: 4 of 8 is not below half, 3 of 8 is
    assert doctor.diagnose(collapse_log([8, 8, 8, 8, 8, 4]), reference_diversity=8).healthy
    assert doctor.diagnose(collapse_log([8, 8, 8, 8, 8, 3]), reference_diversity=8).names == ["mode_collapse"]
    advice = doctor.diagnose(fell).advice()[0]
    assert advice.remedies[1].fix == "pack2" and advice.chapter == "03"


def test_csv_round_trip_keeps_every_value_and_the_seeds(tmp_path):
    log = healthy_log(steps=50, seeds=2)
    path = doctor.write_log(log, tmp_path / "log.csv", diversity={0: torch.tensor([3.0, 4.0]), 40: [7.0, 8.0]})
    back = doctor.read_log(path)
    for key in log.keys:
        torch.testing.assert_close(back[key], log[key], rtol=1e-5, atol=1e-6)
    assert back["modes"].shape == (50, 2) and back["modes"][40].tolist() == [7.0, 8.0]
    assert torch.isnan(back["modes"][1]).all()
    assert back.steps.tolist() == list(range(50))


def test_a_minimal_log_with_only_the_losses_is_read(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("d_loss,g_loss\n" + "".join(f"{1.3 + 0.01 * (i % 3)},{0.7}\n" for i in range(90)))
    diagnosis = doctor.diagnose(path)
    assert diagnosis.rows == 90 and diagnosis.window == 30 and diagnosis.healthy


@pytest.mark.parametrize("text, match", [
    ("loss_d,loss_g\n1,2\n", "no column d_loss, g_loss"),
    ("d_loss,g_loss\n", "no rows"),
    ("d_loss,g_loss\n1.0,abc\n", "line 2, column 'g_loss': 'abc' is not a number"),
    ("d_loss,g_loss,d_real\n1,1,3.5\n", "outside \\[0, 1\\].*sigmoid"),
    ("seed,d_loss,g_loss\n0,1,1\n0,1,1\n1,1,1\n", "different numbers of rows"),
])
def test_bad_logs_are_named_with_the_fix(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        doctor.read_log(path)
    with pytest.raises(FileNotFoundError, match="no log at"):
        doctor.read_log(tmp_path / "missing.csv")


def test_a_log_shorter_than_the_window_is_not_called_healthy():
    diagnosis = doctor.diagnose(healthy_log(steps=50), window=200)
    assert not diagnosis.healthy and diagnosis.names == ["not_enough_history"]


def test_the_guide_covers_every_symptom_and_names_registered_fixes():
    assert set(doctor.GUIDE) == set(CHAPTERS)
    for name, advice in doctor.GUIDE.items():
        assert advice.symptom == name and advice.causes and len(advice.remedies) >= 3
        assert all(r.fix is None or r.fix in FIXES for r in advice.remedies)
        assert all(len(r.chapter) == 2 for r in advice.remedies)


def test_command_line_exit_codes(tmp_path, strong_d_log):
    ill = doctor.write_log(strong_d_log, tmp_path / "ill.csv")
    well = doctor.write_log(healthy_log(), tmp_path / "well.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    run = lambda path: subprocess.run([sys.executable, "-m", "gancourse.doctor", str(path)],  # noqa: E731
                                      capture_output=True, text=True, cwd=ROOT, timeout=120)
    ill_out, well_out, bad_out = run(ill), run(well), run(bad)
    assert ill_out.returncode == 1 and "d_wins" in ill_out.stdout and "try, in this order" in ill_out.stdout
    assert well_out.returncode == 0 and "No symptom" in well_out.stdout
    assert bad_out.returncode == 2 and "no column d_loss" in bad_out.stderr and not bad_out.stdout


def _d_wins_log(steps=300, d_loss=0.5):
    """D(x) near 1, D(G(z)) near 0, but D's loss not near 0 (a least-squares or hinge D that wins)."""
    records = healthy_log(steps).to_dict()
    records.update(d_real=torch.full((steps,), 0.98), d_fake=torch.full((steps,), 0.02),
                   d_loss=torch.full((steps,), d_loss))
    return History.from_dict(records)


def test_the_loss_decides_whether_d_loss_is_read_and_an_unknown_loss_is_refused():
    log = _d_wins_log()
    assert doctor.diagnose(log).healthy  # a probability loss of 0.5 is no win
    assert doctor.diagnose(log, loss="least_squares").names == ["d_wins"]  # judged from D(x), D(G(z)) only
    with pytest.raises(ValueError, match="unknown loss 'wassertein'"):
        doctor.diagnose(log, loss="wassertein")  # a typo must not pass for a probability loss


def test_command_line_options_in_process(tmp_path, capsys):
    # the same options as the shell test above, through main() itself (a subprocess hides it from coverage)
    wins = doctor.write_log(_d_wins_log(), tmp_path / "wins.csv")
    assert doctor.main([str(wins)]) == 0 and "No symptom" in capsys.readouterr().out
    assert doctor.main([str(wins), "--loss", "hinge"]) == 1
    assert "d_wins" in capsys.readouterr().out
    assert doctor.main([str(wins), "--loss", "hing"]) == 2 and "unknown loss 'hing'" in capsys.readouterr().err
    never = tmp_path / "never.csv"
    doctor.write_log(collapse_log([1, 1, 1, 1, 1, 1]), never)  # modes column written back: 1 mode all along
    assert doctor.main([str(never)]) == 0
    capsys.readouterr()
    assert doctor.main([str(never), "--modes", "8"]) == 1  # against the ring's 8 modes it is collapse
    assert "reference: the data's 8" in capsys.readouterr().out
    assert doctor.main([str(never), "--window", "20"]) == 0
    assert "checks over the last 20 rows" in capsys.readouterr().out


def test_the_advice_reads_as_numbered_steps():
    text = str(doctor.GUIDE["oscillation"]).splitlines()
    assert text[0] == "oscillation: the losses swing up and down without a trend and without settling (chapter 04)"
    assert text[1:4] == ["  likely causes:",
                         "    - simultaneous gradient play rotates around the equilibrium instead of approaching it",
                         "    - nothing flattens D around the data, so D and G chase each other"]
    assert text[4] == "  try, in this order:"
    assert text[5] == "    1. R1 on real data (gamma 1) (chapter 01; lab fix 'r1')"
    assert len(text) == 5 + len(doctor.GUIDE["oscillation"].remedies)
    lowered = str(doctor.Advice("x", "y", ("c",), (doctor.Remedy("r", "02"),), "03")).splitlines()
    assert lowered[-1] == "    1. r (chapter 02)"  # no lab fix: nothing about the lab
    diagnosis = doctor.diagnose(_d_wins_log(), loss="hinge")
    assert str(doctor.GUIDE["d_wins"]) in str(diagnosis) and str(diagnosis.symptoms[0]) in str(diagnosis)


def test_a_diverged_seed_is_not_also_called_collapsed_against_the_data():
    records = healthy_log(steps=300, seeds=2).to_dict()
    modes = torch.full((300, 2), math.nan)
    modes[::50, 0], modes[::50, 1] = 8.0, 1.0  # seed 1 holds 1 of the ring's 8 modes...
    records["d_loss"][100:, 1] = math.nan  # ...but it diverged: its modes mean nothing
    diagnosis = doctor.diagnose(History.from_dict({**records, "modes": modes}), reference_diversity=8)
    assert [(s.name, s.seeds) for s in diagnosis.symptoms] == [("diverged", (1,))]


def test_the_report_names_its_source_and_the_help_its_options(tmp_path, capsys):
    log = healthy_log()
    assert str(doctor.diagnose(log)).startswith("GAN doctor: 600 rows of history, checks over the last 200 rows")
    path = doctor.write_log(log, tmp_path / "run.csv")
    assert str(doctor.diagnose(path)).startswith(f"GAN doctor: 600 rows of {path}, checks over the last 200 rows")
    with pytest.raises(SystemExit):
        doctor.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "--window WINDOW rows the checks look back over" in text
    assert "--modes REFERENCE_DIVERSITY the data's value of the modes/diversity column (e.g. 8 for the ring)" in text
