"""Oscillation of a training signal, measured: how far it swings, how regularly, and whether it settles.

Chapter 04 asks of a loss curve, of ``D(x)`` or of where G's samples sit: does it swing without a
trend (D and G circling each other), or settle? For a series ``x_t``, ``t = 0 .. T-1`` (one per
column of a ``(T, S)`` tensor, e.g. ``S`` stacked seeds):

* **trend**: the slope ``b`` of the least-squares line ``a + b t`` (units of ``x`` per step);
  the **detrended** series is ``x`` minus that line;
* **swing**: the standard deviation of the detrended series (``A / sqrt(2)`` for a sine of
  amplitude ``A``; the noise's std for a trend plus white noise);
* **spectrum**: the detrended series' power at the frequencies ``k / T`` cycles per step,
  ``k = 1 .. T // 2``, scaled so that the powers add up to ``swing ** 2`` (Parseval);
* **period**: ``T / k*`` steps for the frequency ``k*`` with the most power;
* **peak share**: the share of the power at ``k*`` and its two neighbours: about 1 for a sine
  (every bit of the swing is one rhythm), about ``3 / (T / 2)`` for white noise;
* **crossings**: sign changes of the detrended series, 2 per period of a sine, about
  ``(T - 1) / 2`` for white noise;
* **settling ratio** (:func:`settling_ratio`): the swing of the last ``window`` points over
  the swing of the first ``window``; ``exp(-(T - window) / tau)`` for a sine decaying as
  ``exp(-t / tau)``, about 1 for a swing that goes on.

A run that oscillates has a large swing with a large peak share; a run that settles has a
swing near its noise, a small peak share and a settling ratio well below 1.

:class:`SampleTrack` records where G's samples are during training (a ``train`` callback), so
that the same numbers can be taken of the samples as of the losses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


def _as_series(x: Tensor, name: str = "x", min_length: int = 4) -> tuple[Tensor, bool]:
    """``x`` as float64 ``(T, S)`` on the CPU, and whether it was one series ``(T,)``."""
    x = torch.as_tensor(x).detach()
    if x.dim() not in (1, 2):
        raise ValueError(f"{name} must be one series (T,) or one series per column (T, S), got {tuple(x.shape)}")
    if x.shape[0] < min_length:
        raise ValueError(f"{name} needs at least {min_length} points along its first axis, got {x.shape[0]}")
    x = x.to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} holds NaN or infinite values (a diverged run?); measure the finite part only")
    single = x.dim() == 1
    return (x[:, None] if single else x), single


def _squeeze(value: Tensor, single: bool) -> Tensor:
    return value[0] if single else value


def _detrend(x: Tensor) -> tuple[Tensor, Tensor]:
    """``x`` (T, S) minus its least-squares line, and the line's slope ``(S,)``."""
    t = torch.arange(len(x), dtype=x.dtype)
    t = (t - t.mean())[:, None]  # centred, so that the slope and the intercept separate
    centred = x - x.mean(0)
    slope = (t * centred).sum(0) / t.square().sum()
    return centred - slope * t, slope


def detrend(x: Tensor) -> tuple[Tensor, Tensor]:
    """``x`` ``(T,)`` or ``(T, S)`` minus its least-squares line ``a + b t``, and the slope ``b`` (per step).

    Returns float64 CPU tensors: the residual (same shape as ``x``) and ``b`` (0-dim or ``(S,)``).
    """
    x, single = _as_series(x, min_length=2)
    residual, slope = _detrend(x)
    return (residual[:, 0] if single else residual), _squeeze(slope, single)


def _spectrum(residual: Tensor) -> Tensor:
    """Power ``(T // 2, S)`` at frequencies ``k / T``, ``k = 1 .. T // 2``, adding up to the residual's variance."""
    T = len(residual)
    power = torch.fft.rfft(residual, dim=0)[1:].abs().square() / T**2  # k = 1 .. T // 2
    # a real series' power at k and at T - k are equal: count both, except at k = T / 2 (its own mirror)
    power = 2 * power
    if T % 2 == 0:
        power[-1] /= 2
    return power


def power_spectrum(x: Tensor, spacing: float = 1.0) -> tuple[Tensor, Tensor]:
    """Frequencies ``(K,)`` in cycles per unit of ``spacing`` and the detrended series' power ``(K,)`` or ``(K, S)``.

    ``K = T // 2`` frequencies ``k / (T * spacing)``, ``k = 1 .. K``; the powers add up to the
    variance of the detrended series (so a sine of amplitude ``A`` puts ``A^2 / 2`` at its
    frequency). ``spacing`` is the number of steps between two points (e.g. 5 if G's samples
    were measured every 5 steps). Chapter 04.
    """
    _check_spacing(spacing)
    x, single = _as_series(x)
    power = _spectrum(_detrend(x)[0])
    frequency = torch.arange(1, len(power) + 1, dtype=torch.float64) / (len(x) * spacing)
    return frequency, power[:, 0] if single else power


def _check_spacing(spacing: float) -> None:
    if not isinstance(spacing, (int, float)) or isinstance(spacing, bool) or not spacing > 0:
        raise ValueError(f"spacing must be a number > 0 (steps between two points), got {spacing!r}")


