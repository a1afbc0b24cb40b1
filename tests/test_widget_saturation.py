"""Chapter 02's widget, pressed from Python: what it shows is what saturation.train_d_against_fixed_g measures."""

import torch

from gancourse import datasets
from gancourse.diagnostics import saturation
from gancourse.models import mlp
from gancourse.widgets.saturation import StarvationExplorer


def _explorer(**kwargs):
    return StarvationExplorer(seed=3, ahead=20, max_steps=40, every=10, n_eval=64, device="cpu", **kwargs)


def test_sliding_d_ahead_trains_in_chunks_and_matches_the_one_shot_run():
    explorer = _explorer()
    assert explorer.view.n_draws == 1 and "after 20 D steps" in explorer.message.text
    first = explorer.view.png
    explorer.ahead.value = 40
    trace = explorer.traces[0.0]
    assert trace.experiment.d_steps == 40 and explorer.view.n_draws == 2 and explorer.view.png != first
    record = explorer.record()
    assert record["d_steps"].tolist() == [0, 10, 20, 30, 40]
    run = saturation.train_d_against_fixed_g([3], lambda: mlp.MLPGenerator(), lambda: mlp.MLPDiscriminator(width=64),
                                             datasets.ring().sample, [0, 10, 20, 30, 40], n_eval=64, device="cpu")
    for key in ("d_real", "d_fake", "grad_saturating", "grad_non_saturating"):
        torch.testing.assert_close(record[key], getattr(run, key)[:, 0])
    explorer.ahead.value = 10  # back along the slider: a snapshot, no training
    assert trace.experiment.d_steps == 40 and explorer.view.n_draws == 3
    assert f"D(G(z)) = {record['d_fake'][1].item():.2e}" in explorer.message.text


def test_instance_noise_reruns_and_a_bad_sigma_shows_the_message():
    explorer = _explorer()
    explorer.noise.value = 0.3
    assert set(explorer.traces) == {0.0, 0.3} and explorer.traces[0.3].experiment.noise_std == 0.3
    assert "sigma = 0.3" in explorer.message.text
    draws = explorer.view.n_draws
    explorer.noise.value = -1.0
    assert "noise_std must be >= 0" in explorer.message.text and explorer.view.n_draws == draws
    explorer.arrows.value = "non-saturating"  # still broken sigma: message again, nothing drawn
    assert explorer.view.n_draws == draws
    explorer.noise.value = 0.0  # back to a good value: cached run, new picture
    assert explorer.view.n_draws == draws + 1 and "sigma = 0" in explorer.message.text
