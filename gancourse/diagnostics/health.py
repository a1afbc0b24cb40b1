"""A training health monitor: reads a run's history and names the failures the course teaches.

Pass a :class:`HealthMonitor` as the ``callback`` of :func:`gancourse.training.train`
to hear about a failure while it happens, or call :meth:`HealthMonitor.check` on a
finished run's :class:`~gancourse.training.history.History`. Each :class:`Symptom` says in
plain words what was measured and which chapter explains it:

* ``diverged``: a NaN or Inf in a record (chapters 04, 09);
* ``diverging``: losses or gradient norms grown by orders of magnitude, not yet NaN (chapters 04, 09);
* ``d_wins``: D separates real from fake perfectly, its loss near zero (chapter 02);
* ``g_starves``: G's gradient norm collapsed (chapter 02);
* ``mode_collapse``: G's diversity fell (chapter 03);
* ``oscillation``: the losses swing up and down without a trend (chapter 04).

Histories of ``S`` stacked seeds (records ``(T, S)``) are checked seed by seed, and a
symptom lists the seeds that show it. A history shorter than the monitor's window cannot
show the window-based symptoms: :meth:`HealthMonitor.check` then says "not enough history"
(:data:`NOT_ENOUGH_HISTORY`) instead of nothing. :func:`explosion` is the rule by which
:func:`gancourse.training.train` also stops a diverging run. The checks read host tensors that the history
has already flushed, so they never wait for the device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from gancourse.training.history import History

CHAPTERS = {
    "diverged": "04 non-convergence / 09 stability lab",
    "diverging": "04 non-convergence / 09 stability lab",
    "d_wins": "02 vanishing gradients",
    "g_starves": "02 vanishing gradients",
    "mode_collapse": "03 mode collapse",
    "oscillation": "04 non-convergence and oscillating losses",
}
"""The chapter that explains each symptom, by symptom name."""

NOT_ENOUGH_HISTORY = "not_enough_history"
"""The name of what :meth:`HealthMonitor.check` returns for a history too short to judge (not a failure)."""

EXPLODE_LIMITS = {"d_loss": 1e3, "d_grad_norm": 1e5, "g_grad_norm": 1e5}
"""A record "explodes" when its median |value| over the last :data:`EXPLODE_ROWS` steps reaches its limit.

D's loss is of order 1 in a healthy run (log 4 at the start of a non-saturating GAN, the critic's
distance estimate for WGAN-GP), so 1e3 is a thousand times too large. Gradient norms depend on the
net's size: the course's 2-D GANs stay below 20, the DCGAN's D reached 312 in a healthy run (Fashion-MNIST,
batch 64), hence 1e5. Runs that explode pass both by many orders of magnitude (lr=10: 1e9 and more).
G's loss is not watched: a Wasserstein or hinge critic's output has no fixed offset, so G's loss may
drift far from 0 in a healthy run. ``tests/test_divergence.py`` checks healthy and exploding runs against it."""

EXPLODE_ROWS = 10
"""Steps the explosion rule takes the median over (one spike is not an explosion)."""

_WHAT = {"d_loss": "D's loss", "g_loss": "G's loss", "d_grad_norm": "D's gradient norm",
         "g_grad_norm": "G's gradient norm"}

DIVERSITY_KEYS = ("modes", "diversity")
"""Optional history records of G's diversity (higher = more diverse); NaN marks a row where it was not measured."""


@dataclass(frozen=True)
class Symptom:
    """One failure seen in a run: ``name`` (a key of :data:`CHAPTERS`), the ``step`` it was seen at,
    a plain-words ``message``, the ``chapter`` that explains it, and for stacked runs the ``seeds`` that show it."""

    name: str
    step: int
    message: str
    chapter: str
    seeds: tuple[int, ...] | None = None

    def __str__(self) -> str:
        return f"[step {self.step}] {self.message}"


