"""The GAN doctor: reads a training log, names what is wrong, and says which fix to try first. Chapter 09.

The log is the engine's :class:`~gancourse.training.history.History`, or a CSV that a learner wrote from
their own training loop, one row per G step, with these columns (:data:`COLUMNS`):

* ``d_loss``, ``g_loss`` (required): the losses of D and G at that step;
* ``d_real``, ``d_fake``: D's mean output *probability* on the real and on the generated batch,
  ``sigmoid(logits).mean()``, i.e. D(x) and D(G(z)) (for D wins, G starves);
* ``d_grad_norm``, ``g_grad_norm``: the L2 norm of D's and of G's gradient (G starves, divergence);
* ``modes`` or ``diversity``: any measure of G's diversity, higher = more diverse, empty (or NaN)
  on the rows where it was not measured (mode collapse);
* ``step`` (optional): the step index; ``seed`` (optional): several runs in one file, one block
  of equally many rows per seed.

The symptoms are found by :class:`gancourse.diagnostics.health.HealthMonitor` (the same rules the live
monitor of chapter 00's playground applies); the doctor adds, for each symptom, the likely
causes and the fixes to try in order, each with the chapter that measures it (:data:`GUIDE`).
From a shell::

    python -m gancourse.doctor my_log.csv [--window 200] [--loss wasserstein] [--modes 8]

exits 0 when it sees nothing wrong, 1 when it names a symptom, 2 when the file cannot be read.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from gancourse.diagnostics.health import NOT_ENOUGH_HISTORY, HealthMonitor, Symptom
from gancourse.losses import get_loss
from gancourse.training.history import History

COLUMNS = ("step", "seed", "d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm", "modes",
           "diversity")
"""The columns the doctor reads; ``d_loss`` and ``g_loss`` are required, the others optional."""
REQUIRED = ("d_loss", "g_loss")
PROBABILITY_COLUMNS = ("d_real", "d_fake")
NO_PROBABILITY_LOSSES = ("wasserstein", "hinge", "least_squares")
"""Losses whose D loss is not near 0 when D wins: the doctor then judges D winning from D(x), D(G(z)) only."""


@dataclass(frozen=True)
class Remedy:
    """One fix to try: ``what`` in words, ``fix`` the lab's name for it (``gancourse.lab.FIXES``) if it has one."""

    what: str
    chapter: str
    fix: str | None = None


@dataclass(frozen=True)
class Advice:
    """A row of the symptom-to-fix guide: what the symptom looks like, why it happens, what to try, in order."""

    symptom: str
    looks_like: str
    causes: tuple[str, ...]
    remedies: tuple[Remedy, ...]
    chapter: str

    def __str__(self) -> str:
        lines = [f"{self.symptom}: {self.looks_like} (chapter {self.chapter})", "  likely causes:"]
        lines += [f"    - {c}" for c in self.causes]
        lines.append("  try, in this order:")
        lines += [f"    {i}. {r.what} (chapter {r.chapter}" + (f"; lab fix '{r.fix}')" if r.fix else ")")
                  for i, r in enumerate(self.remedies, 1)]
        return "\n".join(lines)


