"""gancourse.stacked_fashion: the DCGAN on three garments as channels, and its 1,000-mode score (chapter 08)."""

import math

import pytest
import torch
from script_loader import load_script

from gancourse import stacked_fashion
from gancourse.metrics import load_classifier, predict_classes
from gancourse.models.dcgan import DCGANDiscriminator
from gancourse.models.minibatch import MinibatchDiscrimination
from gancourse.models.multi_generator import MultiGenerator


@pytest.fixture(scope="module")
def stacked():
    return stacked_fashion.stacked_data(300, seed=1, device="cpu")


def test_stacked_data_is_three_training_images_with_their_classes(stacked):
    x, y = stacked
    assert x.shape == (300, 3, 28, 28) and y.shape == (300, 3)
    assert -1 <= x.min() and x.max() <= 1
    # the classifier agrees with the labels on most channels: the channels are real garments of those classes
    predicted = predict_classes(x.reshape(-1, 1, 28, 28), load_classifier("cpu")).view(-1, 3)
    assert (predicted == y).float().mean() > 0.8
    x2, _ = stacked_fashion.stacked_data(300, seed=1, device="cpu")
    assert torch.equal(x, x2)


@pytest.mark.parametrize("name", ["minibatch discrimination", "packing", "multiple generators", "spectral norm"])
def test_the_dcgan_carries_the_fix(name):
    G, D = stacked_fashion.dcgan_models(name, seed=0, width=8)
    x = G(torch.randn(4, G.z_dim))
    assert x.shape == (4, 3, 28, 28)
    if name == "minibatch discrimination":
        assert any(isinstance(m, MinibatchDiscrimination) for m in D.modules())
    if name == "packing":
        assert D.pack == 2 and D(x.reshape(2, 6, 28, 28)).shape == (2, 1)
    if name == "multiple generators":
        assert isinstance(G, MultiGenerator) and D(x).shape == (4, 6)
    if name == "spectral norm":
        assert any(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in D.modules())
    assert isinstance(D, DCGANDiscriminator)


def test_run_stacked_scores_each_seed_with_the_classifier_by_hand(stacked):
    x, _ = stacked
    runs = stacked_fashion.run_stacked("plain", [0, 1], x, steps=2, width=8, n_samples=200, device="cpu")
    assert [r.seed for r in runs] == [0, 1] and all(r.steps == 2 and r.seconds > 0 for r in runs)
    classifier = load_classifier("cpu")
    for r in runs:
        z = torch.randn(200, r.G.z_dim, generator=torch.Generator().manual_seed(r.seed))
        with torch.no_grad():
            samples = r.G.eval()(z)
        classes = predict_classes(samples.reshape(-1, 1, 28, 28), classifier).view(-1, 3).tolist()
        counts = {}
        for c in classes:
            counts[tuple(c)] = counts.get(tuple(c), 0) + 1
        kl = math.log(1000) + sum(n / 200 * math.log(n / 200) for n in counts.values())
        assert r.modes == len(counts) and math.isclose(r.kl, kl, abs_tol=1e-4)


def test_bad_inputs_are_named(stacked):
    x, _ = stacked
    with pytest.raises(ValueError, match=r"stacked samples \(N, 3, 28, 28\)"):
        stacked_fashion.run_stacked("plain", [0], x[:, :1], steps=1)
    with pytest.raises(ValueError, match="steps and n_samples"):
        stacked_fashion.run_stacked("plain", [0], x, steps=0)
    with pytest.raises(ValueError, match="unknown fix"):
        stacked_fashion.dcgan_models("nope", 0)


def test_channels_become_garments_in_order():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    out = stacked_fashion.channels_as_images(x)
    assert out.shape == (6, 1, 4, 4)
    for i in range(2):
        for c in range(3):
            assert torch.equal(out[3 * i + c, 0], x[i, c])
    with pytest.raises(ValueError, match="stacked samples"):
        stacked_fashion.channels_as_images(x[:, :2])


