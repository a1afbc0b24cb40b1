"""Training runs built to fail in known ways, each beside the same run with one fix: the doctor's test cases.

Each :class:`Case` is a failure of the symptom-to-fix guide (:data:`gancourse.doctor.GUIDE`): the
settings of chapter 00's playground that make a 2-D GAN on the ring show one symptom, and the
same settings with the one change the guide says to try (where that change is a fix of the
course's registry, :data:`gancourse.lab.fixes.FIXES`, it is applied from there by
:func:`settings_with_fix`, so it is defined once). :func:`run_case` trains both through
the playground's headless :class:`~gancourse.widgets.session.Session` (stacked seeds, measured
after every chunk) and returns each as a :class:`CaseRun`: the training log with a ``modes``
column (the log a learner would write) and the doctor's verdict on it. Chapter 09's doctor
section and its widget use them; every run is measured, nothing is precomputed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from gancourse import doctor
from gancourse.lab.fixes import Fix, get_fix
from gancourse.training import TrainConfig
from gancourse.training.history import History
from gancourse.widgets.scenarios import COLLAPSE, DIVERGENCE, HEALTHY
from gancourse.widgets.session import Session, Settings

RING_MODES = 8
"""The ring's modes: the doctor's reference for the ``modes`` column (collapse: fewer than half of them)."""


@dataclass
class CaseSettings(Settings):
    """The playground's settings plus one it has no control for: ``simultaneous`` D and G steps (chapter 01).

    With ``simultaneous`` D and G step at once from one batch, each against the other's current
    weights (:mod:`gancourse.training.simultaneous`), the update whose rotation chapter 01 shows on the Dirac-GAN.
    """

    simultaneous: bool = False

    def train_config(self) -> TrainConfig:
        return dataclasses.replace(super().train_config(), simultaneous=self.simultaneous)


PLAYGROUND_D_OPTIONS = ("minibatch_discrimination", "spectral_norm")
"""The D options of a fix that the playground's settings have a control for."""


def settings_with_fix(settings: Settings, fix: str | Fix) -> Settings:
    """``settings`` with the registry's ``fix`` applied: its TrainConfig fields and D options that are settings. Ch. 09.

    Raises ``ValueError`` naming what the playground cannot express (e.g. Adam's ``betas``, feature
    matching, several generators, a D wrapper), instead of silently dropping part of the fix.
    """
    fix = get_fix(fix)
    names = {f.name for f in dataclasses.fields(settings)}
    missing = [k for k in fix.config if k not in names]
    missing += [f"D option {k}" for k in fix.D if k not in PLAYGROUND_D_OPTIONS]
    missing += [f"G option {k}" for k in fix.G]
    missing += [what for what, present in (("n_generators", fix.n_generators > 1), ("wrap_D", fix.wrap_D),
                                           ("its own train loop", fix.train)) if present]
    if missing:
        raise ValueError(f"the playground's settings cannot apply fix {fix.name!r}: no setting for "
                         f"{', '.join(missing)}; run it in the lab (lab.run_grid) instead")
    return dataclasses.replace(settings, **fix.config, **fix.D)


@dataclass(frozen=True)
class Case:
    """A failure (``broken``), its cure (``fixed``: one setting changed, or ``fix``, the registry's fix applied),
    and how long to train both (G steps)."""

    symptom: str
    title: str
    broken: Settings
    fixed: Settings
    change: str
    steps: int
    fix: str | None = None


OSCILLATING = CaseSettings(g_activation="relu", lr_d=1e-3, lr_g=1e-3, simultaneous=True)
"""D and G step simultaneously (chapter 01's rotation), a ReLU G, both learning rates 1e-3: the losses swing."""