GUIDE: dict[str, Advice] = {
    "diverged": Advice(
        "diverged", "NaN or Inf in the losses or gradient norms",
        ("learning rates too high for the nets", "a Wasserstein critic with nothing keeping its slope bounded",
         "data far from unit scale"),
        (Remedy("lower both learning rates tenfold", "04"),
         Remedy("a gradient penalty on D (WGAN-GP, lambda 10)", "07", "wgan_gp"),
         Remedy("spectral norm on D's layers", "08", "spectral_norm"),
         Remedy("rescale the data to about [-1, 1]", "06")), "04"),
    "diverging": Advice(
        "diverging", "losses or gradient norms grown by orders of magnitude, not yet NaN",
        ("learning rates too high", "an unconstrained Wasserstein critic whose values run away"),
        (Remedy("lower both learning rates tenfold", "04"),
         Remedy("a gradient penalty on D (WGAN-GP, lambda 10)", "07", "wgan_gp"),
         Remedy("R1 on real data (gamma 1)", "01", "r1"),
         Remedy("spectral norm on D's layers", "08", "spectral_norm")), "07"),
    "d_wins": Advice(
        "d_wins", "D(x) near 1 and D(G(z)) near 0 for a long stretch, D's loss near 0",
        ("D learns much faster than G (its learning rate, its steps per G step, its size)",
         "real and generated samples on disjoint supports, which a D can always separate"),
        (Remedy("balance D and G: let G learn as fast as D, or give D fewer steps or a lower learning rate", "04"),
         Remedy("the non-saturating loss -log D(G(z)) if you use log(1 - D(G(z)))", "02"),
         Remedy("instance noise on D's inputs, annealed", "08", "instance_noise"),
         Remedy("one-sided label smoothing (real target 0.9)", "08", "label_smoothing"),
         Remedy("a Wasserstein critic with gradient penalty, whose gradient does not vanish", "07", "wgan_gp")),
        "02"),
    "g_starves": Advice(
        "g_starves", "G's gradient norm fallen to a few percent of its peak while D rejects G's samples",
        ("the saturating loss log(1 - D(G(z))) is flat where a confident D puts G's samples",
         "sigmoid or tanh layers that saturate in a deep net"),
        (Remedy("the non-saturating loss -log D(G(z))", "02"),
         Remedy("LeakyReLU instead of sigmoid/tanh, batch norm in G", "02"),
         Remedy("instance noise on D's inputs", "08", "instance_noise"),
         Remedy("a Wasserstein critic with gradient penalty", "07", "wgan_gp")), "02"),
    "mode_collapse": Advice(
        "mode_collapse", "G's diversity (modes covered, spread of its samples) falls far below the data's",
        ("G outruns D: D learns too slowly to push G's samples apart (the 'Helvetica scenario')",
         "D judges one sample at a time, so it cannot see that all samples look alike"),
        (Remedy("let D keep up: a higher D learning rate, or more D steps", "03"),
         Remedy("packing: D judges 2 samples at once (PacGAN2)", "08", "pack2"),
         Remedy("minibatch discrimination", "08", "minibatch_discrimination"),
         Remedy("unrolled G steps (k = 5)", "08", "unrolled5"),
         Remedy("a Wasserstein critic with gradient penalty", "07", "wgan_gp")), "03"),
    "oscillation": Advice(
        "oscillation", "the losses swing up and down without a trend and without settling",
        ("simultaneous gradient play rotates around the equilibrium instead of approaching it",
         "nothing flattens D around the data, so D and G chase each other"),
        (Remedy("R1 on real data (gamma 1)", "01", "r1"),
         Remedy("lower learning rates, or two time scales (lr_d 4e-4, lr_g 1e-4)", "04", "ttur"),
         Remedy("instance noise on D's inputs", "08", "instance_noise"),
         Remedy("a gradient penalty (WGAN-GP)", "07", "wgan_gp")), "04"),
}
"""The symptom-to-fix guide by symptom name (the names of :mod:`gancourse.diagnostics.health`)."""


@dataclass(frozen=True)
class Diagnosis:
    """What the doctor found in a log: each ``symptom`` with its ``advice``; ``rows`` and ``window`` as read."""

    symptoms: tuple[Symptom, ...]
    rows: int
    window: int
    source: str = ""

    @property
    def names(self) -> list[str]:
        """The names of the symptoms found (``"not_enough_history"`` when the log was too short to judge)."""
        return list(dict.fromkeys(s.name for s in self.symptoms))

    @property
    def healthy(self) -> bool:
        """True only when a full window was checked and nothing was found."""
        return not self.symptoms

    def advice(self) -> list[Advice]:
        """The guide's row for each symptom found, in the order found."""
        return [GUIDE[name] for name in self.names if name in GUIDE]

    def first_fix(self) -> Remedy | None:
        """The first remedy of the first symptom found: the thing to try first (None when healthy)."""
        advice = self.advice()
        return advice[0].remedies[0] if advice else None

    def __str__(self) -> str:
        head = f"GAN doctor: {self.rows} rows of {self.source or 'history'}, checks over the last {self.window} rows"
        if self.healthy:
            return head + "\nNo symptom found: D and G look balanced and nothing diverged."
        lines = [head]
        for symptom in self.symptoms:
            lines.append(f"\n{symptom}")
            if symptom.name in GUIDE:
                lines.append(str(GUIDE[symptom.name]))
        return "\n".join(lines)


