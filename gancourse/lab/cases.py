"""Training runs built to fail in known ways, each beside the same run with one fix: the doctor's test cases.

Each :class:`Case` is a failure of the symptom-to-fix guide (:data:`gancourse.doctor.GUIDE`): the
settings of chapter 00's playground that make a 2-D GAN on the ring show one symptom, and the
same settings with the one change the guide says to try. :func:`run_case` trains both through
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
from gancourse.history import History
from gancourse.widgets.scenarios import COLLAPSE, DIVERGENCE, HEALTHY
from gancourse.widgets.session import Session, Settings

RING_MODES = 8
"""The ring's modes: the doctor's reference for the ``modes`` column (collapse: fewer than half of them)."""


@dataclass(frozen=True)
class Case:
    """A failure (``broken``), its cure (``fixed``: one setting changed), and how long to train both (G steps)."""

    symptom: str
    title: str
    broken: Settings
    fixed: Settings
    change: str
    steps: int


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
}
"""The built-to-fail runs by the symptom they show (each fix changes one setting; both learning rates scaled alike
count as one); :data:`HEALTHY_STEPS` steps of the playground's default is the healthy run. Oscillation has no case
here: the playground's oscillation scenario oscillated at the end of 600 steps in only 1 of 4 seeds (measured while
building chapter 09), too few to check; the doctor's oscillation rule is tested on the Dirac-GAN
(``tests/test_doctor.py``)."""

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