def _columns(values: Tensor) -> Tensor:
    """A record as ``(T, S)`` (``S = 1`` for one run)."""
    return values[:, None] if values.dim() == 1 else values.flatten(1)


def _describe(stacked: bool, seeds: list[int], values: dict[int, str]) -> tuple[tuple[int, ...] | None, str]:
    """The symptom's ``seeds`` field and the measured numbers, per seed for stacked runs."""
    if not stacked:
        return None, values[seeds[0]]
    return tuple(seeds), "; ".join(f"seed {s}: {values[s]}" for s in seeds)


class Explosion(NamedTuple):
    """What :func:`explosion` finds, one entry per seed."""

    exploding: Tensor
    """``(S,)`` bool: some watched record's windowed median reached its limit."""
    keys: list[str | None]
    """The first such record (in the limits' order) per seed, or None."""
    peak: Tensor
    """``(S,)`` that record's largest windowed median."""
    start: Tensor
    """``(S,)`` that record's median over the run's first steps, for comparison."""
    step: Tensor
    """``(S,)`` int64: the step at which the first window over the limit ends (-1 where none)."""


def explosion(history: History, since: int = 0, rows: int = EXPLODE_ROWS,
              limits: dict[str, float] | None = None) -> Explosion:
    """Which seeds' losses or gradient norms have grown by orders of magnitude without becoming NaN.

    For each record of ``limits`` (default :data:`EXPLODE_LIMITS`), the median ``|value|`` over every
    window of ``rows`` consecutive steps that ends at row ``since`` or later is compared with the
    record's limit, per seed: a sustained explosion counts even if the values come back down (a
    run that has thrown its weights around is broken), a single spike does not. Reads flushed
    host rows only: the training loop calls it at each flush with ``since`` = the first new row,
    never per step.
    """
    limits = EXPLODE_LIMITS if limits is None else limits
    keys = [k for k in limits if k in history.keys]
    T = len(history)
    if T == 0 or not keys or since >= T:
        S = _columns(history[history.keys[0]]).shape[1] if T else 1
        return Explosion(torch.zeros(S, dtype=torch.bool), [None] * S, torch.zeros(S), torch.zeros(S),
                         torch.full((S,), -1))
    w = min(rows, T)
    lo = max(0, since - w + 1)  # the first row of the first window that ends at `since` or later
    columns = [_columns(history[k]) for k in keys]  # each (T, S)
    values = torch.stack([c[lo:] for c in columns]).abs().nan_to_num(nan=0.0)  # (K, T - lo, S)
    medians = values.unfold(1, w, 1).median(dim=-1).values  # (K, windows, S); NaN is the 'diverged' check's
    over = medians >= torch.tensor([limits[k] for k in keys])[:, None, None]  # Inf counts
    per_key = over.any(1)  # (K, S)
    exploding = per_key.any(0)
    first = per_key.int().argmax(0)  # (S,) the first record over its limit
    seeds = torch.arange(len(exploding))
    window = over[first, :, seeds].int().argmax(1)  # (S,) the first window over the limit
    steps = history.steps[lo + window + w - 1]
    start = torch.stack([c[:rows] for c in columns]).abs().nan_to_num(nan=0.0).median(dim=1).values  # (K, S)
    return Explosion(exploding, [keys[int(first[s])] if exploding[s] else None for s in range(len(exploding))],
                     medians.max(1).values[first, seeds], start[first, seeds],
                     torch.where(exploding, steps, -1))


def explosion_message(key: str, peak: float, start: float, step: int, rows: int = EXPLODE_ROWS) -> str:
    """Plain words for one exploding record: what grew, to what, by when, from what."""
    return (f"{_WHAT.get(key, key)} ({key}) reached {peak:.3g} (median |value| of {rows} consecutive steps, "
            f"first over the limit at step {step}; {start:.3g} over the first steps), beyond "
            f"{EXPLODE_LIMITS.get(key, 0):.0e}, which no healthy run of the course reaches")