CASES: dict[str, Case] = {
    "d_wins": Case(
        "d_wins", "D wins and G starves: saturating loss, G learns 300 times slower than D (lr_g = 1e-5)",
        dataclasses.replace(HEALTHY, loss="minimax", lr_g=1e-5), dataclasses.replace(HEALTHY, loss="minimax"),
        "G as fast as D (lr_g = 3e-3)", 300),
    "mode_collapse": Case(
        "mode_collapse", "Mode collapse: D learns 300 times slower than G (lr_d = 1e-5)", COLLAPSE,
        dataclasses.replace(COLLAPSE, lr_d=3e-3), "D as fast as G (lr_d = 3e-3)", 1000),
    "diverging": Case(
        "diverging", "Divergence: an unconstrained Wasserstein critic at learning rate 0.1",
        dataclasses.replace(DIVERGENCE, lr_d=0.1, lr_g=0.1), DIVERGENCE, "learning rates a tenth (1e-2)", 300),
    "oscillation": Case(
        "oscillation", "Oscillation: D and G step simultaneously (chapter 01), ReLU G, learning rates 1e-3",
        OSCILLATING, settings_with_fix(OSCILLATING, "ttur"),
        "two time scales, the lab's fix 'ttur' (lr_d 4e-4, lr_g 1e-4)", 600, fix="ttur"),
}
"""The built-to-fail runs by the symptom they show (each fix changes one setting, both learning rates scaled alike
count as one, or applies one fix of the registry); :data:`HEALTHY_STEPS` steps of the playground's default is the
healthy run. The oscillating run is the playground's oscillation scenario with simultaneous steps: with alternating
steps it oscillated at the end of 600 steps in 1 to 4 of 4 seeds depending on the base seed, with simultaneous ones
in all 16 seeds of base seeds 0 to 3, and never after the fix (measured while building chapter 09)."""

HEALTHY_STEPS = 1000


@dataclass
class CaseRun:
    """One trained run of a case: its ``settings``, training ``log`` (History, with ``modes``), samples
    ``(S, n, 2)``, the ``modes`` covered at the end ``(S,)``, the doctor's ``diagnosis``, and the engine's error
    message if it stopped the run."""

    settings: Settings
    log: History
    samples: torch.Tensor
    modes: torch.Tensor
    diagnosis: doctor.Diagnosis
    stopped: str = ""


def train_case(settings: Settings, steps: int, seeds: list[int], chunk: int = 100) -> CaseRun:
    """Train ``settings`` on ``seeds`` (stacked) for ``steps`` G steps in chunks, then ask the doctor. Chapter 09.

    The log is the engine's history plus a ``modes`` column measured after each chunk (the modes of
    2,500 samples, the 2-D protocol), judged against the ring's 8 modes. A run the engine stops
    (it diverged) keeps its log up to there, as a learner's log would be.
    """
    if not 1 <= len(seeds) <= 4:
        raise ValueError(f"a case trains 1 to 4 seeds side by side, got {len(seeds)}")
    if steps < chunk or steps % chunk:
        raise ValueError(f"steps must be a multiple of chunk={chunk}, got {steps}")
    session = Session(dataclasses.replace(settings, n_seeds=len(seeds), first_seed=seeds[0]))
    if session.seeds != list(seeds):
        raise ValueError(f"a case's seeds are consecutive (first_seed, first_seed + 1, ...), got {seeds}")
    stopped = ""
    for _ in range(steps // chunk):
        try:
            session.advance(chunk)
        except FloatingPointError as error:  # TrainingDiverged: the engine stopped the run; keep what was logged
            stopped = str(error)
            break
    records = {key: session.history(key) for key in session.runs[0].history.keys}  # (T, S)
    steps_done = session.runs[0].history.steps
    modes = torch.full_like(records["d_loss"], math.nan)
    measured = session.measurements
    for step, value in zip(measured.steps[1:], measured.modes[1:], strict=True):  # [0] is before training
        rows = (steps_done == step - 1).nonzero()
        if len(rows):
            modes[rows[0, 0]] = value
    log = History.from_dict({**records, "modes": modes, "step": steps_done})
    loss = "wasserstein" if settings.loss == "wasserstein" else settings.loss
    diagnosis = doctor.diagnose(log, loss=loss, reference_diversity=RING_MODES)
    return CaseRun(settings, log, session.samples(1000).cpu(), measured.modes[-1], diagnosis, stopped)


def run_case(symptom: str, seeds: list[int], steps: int | None = None) -> tuple[CaseRun, CaseRun]:
    """The broken run of :data:`CASES` ``[symptom]`` and its fixed twin, on the same seeds. Chapter 09.

    ``steps`` defaults to the case's own (shorter runs, e.g. at the smoke budget, may not show the symptom).
    """
    if symptom not in CASES:
        raise ValueError(f"unknown case {symptom!r}; use one of {', '.join(CASES)}")
    case = CASES[symptom]
    steps = case.steps if steps is None else steps
    return train_case(case.broken, steps, seeds), train_case(case.fixed, steps, seeds)


def seeds_with(run: CaseRun, symptom: str) -> list[int]:
    """Which of the run's seeds (positions 0..S-1) the doctor found ``symptom`` in."""
    S = run.log["d_loss"].shape[1]
    found = set()
    for s in run.diagnosis.symptoms:
        if s.name == symptom:
            found |= set(s.seeds if s.seeds is not None else range(S))
    return sorted(found)
