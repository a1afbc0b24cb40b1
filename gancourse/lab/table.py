"""The lab's results: a tidy table (one row per fix, dataset and seed), its summaries, and a ranking with its odds.

:class:`LabTable` holds the rows :func:`~gancourse.lab.grid.run_grid` returns and the run's
description (versions, device, budget, set-up); it summarises each metric over seeds (mean,
sample std, standard error, every seed's value), prints itself beside a published table and
writes CSV and JSON. :func:`rank_fixes` orders fixes by a metric's mean and says how often that
order survives when the seeds are resampled (a bootstrap over seeds): a ranking from 8 seeds is
an estimate, and GAN scores move a lot from seed to seed. Chapter 09.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

from gancourse.lab.published import published_key

ROW_FIELDS = ("fix", "dataset", "seed", "modes", "high_quality", "reverse_kl", "fid", "diverged", "wall_s", "steps",
              "message")
"""The columns of the tidy table, in order."""
HIGHER_IS_BETTER = {"modes": True, "high_quality": True, "reverse_kl": False, "fid": False}


@dataclass(frozen=True)
class Summary:
    """One metric of one fix on one dataset over its seeds: ``values`` per seed (NaN = diverged)."""

    fix: str
    dataset: str
    metric: str
    values: tuple[float, ...]
    mean: float
    std: float
    sem: float
    diverged: int

    def __str__(self) -> str:
        return f"{self.mean:.3g} ± {self.sem:.2g}"


class LabTable:
    """Rows ``{fix, dataset, seed, modes, high_quality, reverse_kl, fid, diverged, wall_s, steps, message}``."""

    def __init__(self, rows: list[dict], meta: dict) -> None:
        self.rows = [dict(r) for r in rows]
        self.meta = dict(meta)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def fixes(self) -> list[str]:
        return list(dict.fromkeys(r["fix"] for r in self.rows))

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(r["dataset"] for r in self.rows))

    def values(self, fix: str, dataset: str, metric: str) -> list[float]:
        """Every seed's value, in seed order of the grid (NaN where the run diverged)."""
        if metric not in HIGHER_IS_BETTER and metric not in ("wall_s",):
            raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(HIGHER_IS_BETTER)} or wall_s")
        found = [float(r[metric]) for r in self.rows if r["fix"] == fix and r["dataset"] == dataset]
        if not found:
            raise KeyError(f"no rows for fix {fix!r} on {dataset!r}; the table has fixes {self.fixes} on "
                           f"{self.datasets}")
        return found

    def same_rows(self, other: LabTable, ignore: tuple[str, ...] = ("wall_s",)) -> bool:
        """True if both tables hold the same rows in the same order, ignoring ``ignore`` (NaN equals NaN here)."""
        def plain(rows: list[dict]) -> list[dict]:
            return [{k: "nan" if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()
                     if k not in ignore} for r in rows]
        return plain(self.rows) == plain(other.rows)

    def summary(self, fix: str, dataset: str, metric: str) -> Summary:
        """Mean, sample std and standard error of ``metric`` over the seeds that did not diverge."""
        values = self.values(fix, dataset, metric)
        ok = [v for v in values if not math.isnan(v)]
        n = len(ok)
        mean = sum(ok) / n if n else math.nan
        std = math.sqrt(sum((v - mean) ** 2 for v in ok) / (n - 1)) if n > 1 else 0.0 if n else math.nan
        return Summary(fix, dataset, metric, tuple(values), mean, std, std / math.sqrt(n) if n else math.nan,
                       len(values) - n)

    def format(self, dataset: str, published: dict | None = None, metrics: tuple[str, ...] = (
            "modes", "high_quality", "reverse_kl")) -> str:
        """A text table of ``dataset``: mean ± standard error over seeds per fix, the published numbers beside.

        ``published`` is ``[dataset][method][metric] = (mean, se)`` or ``= mean`` (e.g.
        :data:`~gancourse.lab.published.PACGAN_TABLE1`); high quality is printed in %.
        """
        scale = {"high_quality": 100.0}
        names = {"modes": "modes", "high_quality": "high quality %", "reverse_kl": "reverse KL", "fid": "FID"}
        seeds = len(self.values(self.fixes[0], dataset, metrics[0]))
        head = f"{dataset} ({seeds} seeds, {self.rows[0]['steps']} steps; mean ± standard error)"
        lines = [f"{head:<34}" + "".join(f"{names[m]:>18}" for m in metrics) + ("   | published" if published else "")]
        for fix in self.fixes:
            cells = []
            for m in metrics:
                s = self.summary(fix, dataset, m)
                k = scale.get(m, 1.0)
                cells.append(f"{s.mean * k:.3g} ± {s.sem * k:.2g}" + (f" ({s.diverged}✗)" if s.diverged else ""))
            line = f"{fix:<34}" + "".join(f"{c:>18}" for c in cells)
            ref = (published or {}).get(dataset, {}).get(published_key(fix))
            if ref is not None:
                line += "   | " + " / ".join(_published_cell(ref.get(m)) for m in metrics)
            lines.append(line)
        return "\n".join(lines)

    # ------------------------------------------------------------ files

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """The tidy rows as CSV (plus the budget, device and versions as columns); written to ``path`` if given."""
        extra = ("budget", "device", "gancourse", "torch")
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[*ROW_FIELDS, *extra], lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({**{k: row.get(k, "") for k in ROW_FIELDS}, **{k: self.meta.get(k, "") for k in extra}})
        text = buffer.getvalue()
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The description of the run and the rows as JSON (NaN written as ``NaN``); written to ``path`` if given."""
        text = json.dumps({"meta": self.meta, "rows": self.rows}, indent=1)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> LabTable:
        """A table written by :meth:`to_json`."""
        data = json.loads(Path(path).read_text())
        return cls(data["rows"], data["meta"])


def _published_cell(ref: object) -> str:
    if ref is None:
        return "-"
    if isinstance(ref, tuple):
        return f"{ref[0]:g} ± {ref[1]:g}"
    return f"{ref:g}"


@dataclass(frozen=True)
class Ranking:
    """Fixes ordered by a metric's mean over seeds (best first), with how often the order survives resampling.

    ``p_best[f]``: share of bootstrap resamples in which ``f`` has the best mean. ``p_above_next[i]``:
    share in which ``order[i]`` still beats ``order[i + 1]``. ``p_order``: share in which the whole
    order holds. ``rank_interval[f]``: the 2.5 % and 97.5 % quantiles of ``f``'s rank (1 = best).
    """

    dataset: str
    metric: str
    order: tuple[str, ...]
    means: dict[str, float]
    p_best: dict[str, float]
    p_above_next: tuple[float, ...]
    p_order: float
    rank_interval: dict[str, tuple[int, int]]
    n_boot: int

    def __str__(self) -> str:
        lines = [f"{self.dataset}, ranked by {self.metric} ({self.n_boot} bootstrap resamples of the seeds; "
                 f"the whole order holds in {self.p_order:.0%})"]
        for i, fix in enumerate(self.order):
            lo, hi = self.rank_interval[fix]
            nxt = f", beats the next in {self.p_above_next[i]:.0%}" if i < len(self.p_above_next) else ""
            lines.append(f"{i + 1:>3}. {fix:<26} mean {self.means[fix]:.3g}; best in {self.p_best[fix]:.0%}, rank "
                         f"{lo}-{hi} in 95%{nxt}")
        return "\n".join(lines)


def rank_fixes(table: LabTable, dataset: str, metric: str = "modes", fixes: list[str] | None = None,
               n_boot: int = 2000, seed: int = 0, higher_is_better: bool | None = None) -> Ranking:
    """Rank ``fixes`` on ``dataset`` by the mean of ``metric`` and bootstrap the seeds to see how firm it is.

    Each resample draws every fix's seeds with replacement (its own seeds, as many as it has),
    recomputes the means and ranks them. A diverged seed counts as the worst value (0 modes, 0 %
    high quality, infinite KL). Ties share the better rank; a tie does not count as "beats".
    """
    fixes = table.fixes if fixes is None else list(fixes)
    higher = HIGHER_IS_BETTER[metric] if higher_is_better is None else higher_is_better
    if len(fixes) < 2:
        raise ValueError(f"ranking needs at least 2 fixes, got {fixes}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    sign = 1.0 if higher else -1.0
    gen = torch.Generator().manual_seed(seed)
    scores, means = [], {}
    for fix in fixes:
        v = torch.tensor(table.values(fix, dataset, metric), dtype=torch.float64)
        v = torch.where(torch.isnan(v), torch.tensor(-math.inf if higher else math.inf, dtype=torch.float64), v)
        means[fix] = float(v.mean())
        idx = torch.randint(len(v), (n_boot, len(v)), generator=gen)
        scores.append(sign * v[idx].mean(dim=1))  # (n_boot,): larger is better
    boot = torch.stack(scores, dim=1)  # (n_boot, F)
    observed = torch.tensor([sign * means[f] for f in fixes], dtype=torch.float64)
    order = sorted(range(len(fixes)), key=lambda i: -observed[i])
    ranks = 1 + (boot[:, None, :] > boot[:, :, None]).sum(dim=2)  # (n_boot, F): 1 + fixes strictly better
    beats = [boot[:, order[i]] > boot[:, order[i + 1]] for i in range(len(order) - 1)]
    whole = torch.stack(beats).all(dim=0) if beats else torch.ones(n_boot, dtype=torch.bool)
    q = torch.quantile(ranks.double(), torch.tensor([0.025, 0.975], dtype=torch.float64), dim=0)  # (2, F)
    return Ranking(dataset, metric, tuple(fixes[i] for i in order), means,
                   {f: float((ranks[:, i] == 1).double().mean()) for i, f in enumerate(fixes)},
                   tuple(float(b.double().mean()) for b in beats), float(whole.double().mean()),
                   {f: (int(q[0, i].floor()), int(q[1, i].ceil())) for i, f in enumerate(fixes)}, n_boot)


def plot_seeds(table: LabTable, dataset: str, metric: str = "modes", published: dict | None = None,
               ax: Axes | None = None) -> Axes:
    """Every seed's value of ``metric`` per fix (dots), the mean (bar) and a published mean (cross). Chapter 09.

    A diverged seed is drawn at the bottom as a red x. High quality is shown in %.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * len(table.fixes) + 2, 3.4), layout="constrained")
    scale = 100.0 if metric == "high_quality" else 1.0
    for i, fix in enumerate(table.fixes):
        s = table.summary(fix, dataset, metric)
        values = torch.tensor(s.values, dtype=torch.float64) * scale
        ok = ~torch.isnan(values)
        jitter = torch.linspace(-0.2, 0.2, len(values))
        ax.scatter(i + jitter[ok], values[ok], s=14, color="tab:blue", alpha=0.7, zorder=3)
        if (~ok).any():
            ax.scatter(i + jitter[~ok], torch.zeros(int((~ok).sum())), marker="x", color="tab:red", zorder=3)
        ax.hlines(s.mean * scale, i - 0.3, i + 0.3, color="black", lw=2)
        ref = (published or {}).get(dataset, {}).get(published_key(fix), {}).get(metric)
        if ref is not None:
            ref = ref[0] if isinstance(ref, tuple) else ref
            ax.scatter([i + 0.32], [ref], marker="x", s=50, color="tab:orange", zorder=4)
    ax.set_xticks(range(len(table.fixes)), table.fixes, rotation=30, ha="right")
    label = {"modes": "modes covered", "high_quality": "high quality (%)", "reverse_kl": "reverse KL"}
    title = f"{dataset}: every seed (dots), mean (bar)" + (", published (orange x)" if published else "")
    ax.set(ylabel=label.get(metric, metric), title=title)
    return ax