class HealthMonitor:
    """Watches a GAN's history for the failures of chapters 02-04 and 09; use it as ``train(..., callback=monitor)``.

    Window-based checks look at the last ``window`` rows of the history (one row per G
    step) and stay silent until there are that many. Thresholds (all optional):

    * ``d_confidence``: D wins when, over the window, mean ``D(x) >= d_confidence`` and mean
      ``D(G(z)) <= 1 - d_confidence`` ...
    * ``d_loss_max``: ... and mean D loss ``<= d_loss_max`` (``None``: ignore the loss, e.g. for
      Wasserstein or hinge losses whose D loss is not near zero when D wins).
    * ``g_grad_drop``: G starves when the median of ``g_grad_norm`` over the last window is below
      ``g_grad_drop`` times its peak (the largest median over ``window // 10`` consecutive rows) ...
    * ``g_grad_floor``: ... or below this absolute value (``None``: no absolute floor; the
      scale depends on the model) ...
    * ``starve_d_fake_max``: ... while D still rejects G's samples, mean ``D(G(z)) <= starve_d_fake_max``
      (at an equilibrium G's gradient vanishes too, but there ``D(G(z))`` is about 1/2).
    * ``collapse_drop``: collapse when G's diversity falls below ``collapse_drop`` times its
      reference: for a ``modes``/``diversity`` record, the record's best value so far; for
      ``diversity_fn``, ``reference_diversity`` if given (e.g. the value on real data) else the
      best value measured so far.
    * ``diversity_fn``: ``G -> Tensor``, 0-dim or ``(S,)``, a diversity measure evaluated (under
      ``torch.no_grad()``, in G's current train/eval mode) each time the monitor sees ``G``, e.g.
      ``lambda G: mean_pairwise_distance(G(z_fixed))`` (:mod:`gancourse.diagnostics`).
    * Oscillation of ``d_loss`` or ``g_loss`` over the window: after a moving average over
      ``osc_smooth`` rows (to remove step-to-step noise) and removing the least-squares line,
      the residual's std is at least ``osc_amplitude`` times the mean ``|loss|`` and at least
      ``osc_noise_ratio`` times what step-to-step noise alone would leave after the moving average
      (so swings, not noise: faster swings than ``osc_smooth`` steps count as noise), it changes sign
      at least ``osc_min_crossings`` times (``osc_min_crossings / 2`` swings), and the line explains
      at most ``osc_max_r2`` of the smoothed loss's variance (no trend).

    ``check(history, G)`` returns every symptom present now; calling the monitor
    (``monitor(step, history, G, D)``, the train callback) also prints each symptom the first
    time it is seen for a seed (unless ``verbose=False``) and keeps it in ``.symptoms``.
    """

    def __init__(
        self,
        window: int = 200,
        d_confidence: float = 0.95,
        d_loss_max: float | None = 0.2,
        g_grad_drop: float = 0.02,
        g_grad_floor: float | None = None,
        starve_d_fake_max: float = 0.25,
        collapse_drop: float = 0.5,
        diversity_fn: Callable[[nn.Module], Tensor] | None = None,
        reference_diversity: float | Tensor | None = None,
        osc_amplitude: float = 0.05,
        osc_noise_ratio: float = 3.0,
        osc_min_crossings: int = 6,
        osc_max_r2: float = 0.3,
        osc_smooth: int = 5,
        verbose: bool = True,
    ) -> None:
        if not isinstance(window, int) or window < 4:
            raise ValueError(f"window must be an int >= 4 (rows of history), got {window!r}")
        for name, value in (("d_confidence", d_confidence), ("collapse_drop", collapse_drop),
                            ("osc_max_r2", osc_max_r2), ("starve_d_fake_max", starve_d_fake_max)):
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name} must be in (0, 1), got {value}")
        if not 0.0 < g_grad_drop < 1.0:
            raise ValueError(f"g_grad_drop must be in (0, 1), e.g. 0.02 for a 50-fold drop, got {g_grad_drop}")
        for name, value in (("d_loss_max", d_loss_max), ("g_grad_floor", g_grad_floor)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or None (off), got {value}")
        for name, value in (("osc_amplitude", osc_amplitude), ("osc_noise_ratio", osc_noise_ratio)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if not isinstance(osc_min_crossings, int) or osc_min_crossings < 1:
            raise ValueError(f"osc_min_crossings must be an int >= 1, got {osc_min_crossings!r}")
        if not isinstance(osc_smooth, int) or not 2 <= osc_smooth <= window // 2:
            raise ValueError(f"osc_smooth must be an int in [2, window // 2 = {window // 2}], got {osc_smooth!r}")
        if reference_diversity is not None and diversity_fn is None:
            raise ValueError("reference_diversity is the reference of diversity_fn; pass diversity_fn too")
        self.window = window
        self.d_confidence, self.d_loss_max = d_confidence, d_loss_max
        self.g_grad_drop, self.g_grad_floor, self.starve_d_fake_max = g_grad_drop, g_grad_floor, starve_d_fake_max
        self.collapse_drop, self.diversity_fn = collapse_drop, diversity_fn
        self.reference_diversity = None if reference_diversity is None else torch.as_tensor(reference_diversity)
        self.osc_amplitude, self.osc_noise_ratio = osc_amplitude, osc_noise_ratio
        self.osc_min_crossings, self.osc_max_r2, self.osc_smooth = osc_min_crossings, osc_max_r2, osc_smooth
        self.verbose = verbose
        self.symptoms: list[Symptom] = []
        """Every symptom reported by the callback, in order (each seed's first sighting of each name)."""
        self.diversity_log: list[tuple[int, Tensor]] = []
        """``(step, diversity)`` for each evaluation of ``diversity_fn``."""
        self._reported: set[tuple[str, int]] = set()
        self._rows_seen = 0  # the longest history the callback has seen, for summary()

    # ------------------------------------------------------------ public

    def check(self, history: History, G: nn.Module | None = None) -> list[Symptom]:
        """Every symptom present in ``history`` now (and in ``G``'s diversity, if ``diversity_fn`` and ``G``).

        A history shorter than ``window`` rows (empty included) in which no seed diverged gives
        one :data:`NOT_ENOUGH_HISTORY` entry that says so, rather than an empty list that would
        read as "no symptoms": NaN and explosions are checked at any length, the other
        symptoms need ``window`` rows.
        """
        if len(history) == 0:
            return [self._not_enough(history, 0)]
        step = int(history.steps[-1])
        stacked = history[history.keys[0]].dim() > 1
        symptoms, diverged = self._check_finite(history, stacked)
        exploding, diverging = self._check_exploding(history, stacked, step, ~diverged)
        symptoms += exploding
        healthy = ~diverged & ~diverging  # (S,): the other checks mean nothing once a seed has diverged
        for check in (self._check_d_wins, self._check_g_starves, self._check_oscillation):
            symptoms += check(history, stacked, step, healthy)
        symptoms += self._check_diversity_record(history, stacked, step, healthy)
        if self.diversity_fn is not None and G is not None:
            symptoms += self._check_diversity_fn(G, stacked, step)
        if len(history) < self.window and not symptoms:
            return [self._not_enough(history, step)]
        return symptoms

    def __call__(self, step: int, history: History, G: nn.Module | None = None, D: nn.Module | None = None) -> None:
        """The ``train`` callback: check, then print and keep each symptom that shows in a seed for the first time.

        "Not enough history" is expected early in a run: it is neither printed nor kept.
        """
        self._rows_seen = max(self._rows_seen, len(history))
        for symptom in self.check(history, G):
            if symptom.name == NOT_ENOUGH_HISTORY:
                continue
            seeds = symptom.seeds if symptom.seeds is not None else (0,)
            new = {(symptom.name, s) for s in seeds} - self._reported
            if not new:
                continue
            self._reported |= new
            self.symptoms.append(symptom)
            if self.verbose:
                print(symptom)

    def summary(self) -> str:
        """The reported symptoms as plain text, one per line; "no symptoms" only after a full window was checked."""
        if self.symptoms:
            return "\n".join(str(s) for s in self.symptoms)
        if self._rows_seen < self.window:
            return (f"not enough history: the monitor saw {self._rows_seen} rows, its checks need window="
                    f"{self.window} (train longer, or build HealthMonitor(window=...) with a smaller window)")
        return "no symptoms"

    # ------------------------------------------------------------ the checks

    def _not_enough(self, history: History, step: int) -> Symptom:
        message = (f"Not enough history: {len(history)} rows, but the checks for D winning, G starving and "
                   f"oscillation look at the last window={self.window} rows; only NaN/Inf and exploding values "
                   f"were checked. Train longer, or build HealthMonitor(window=...) with a smaller window.")
        return Symptom(NOT_ENOUGH_HISTORY, step, message, "")

    def _check_exploding(self, history: History, stacked: bool, step: int,
                         finite: Tensor) -> tuple[list[Symptom], Tensor]:
        # the windows within the last `window` rows: a monitor called at every flush sees each of them
        found = explosion(history, since=max(0, len(history) - self.window))
        exploding = found.exploding & finite
        seeds = exploding.nonzero()[:, 0].tolist()
        if not seeds:
            return [], exploding
        step = min(int(found.step[s]) for s in seeds)
        seeds_field, numbers = _describe(stacked, seeds, {s: explosion_message(
            found.keys[s], float(found.peak[s]), float(found.start[s]), int(found.step[s])) for s in seeds})
        message = (f"Training is diverging: {numbers}, though nothing is NaN yet. Weights thrown that far make "
                   f"the rest of the run meaningless, even if the values come back down: stop it and lower the "
                   f"learning rates (try a tenth), penalise D's gradients (R1 or a "
                   f"gradient penalty), constrain a Wasserstein critic, or check the data's scale "
                   f"(chapter {CHAPTERS['diverging']}).")
        return [Symptom("diverging", step, message, CHAPTERS["diverging"], seeds_field)], exploding

    def _check_finite(self, history: History, stacked: bool) -> tuple[list[Symptom], Tensor]:
        keys = [k for k in history.keys if k not in DIVERSITY_KEYS]
        bad = torch.stack([~torch.isfinite(_columns(history[k])) for k in keys])  # (K, T, S)
        diverged = bad.any(dim=(0, 1))  # (S,)
        if not diverged.any():
            return [], diverged
        steps = history.steps
        seeds = diverged.nonzero()[:, 0].tolist()
        first_row = bad.any(0).int().argmax(0)  # (S,) first row with a NaN/Inf
        first_step = {s: int(steps[first_row[s]]) for s in seeds}
        which = {s: ", ".join(k for i, k in enumerate(keys) if bad[i, :, s].any()) for s in seeds}
        seeds_field, numbers = _describe(stacked, seeds, {s: f"{which[s]} first at step {first_step[s]}"
                                                          for s in seeds})
        message = (f"Training diverged: NaN or Inf in {numbers}. Nothing after that point means anything. "
                   f"Lower the learning rates, clip or penalise D's gradients, or check the data's scale "
                   f"(chapter {CHAPTERS['diverged']}).")
        return [Symptom("diverged", min(first_step.values()), message, CHAPTERS["diverged"], seeds_field)], diverged

    def _recent(self, history: History, key: str) -> Tensor | None:
        """The last ``window`` rows of ``key`` as ``(window, S)``, or None if missing or too short."""
        if key not in history.keys or len(history) < self.window:
            return None
        return _columns(history[key][-self.window:])

    def _check_d_wins(self, history: History, stacked: bool, step: int, healthy: Tensor) -> list[Symptom]:
        d_real, d_fake = self._recent(history, "d_real"), self._recent(history, "d_fake")
        if d_real is None or d_fake is None:
            return []
        real, fake = d_real.mean(0), d_fake.mean(0)  # (S,)
        wins = healthy & (real >= self.d_confidence) & (fake <= 1.0 - self.d_confidence)
        d_loss = self._recent(history, "d_loss")
        if self.d_loss_max is not None and d_loss is not None:
            loss = d_loss.mean(0)
            wins &= loss <= self.d_loss_max
        else:
            loss = None
        seeds = wins.nonzero()[:, 0].tolist()
        if not seeds:
            return []
        numbers = {s: f"D(x) = {real[s]:.3f}, D(G(z)) = {fake[s]:.3f}"
                      + (f", D loss = {loss[s]:.3g}" if loss is not None else "") for s in seeds}
        seeds_field, numbers = _describe(stacked, seeds, numbers)
        message = (f"D wins: over the last {self.window} steps D tells real from fake almost perfectly "
                   f"({numbers}). G then gets little useful gradient, above all with the saturating loss "
                   f"log(1 - D(G(z))). Try the non-saturating loss, fewer D steps or a lower D learning rate, "
                   f"instance noise or label smoothing (chapter {CHAPTERS['d_wins']}).")
        return [Symptom("d_wins", step, message, CHAPTERS["d_wins"], seeds_field)]

    def _check_g_starves(self, history: History, stacked: bool, step: int, healthy: Tensor) -> list[Symptom]:
        recent = self._recent(history, "g_grad_norm")
        if recent is None:
            return []
        now = recent.median(0).values  # (S,); medians ignore single spikes
        short = max(self.window // 10, 1)
        peak = _columns(history["g_grad_norm"]).unfold(0, short, 1).median(-1).values.max(0).values
        starving = now < self.g_grad_drop * peak
        if self.g_grad_floor is not None:
            starving |= now < self.g_grad_floor
        d_fake = self._recent(history, "d_fake")
        if d_fake is not None:
            starving &= d_fake.mean(0) <= self.starve_d_fake_max
        seeds = (starving & healthy).nonzero()[:, 0].tolist()
        if not seeds:
            return []
        numbers = {s: f"now {now[s]:.3g}, at its peak {peak[s]:.3g}" for s in seeds}
        seeds_field, numbers = _describe(stacked, seeds, numbers)
        message = (f"G starves: the norm of G's gradient collapsed ({numbers}), so G has almost stopped "
                   f"learning. A D that is too sure of itself flattens the saturating loss; use the "
                   f"non-saturating loss, LeakyReLU instead of sigmoid/tanh, batch norm, or a weaker D "
                   f"(chapter {CHAPTERS['g_starves']}).")
        return [Symptom("g_starves", step, message, CHAPTERS["g_starves"], seeds_field)]

    def _oscillating(self, loss: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """For a window ``(W, S)`` of a loss: (oscillating?, relative amplitude, sign changes), each ``(S,)``."""
        k, tiny = self.osc_smooth, torch.finfo(loss.dtype).tiny
        smooth = loss.unfold(0, k, 1).mean(-1)  # (W - k + 1, S) moving average
        t = torch.arange(len(smooth), dtype=smooth.dtype)
        t = (t - t.mean())[:, None]
        centred = smooth - smooth.mean(0)
        slope = (t * centred).sum(0) / t.square().sum()  # least-squares line through the smoothed loss
        residual = centred - slope * t
        r2 = 1.0 - residual.square().sum(0) / centred.square().sum(0).clamp_min(tiny)
        swing = residual.std(0, correction=0)
        amplitude = swing / loss.abs().mean(0).clamp_min(tiny)
        # white noise of std sigma has step differences of std sigma * sqrt(2), and a k-step
        # average leaves sigma / sqrt(k) of it: swings must stand well above that
        noise = loss.diff(dim=0).std(0, correction=0) / (2 * k) ** 0.5
        sign = torch.sign(residual)
        crossings = (sign[1:] * sign[:-1] < 0).sum(0)
        oscillating = ((amplitude >= self.osc_amplitude) & (swing >= self.osc_noise_ratio * noise)
                       & (crossings >= self.osc_min_crossings) & (r2 <= self.osc_max_r2))
        return oscillating, amplitude, crossings

    def _check_oscillation(self, history: History, stacked: bool, step: int, healthy: Tensor) -> list[Symptom]:
        found = {}
        for key in ("d_loss", "g_loss"):
            recent = self._recent(history, key)
            if recent is not None:
                found[key] = self._oscillating(recent)
        if not found:
            return []
        flags = torch.stack([f[0] for f in found.values()]).any(0) & healthy
        seeds = flags.nonzero()[:, 0].tolist()
        if not seeds:
            return []
        names = {"d_loss": "D's loss", "g_loss": "G's loss"}
        numbers = {s: ", ".join(f"{names[key]} swings by ±{amp[s]:.0%} of its level and turns {int(cross[s])} times"
                                for key, (osc, amp, cross) in found.items() if osc[s]) for s in seeds}
        seeds_field, numbers = _describe(stacked, seeds, numbers)
        message = (f"Oscillation: over the last {self.window} steps the losses swing up and down without a "
                   f"trend ({numbers}). D and G are circling each other instead of converging, and the loss "
                   f"values say little about sample quality. Try lower or two different learning rates, "
                   f"a gradient penalty (R1), or balance the D and G steps (chapter {CHAPTERS['oscillation']}).")
        return [Symptom("oscillation", step, message, CHAPTERS["oscillation"], seeds_field)]

    def _collapse_symptom(self, stacked: bool, step: int, now: Tensor, reference: Tensor, what: str,
                          mask: Tensor) -> list[Symptom]:
        collapsed = mask & (now < self.collapse_drop * reference)
        seeds = collapsed.nonzero()[:, 0].tolist()
        if not seeds:
            return []
        seeds_field, numbers = _describe(stacked, seeds, {s: f"{now[s]:.3g} against {reference[s]:.3g}"
                                                          for s in seeds})
        message = (f"Mode collapse: {what} fell below {self.collapse_drop:.0%} of its reference ({numbers}). "
                   f"G is putting its samples on fewer modes. Try minibatch discrimination, packing, "
                   f"unrolled G steps or a gradient penalty (chapter {CHAPTERS['mode_collapse']}; "
                   f"fixes compared in chapter 08).")
        return [Symptom("mode_collapse", step, message, CHAPTERS["mode_collapse"], seeds_field)]

    def _check_diversity_record(self, history: History, stacked: bool, step: int, healthy: Tensor) -> list[Symptom]:
        key = next((k for k in DIVERSITY_KEYS if k in history.keys), None)
        if key is None:
            return []
        values = _columns(history[key])  # (T, S), NaN where not measured
        measured = torch.isfinite(values)
        has_value = measured.any(0)
        rows = torch.arange(len(values))[:, None]
        last = torch.where(measured, rows, -1).max(0).values.clamp_min(0)  # (S,) last measured row
        now = values.gather(0, last[None])[0]
        best = torch.where(measured, values, -torch.inf).max(0).values
        return self._collapse_symptom(stacked, step, now, best, f"the '{key}' record (best so far)",
                                      healthy & has_value)

    def _check_diversity_fn(self, G: nn.Module, stacked: bool, step: int) -> list[Symptom]:
        with torch.no_grad():
            value = torch.as_tensor(self.diversity_fn(G)).detach().float().cpu().flatten()  # (S,)
        self.diversity_log.append((step, value))
        if self.reference_diversity is not None:
            reference = self.reference_diversity.float().cpu().flatten().expand_as(value)
            what = "G's diversity (reference: reference_diversity)"
        else:
            reference = torch.stack([v for _, v in self.diversity_log]).max(0).values
            what = "G's diversity (reference: its best so far)"
        stacked = stacked or len(value) > 1
        return self._collapse_symptom(stacked, step, value, reference, what, torch.isfinite(value))