def read_log(path: str | os.PathLike) -> History:
    """A learner's CSV log (columns: :data:`COLUMNS`) as a :class:`History`; ``(T, S)`` records with a ``seed`` column.

    Raises ``ValueError`` naming the file, the row and the column of anything it cannot use.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no log at {path}; write one CSV row per G step with columns "
                                f"{', '.join(COLUMNS)} (see gancourse.doctor)")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ValueError(f"{path} has no column {', '.join(missing)} (it has {', '.join(header) or 'none'}); "
                             f"the doctor needs at least {', '.join(REQUIRED)}, one row per G step")
        keys = [c for c in COLUMNS if c in header and c not in ("step", "seed")]
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path} has a header but no rows; log one row per G step")
    values = {c: [] for c in (*keys, *(k for k in ("step", "seed") if k in header))}
    for i, row in enumerate(rows, start=2):  # line 1 is the header
        row = {(k or "").strip(): v for k, v in row.items()}
        for c in values:
            text = (row.get(c) or "").strip()
            if text == "" and c in ("modes", "diversity"):
                values[c].append(math.nan)  # not measured at this step
                continue
            try:
                values[c].append(float(text))
            except ValueError:
                raise ValueError(f"{path}, line {i}, column {c!r}: {text!r} is not a number") from None
    records = {c: torch.tensor(v, dtype=torch.float64) for c, v in values.items()}
    for c in PROBABILITY_COLUMNS:
        finite = records[c][torch.isfinite(records[c])] if c in records else torch.zeros(0)
        if len(finite) and (finite.min() < 0 or finite.max() > 1):
            raise ValueError(f"{path}, column {c!r} holds values outside [0, 1] ({float(finite.min()):.3g} to "
                             f"{float(finite.max()):.3g}): log D's probability, torch.sigmoid(logits).mean(), "
                             f"not its logits")
    return _history(records, path)


def _history(records: dict[str, torch.Tensor], path: Path) -> History:
    """Records of one run, or of several runs told apart by a ``seed`` column, as a History."""
    seed = records.pop("seed", None)
    step = records.pop("step", None)
    if seed is None:
        return History.from_dict({**records, **({"step": step.long()} if step is not None else {})})
    seeds = list(dict.fromkeys(seed.long().tolist()))
    blocks = [seed == s for s in seeds]
    lengths = {s: int(b.sum()) for s, b in zip(seeds, blocks, strict=True)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{path}: the seeds have different numbers of rows ({lengths}); log every seed for the "
                         f"same steps, or write one file per seed")
    stacked = {c: torch.stack([v[b] for b in blocks], dim=1) for c, v in records.items()}  # (T, S)
    steps = step[blocks[0]].long() if step is not None else None
    return History.from_dict({**stacked, **({"step": steps} if steps is not None else {})})


def write_log(history: History, path: str | os.PathLike, diversity: dict[int, torch.Tensor] | None = None,
              key: str = "modes") -> Path:
    """Write ``history`` as a CSV the doctor reads (what a learner's own loop would log). Chapter 09.

    ``diversity``: ``{step: value}`` (a number, or ``(S,)`` for stacked seeds) written in column
    ``key`` at those steps and left empty elsewhere. Stacked seeds get a ``seed`` column.
    """
    records = history.to_dict()
    steps = records.pop("step").tolist()
    columns = [k for k in records if k in COLUMNS]
    S = records[columns[0]].shape[1] if records[columns[0]].dim() == 2 else None
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["step", *(["seed"] if S is not None else []), *columns, *([key] if diversity else [])])
        for s in range(S or 1):
            for i, step in enumerate(steps):
                row = [step, *([s] if S is not None else [])]
                row += [f"{float(records[c][i] if S is None else records[c][i, s]):.6g}" for c in columns]
                if diversity:
                    value = diversity.get(step)
                    value = None if value is None else torch.as_tensor(value).flatten()[0 if S is None else s]
                    row.append("" if value is None else f"{float(value):.6g}")
                writer.writerow(row)
    return path


def default_window(rows: int) -> int:
    """The checks' window for a log of ``rows`` rows: 200, or a third of a shorter log (at least 10)."""
    return max(10, min(200, rows // 3))


def diagnose(log: History | str | os.PathLike, window: int | None = None, loss: str = "non_saturating",
             reference_diversity: float | None = None, **monitor_options) -> Diagnosis:
    """Name the symptoms in a training log, with the guide's advice for each. Chapter 09.

    ``log``: a :class:`History` (``train(...).history``) or the path of a CSV (see the module
    docstring). ``window``: rows the checks look back over (default :func:`default_window`).
    ``loss``: the loss the run used (a name of :data:`gancourse.losses.LOSSES`, else ``ValueError``);
    for ``wasserstein``, ``hinge`` and ``least_squares`` D's loss is not read as "near 0 means D wins".
    ``reference_diversity``: the data's value of the diversity column (e.g. 8 modes on the ring);
    then a diversity below ``collapse_drop`` (1/2) of it is collapse even if G never spread,
    otherwise collapse is a fall from the best value logged. Other keywords go to
    :class:`~gancourse.diagnostics.health.HealthMonitor`.
    """
    get_loss(loss)  # a mistyped name would otherwise pass for a probability loss without a word
    source = ""
    if not isinstance(log, History):
        source = str(log)
        log = read_log(log)
    if window is None:
        window = default_window(len(log))
    if loss in NO_PROBABILITY_LOSSES:
        monitor_options.setdefault("d_loss_max", None)
    monitor_options.setdefault("osc_smooth", min(5, window // 2))
    monitor = HealthMonitor(window=window, verbose=False, **monitor_options)
    symptoms = monitor.check(log)
    if reference_diversity is not None:
        if not reference_diversity > 0:
            raise ValueError(f"reference_diversity must be > 0 (the data's value), got {reference_diversity}")
        symptoms = [s for s in symptoms if s.name != "mode_collapse"] + _collapse_against(
            monitor, log, reference_diversity, [s for s in symptoms if s.name in ("diverged", "diverging")])
    if len(log) >= window:
        symptoms = [s for s in symptoms if s.name != NOT_ENOUGH_HISTORY]
    return Diagnosis(tuple(symptoms), len(log), window, source)


def _collapse_against(monitor: HealthMonitor, log: History, reference: float, diverged: list[Symptom]) -> list[Symptom]:
    """Mode collapse judged against the data's diversity: the last logged value below ``collapse_drop`` of it."""
    key = next((k for k in ("modes", "diversity") if k in log.keys), None)
    if key is None:
        return []
    values = log[key]
    values = values[:, None] if values.dim() == 1 else values  # (T, S)
    measured = torch.isfinite(values)
    rows = torch.arange(len(values))[:, None]
    last = torch.where(measured, rows, -1).max(0).values.clamp_min(0)
    now = values.gather(0, last[None])[0]
    ok = measured.any(0)
    for symptom in diverged:  # a diverged seed's diversity means nothing
        for s in symptom.seeds if symptom.seeds is not None else range(values.shape[1]):
            ok[s] = False
    return monitor._collapse_symptom(log[key].dim() > 1, int(log.steps[-1]), now, torch.full_like(now, reference),
                                     f"the '{key}' record (reference: the data's {reference:g})", ok)


def main(argv: list[str] | None = None) -> int:
    """``python -m gancourse.doctor LOG.csv``: print the diagnosis; exit 0 healthy, 1 symptoms, 2 bad input."""
    parser = argparse.ArgumentParser(prog="python -m gancourse.doctor", description=__doc__.split("\n")[0])
    parser.add_argument("log", help=f"CSV with one row per G step; columns {', '.join(COLUMNS)}")
    parser.add_argument("--window", type=int, default=None, help="rows the checks look back over")
    parser.add_argument("--loss", default="non_saturating", help="the loss the run used (e.g. wasserstein)")
    parser.add_argument("--modes", type=float, default=None, dest="reference_diversity",
                        help="the data's value of the modes/diversity column (e.g. 8 for the ring)")
    args = parser.parse_args(argv)
    try:
        diagnosis = diagnose(args.log, args.window, args.loss, args.reference_diversity)
    except (OSError, ValueError) as error:
        print(f"gancourse.doctor: {error}", file=sys.stderr)
        return 2
    print(diagnosis)
    return 0 if diagnosis.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