@dataclass(frozen=True)
class Oscillation:
    """How a series swings (see the module docstring); each field is 0-dim for one series, ``(S,)`` for ``S``."""

    swing: Tensor
    """Std of the detrended series, in the series' units."""
    period: Tensor
    """Steps per cycle of the strongest frequency (``T * spacing / k*``)."""
    peak_share: Tensor
    """Share of the swing's power at the strongest frequency and its two neighbours, in [0, 1]."""
    crossings: Tensor
    """Sign changes of the detrended series (int64)."""
    trend: Tensor
    """Slope of the least-squares line, units of the series per step."""

    def __getitem__(self, s: int) -> Oscillation:
        """Column ``s`` of a measurement of ``(T, S)`` series."""
        return Oscillation(*(getattr(self, f)[s] for f in ("swing", "period", "peak_share", "crossings", "trend")))


def measure_oscillation(x: Tensor, spacing: float = 1.0) -> Oscillation:
    """Swing, period, peak share, sign changes and trend of ``x`` ``(T,)`` or of each column of ``(T, S)``.

    ``x`` is e.g. a loss per step, ``D(x)`` per step, or the mean position of G's samples measured
    every ``spacing`` steps (``period`` and ``trend`` are then in steps). Needs ``T >= 4`` finite
    values. Values are float64 on the CPU (``crossings`` int64). Chapter 04: a run that circles
    (large swing, most of it at one period) against one that settles.
    """
    _check_spacing(spacing)
    x, single = _as_series(x)
    residual, slope = _detrend(x)
    power = _spectrum(residual)  # (K, S)
    total = power.sum(0)
    k_star = power.argmax(0)  # (S,) index 0 is frequency 1 / T
    rows = torch.arange(len(power))[:, None]
    near = (rows - k_star).abs() <= 1  # (K, S): the peak and its neighbours
    tiny = torch.finfo(torch.float64).tiny
    peak_share = torch.where(total > 0, (power * near).sum(0) / total.clamp_min(tiny), torch.zeros_like(total))
    sign = torch.sign(residual)
    crossings = (sign[1:] * sign[:-1] < 0).sum(0)
    period = len(x) * spacing / (k_star + 1).double()
    return Oscillation(swing=_squeeze(total.sqrt(), single), period=_squeeze(period, single),
                       peak_share=_squeeze(peak_share, single), crossings=_squeeze(crossings, single),
                       trend=_squeeze(slope / spacing, single))


def settling_ratio(x: Tensor, window: int) -> Tensor:
    """Swing of the last ``window`` points over the swing of the first ``window`` points, each window detrended.

    ``x`` is ``(T,)`` or ``(T, S)`` with ``4 <= window <= T``; returns 0-dim or ``(S,)`` float64. About 1
    when the swing goes on, near 0 when the series settles (``exp(-(T - window) / tau)`` for a
    sine whose amplitude decays as ``exp(-t / tau)``); ``inf`` when only the first window is flat,
    NaN when both are. Chapter 04.
    """
    x, single = _as_series(x)
    if not isinstance(window, int) or isinstance(window, bool) or not 4 <= window <= len(x):
        raise ValueError(f"window must be an int in [4, T = {len(x)}], got {window!r}")
    first = _detrend(x[:window])[0].std(0, correction=0)
    last = _detrend(x[-window:])[0].std(0, correction=0)
    ratio = torch.where(first > 0, last / first.clamp_min(torch.finfo(torch.float64).tiny),
                        torch.where(last > 0, torch.inf, torch.nan))
    return _squeeze(ratio, single)


class SampleTrack:
    """A :func:`~gancourse.training.train` callback that keeps ``G(z)`` for one fixed ``z`` at every flush. Chapter 04.

    ``z`` is ``(n, z_dim)``, or ``(S, n, z_dim)`` for ``S`` stacked seeds, on G's device. At each
    call (every ``config.log_every`` steps) G is run on ``z`` without gradients, in the mode it
    trains in (so batch-norm statistics are not touched in eval mode, nor updated: an MLP
    without batch norm gives the same samples either way). :attr:`steps` and :meth:`samples`
    give the record; :meth:`centres` the mean of the samples, the series chapter 04 measures.
    """

    def __init__(self, z: Tensor) -> None:
        if z.dim() not in (2, 3):
            raise ValueError(f"z must be (n, z_dim) or (S, n, z_dim) for stacked seeds, got {tuple(z.shape)}")
        self.z = z
        self.steps: list[int] = []
        self._pending: list[Tensor] = []  # device tensors since the last read
        self._host: Tensor | None = None  # everything read so far, on the host

    def __call__(self, step: int, history: object, G: nn.Module, D: nn.Module | None = None) -> None:
        with torch.no_grad():
            self._pending.append(G(self.z).detach())
        self.steps.append(int(step))

    def samples(self) -> Tensor:
        """``(C, n, d)`` or ``(C, S, n, d)``: G's samples at each of the ``C`` calls, on the host."""
        if self._pending:  # one copy to the host per read, not one per call
            new = torch.stack(self._pending).cpu()
            self._host = new if self._host is None else torch.cat([self._host, new])
            self._pending = []
        if self._host is None:
            raise ValueError("no samples recorded yet: pass the track as train(..., callback=track) and train")
        return self._host

    def centres(self) -> Tensor:
        """``(C, d)`` or ``(C, S, d)``: the mean of G's samples at each call."""
        return self.samples().mean(dim=-2)
