"""The oscillation measure against signals whose answer is known: a sine, a decaying sine, a trend plus noise."""

import math

import pytest
import torch
from torch import nn

from gancourse.diagnostics.oscillation import Oscillation, detrend, measure_oscillation, power_spectrum, settling_ratio


def _sine(T=1000, period=50, amplitude=2.0, phase=0.3, offset=5.0):
    t = torch.arange(T, dtype=torch.float64)
    return offset + amplitude * torch.sin(2 * math.pi * t / period + phase)


def test_a_pure_sine_swings_by_its_amplitude_over_root_two_at_its_own_period():
    x = _sine(T=1000, period=50, amplitude=2.0)  # 20 whole periods
    o = measure_oscillation(x)
    # a whole number of periods: the least-squares line takes 6 / (pi^2 n^2) of the variance, 0.15% for n = 20
    assert abs(o.swing.item() - 2.0 / math.sqrt(2)) < 0.005 * 2.0 / math.sqrt(2)
    assert o.period.item() == 50.0
    assert 0.99 < o.peak_share.item() <= 1.0 + 1e-12
    assert o.crossings.item() in (39, 40)  # two sign changes per period
    assert abs(o.trend.item()) < 1e-3  # no trend: the line's slope is the sine's small leak only


def test_spacing_turns_points_into_steps():
    x = _sine(T=200, period=20, amplitude=1.0)  # measured every 5 steps: a period of 100 steps
    o = measure_oscillation(x, spacing=5)
    assert o.period.item() == 100.0
    frequency, power = power_spectrum(x, spacing=5)
    assert frequency[power.argmax()].item() == pytest.approx(1 / 100)
    slope_per_point = detrend(x + 0.2 * torch.arange(200.0))[1].item()
    assert slope_per_point == pytest.approx(0.2, rel=0.05)
    assert measure_oscillation(x + 0.2 * torch.arange(200.0), spacing=5).trend.item() == pytest.approx(0.04, rel=0.05)