def test_run_stacked_scores_the_channels_by_fid(stacked):
    from gancourse.metrics import FIDScorer

    x, _ = stacked
    scorer = FIDScorer(stacked_fashion.channels_as_images(x[:100]))
    (run,) = stacked_fashion.run_stacked("plain", [0], x, steps=2, width=8, n_samples=60, device="cpu",
                                         fid_scorer=scorer, n_fid=40)
    z = torch.randn(60, run.G.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        samples = run.G.eval()(z)
    assert math.isclose(run.fid, scorer(stacked_fashion.channels_as_images(samples[:40])), rel_tol=1e-5)
    assert stacked_fashion.run_stacked("plain", [0], x, steps=1, width=8, n_samples=10, device="cpu")[0].fid is None
    with pytest.raises(ValueError, match="n_fid"):
        stacked_fashion.run_stacked("plain", [0], x, steps=1, width=8, n_samples=10, fid_scorer=scorer, n_fid=11)


def test_the_stacked_script_runs_at_a_tiny_scale_and_records(tmp_path, capsys):
    from gancourse import recorded

    script = load_script("benchmarks/stacked_fashion.py")
    rows = script.main(["--fixes", "plain", "packing", "--steps", "2", "--seeds", "2", "--width", "8",
                        "--samples", "30", "--n-data", "200", "--device", "cpu", "--record", "--record-dir",
                        str(tmp_path)])
    assert [(r["fix"], r["seed"]) for r in rows] == [("plain", 100), ("plain", 101), ("packing", 100),
                                                    ("packing", 101)]
    assert recorded.load("stacked_fashion", directory=tmp_path).rows == rows
    printed = capsys.readouterr().out
    assert "1000 modes, KL 0.06" in printed
    table = stacked_fashion.stacked_table(rows).splitlines()
    assert [line.split()[0] for line in table[1:]] == ["plain", "packing"]
    modes = [r["modes"] for r in rows if r["fix"] == "packing"]
    assert table[2].endswith(str(modes)) and f"{sum(modes) / 2:.1f} ±" in table[2]


def test_step_costs_time_every_fix_in_rounds_against_plain(stacked, monkeypatch):
    x, _ = stacked
    calls = []
    real_train = stacked_fashion.train

    def counting_train(G, D, data, config, device=None):
        calls.append((config.steps, config.unrolled_steps, config.pack))
        return real_train(G, D, data, config, device=device)

    monkeypatch.setattr(stacked_fashion, "train", counting_train)
    rows = stacked_fashion.step_costs(["unrolled", "plain", "packing"], x, steps=3, width=8, repeats=2, device="cpu")
    assert [r["fix"] for r in rows] == ["plain", "unrolled", "packing"]  # the baseline first
    # a two-step warm-up of each fix, then two rounds of three steps, the fixes in turn, the second round
    # starting one fix later
    assert calls == [(2, 0, 1), (2, 5, 1), (2, 0, 2)] + [(3, 0, 1), (3, 5, 1), (3, 0, 2)] + [(3, 5, 1), (3, 0, 2),
                                                                                           (3, 0, 1)]
    base = rows[0]
    assert base["time_ratio"] == 1.0 and base["cpu_ratio"] == 1.0
    for r in rows:
        assert r["ms_per_step"] > 0 and r["cpu_ms_per_step"] > 0
        assert len(r["ms_rounds"]) == 2 and r["ms_per_step"] == min(r["ms_rounds"])  # the fastest round
        assert math.isclose(r["time_ratio"], r["ms_per_step"] / base["ms_per_step"], rel_tol=0.02)
        assert math.isclose(r["cpu_ratio"], r["cpu_ms_per_step"] / base["cpu_ms_per_step"], rel_tol=0.02)
    # five D steps ahead for every G step: about three times the plain step's work (2.3-2.8x measured on a
    # loaded 2-core machine at this size); a step_costs that timed the wrong fix would give about 1
    assert rows[1]["cpu_ratio"] > 1.5, rows


def test_step_costs_name_bad_inputs(stacked):
    x, _ = stacked
    with pytest.raises(ValueError, match="each fix once"):
        stacked_fashion.step_costs(["packing", "packing"], x, steps=1)
    with pytest.raises(ValueError, match="steps and repeats"):
        stacked_fashion.step_costs(["packing"], x, steps=1, repeats=0)
    with pytest.raises(ValueError, match=r"stacked samples \(N, 3, 28, 28\)"):
        stacked_fashion.step_costs(["packing"], x[:, :2], steps=1)
    with pytest.raises(ValueError, match="unknown fix"):
        stacked_fashion.step_costs(["nope"], x, steps=1)


def test_the_stacked_script_records_the_costs(tmp_path, capsys):
    from gancourse import recorded

    script = load_script("benchmarks/stacked_fashion.py")
    rows = script.main(["--costs", "2", "--repeats", "1", "--fixes", "R1", "plain", "--width", "8",
                        "--n-data", "200", "--device", "cpu", "--record", "--record-dir", str(tmp_path)])
    assert [r["fix"] for r in rows] == ["plain", "R1"]
    rec = recorded.load("stacked_fashion_costs", directory=tmp_path)
    assert rec.rows == rows and rec.meta["settings"]["steps"] == 2 and rec.meta["settings"]["fixes"] == ["plain", "R1"]
    assert "R1" in capsys.readouterr().out