def test_the_spectrum_equals_a_naive_dft_and_adds_up_to_the_variance():
    g = torch.Generator().manual_seed(0)
    for T in (64, 65):  # even and odd lengths (the Nyquist bin exists only for even T)
        x = torch.randn(T, generator=g, dtype=torch.float64).cumsum(0)  # a random walk: trend, swings and noise
        residual, slope = detrend(x)
        # naive least squares by the normal equations
        t = torch.arange(T, dtype=torch.float64)
        A = torch.stack([torch.ones(T, dtype=torch.float64), t], 1)
        coef = torch.linalg.solve(A.T @ A, A.T @ x)
        torch.testing.assert_close(slope, coef[1])
        torch.testing.assert_close(residual, x - A @ coef)
        # naive DFT: amplitude of each frequency k / T, power = amplitude^2 / 2 (half at the Nyquist frequency)
        frequency, power = power_spectrum(x)
        expected = []
        for k in range(1, T // 2 + 1):
            c = (residual * torch.cos(2 * math.pi * k * t / T)).sum() * 2 / T
            s = (residual * torch.sin(2 * math.pi * k * t / T)).sum() * 2 / T
            p = (c**2 + s**2) / 2
            expected.append(p / 2 if 2 * k == T else p)  # at k = T/2, cos carries 1 / T, not 2 / T
        torch.testing.assert_close(power, torch.stack(expected))
        torch.testing.assert_close(frequency, torch.arange(1, T // 2 + 1, dtype=torch.float64) / T)
        torch.testing.assert_close(power.sum(), residual.var(correction=0))
        torch.testing.assert_close(measure_oscillation(x).swing, residual.std(correction=0))


def test_a_trend_plus_noise_has_its_slope_a_swing_of_the_noise_and_no_rhythm():
    T, sigma, slope = 2000, 0.3, 0.01
    g = torch.Generator().manual_seed(1)
    x = 4.0 + slope * torch.arange(T, dtype=torch.float64) + sigma * torch.randn(T, generator=g, dtype=torch.float64)
    o = measure_oscillation(x)
    se = sigma / math.sqrt(T**3 / 12)  # standard error of a least-squares slope
    assert abs(o.trend.item() - slope) < 4 * se
    assert abs(o.swing.item() - sigma) < 0.05 * sigma  # the std estimate's own error is ~1.6% here
    assert o.peak_share.item() < 0.03  # white noise: about 3 of 1000 frequencies' worth
    assert abs(o.crossings.item() - (T - 1) / 2) < 5 * math.sqrt(T - 1) / 2  # a sign change is a coin flip
    # the same noise around a sine: the sine's period and most of the power come back
    wavy = x + _sine(T=T, period=100, amplitude=1.0, offset=0.0)
    w = measure_oscillation(wavy)
    assert w.period.item() == 100.0 and w.peak_share.item() > 0.8


def test_a_decaying_sine_settles_at_the_rate_of_its_envelope():
    T, period, tau, window = 1200, 40, 300.0, 400
    t = torch.arange(T, dtype=torch.float64)
    x = torch.exp(-t / tau) * torch.sin(2 * math.pi * t / period + 0.7)
    # T - window is a whole number of periods: the last window is the first one scaled by exp(-(T - window) / tau)
    ratio = settling_ratio(x, window)
    assert ratio.item() == pytest.approx(math.exp(-(T - window) / tau), rel=1e-9)
    steady = settling_ratio(_sine(T=T, period=period), window)
    assert steady.item() == pytest.approx(1.0, rel=1e-9)
    growing = settling_ratio(torch.exp(t / tau) * torch.sin(2 * math.pi * t / period), window)
    assert growing.item() == pytest.approx(math.exp((T - window) / tau), rel=1e-9)


def test_columns_are_measured_one_by_one():
    g = torch.Generator().manual_seed(2)
    columns = torch.stack([_sine(T=300, period=30), torch.randn(300, generator=g, dtype=torch.float64),
                           _sine(T=300, period=60, amplitude=0.1) + 0.001 * torch.arange(300.0)], dim=1)
    together = measure_oscillation(columns, spacing=2)
    ratios = settling_ratio(columns, 100)
    for s in range(3):
        alone = measure_oscillation(columns[:, s], spacing=2)
        for field in ("swing", "period", "peak_share", "crossings", "trend"):
            torch.testing.assert_close(getattr(together[s], field), getattr(alone, field))
        torch.testing.assert_close(ratios[s], settling_ratio(columns[:, s], 100))
    assert isinstance(together[0], Oscillation)
    assert together.period.tolist() == [60.0, pytest.approx(together.period[1].item()), 120.0]


def test_flat_series_and_bad_input():
    flat = torch.full((50,), 3.0)
    o = measure_oscillation(flat)
    assert o.swing.item() == 0 and o.peak_share.item() == 0 and o.crossings.item() == 0
    assert math.isnan(settling_ratio(flat, 10).item())
    ramp_then_wave = torch.cat([torch.zeros(20), torch.sin(torch.arange(20.0))])
    assert settling_ratio(ramp_then_wave, 20).item() == math.inf
    with pytest.raises(ValueError, match="at least 4 points"):
        measure_oscillation(torch.zeros(3))
    with pytest.raises(ValueError, match=r"\(T,\) or one series per column \(T, S\)"):
        measure_oscillation(torch.zeros(4, 2, 2))
    with pytest.raises(ValueError, match="NaN or infinite"):
        measure_oscillation(torch.tensor([0.0, 1.0, float("nan"), 2.0, 3.0]))
    with pytest.raises(ValueError, match="spacing must be a number > 0"):
        measure_oscillation(torch.zeros(10), spacing=0)
    with pytest.raises(ValueError, match=r"window must be an int in \[4, T = 10\]"):
        settling_ratio(torch.zeros(10), 11)
    with pytest.raises(ValueError, match=r"window must be an int"):
        settling_ratio(torch.zeros(10), 5.0)  # a float in range is still no row count


def test_the_sample_track_keeps_g_of_the_same_z_at_every_flush():
    from gancourse import datasets
    from gancourse.diagnostics.oscillation import SampleTrack
    from gancourse.models import mlp
    from gancourse.training import TrainConfig, train
    from gancourse.training.seeds import stacked_models

    G, D = stacked_models([0, 1], lambda: mlp.MLPGenerator(z_dim=4, width=8, depth=1),
                          lambda: mlp.MLPDiscriminator(width=8, depth=1))
    z = torch.randn(2, 50, 4, generator=torch.Generator().manual_seed(0))
    track = SampleTrack(z)
    with pytest.raises(ValueError, match="no samples recorded yet"):
        track.samples()
    config = TrainConfig(steps=12, batch_size=16, log_every=4, progress=False)
    result = train(G, D, datasets.ring().sample, config, callback=track, seeds=[0, 1], device="cpu")
    assert track.steps == [4, 8, 12]
    assert track.samples().shape == (3, 2, 50, 2) and track.centres().shape == (3, 2, 2)
    with torch.no_grad():
        torch.testing.assert_close(track.samples()[-1], result.G(z))  # the last call saw the final G
        torch.testing.assert_close(track.centres()[-1], result.G(z).mean(dim=1))
    assert not torch.equal(track.samples()[0], track.samples()[-1])  # G moved in between
    track(13, None, result.G)  # a later call is appended to what was read
    assert track.samples().shape == (4, 2, 50, 2) and track.steps[-1] == 13
    with pytest.raises(ValueError, match=r"\(n, z_dim\) or \(S, n, z_dim\)"):
        SampleTrack(torch.zeros(3))


def test_the_sample_track_of_one_run_averages_over_its_samples():
    from gancourse.diagnostics.oscillation import SampleTrack

    G, z = nn.Linear(2, 3), torch.randn(5, 2, generator=torch.Generator().manual_seed(0))  # 5 samples in 3-D
    track = SampleTrack(z)
    track(1, None, G)
    with torch.no_grad():
        G.bias += 1.0
    track(2, None, G)
    assert track.samples().shape == (2, 5, 3) and track.centres().shape == (2, 3)
    with torch.no_grad():
        by_hand = torch.stack([(z @ G.weight.T + G.bias - 1.0).mean(0), (z @ G.weight.T + G.bias).mean(0)])
    torch.testing.assert_close(track.centres(), by_hand)
