"""Runs too long for a chapter's CPU budget, recorded once by a script and read back by the chapter.

A chapter states only what a cell computes. Where the experiment behind a claim takes tens
of minutes on a 2-core laptop (the DCGAN comparisons of chapters 04 and 08), a script under
``benchmarks/`` runs it once and writes every seed's numbers with what it ran on
(:func:`save`). The chapter reads them (:func:`load`), prints them with that provenance and
checks its claims on them; at the ``full`` budget it runs the experiment itself instead.
A recording is ``gancourse/recorded/<name>.json`` (package data): ``meta`` (what ran, where,
when, how long) and ``rows`` (one dict per run, e.g. per recipe and seed). A stability-lab grid
is recorded as the lab's own store, ``gancourse/recorded/<name>.jsonl`` (:func:`store_path`),
which :func:`gancourse.lab.run_grid` resumes from.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

import gancourse

RECORDED_DIR = Path(__file__).with_name("recorded")
FORMAT = 1
"""Version of a recording's layout."""


@dataclass(frozen=True)
class Recorded:
    """One recording: what ran and where (``meta``), and its ``rows`` (one dict per run)."""

    name: str
    meta: dict
    rows: list[dict]

    def column(self, key: str, **where: object) -> list:
        """``row[key]`` of every row whose fields equal ``where``, in order, e.g. ``column("fid", recipe="plain")``."""
        missing = [k for k in (key, *where) if any(k not in row for row in self.rows)]
        if missing:
            raise KeyError(f"recording {self.name!r} has no field {missing[0]!r} in every row; "
                           f"its fields: {sorted(self.rows[0]) if self.rows else []}")
        return [row[key] for row in self.rows if all(row[k] == v for k, v in where.items())]

    def describe(self) -> str:
        """One line of provenance: date, device, versions, the command and its run time."""
        m = self.meta
        return (f"recorded {m['date']} on {m['device']} ({m['device_name']}, {m['cpu_count']} CPU cores), "
                f"torch {m['torch']}, in {m['seconds'] / 60:.0f} min by `{m['command']}`")


def _path(name: str) -> Path:
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"a recording's name is letters, digits, '_' and '-', got {name!r}")
    return RECORDED_DIR / f"{name}.json"


def store_path(name: str) -> Path:
    """Where the recorded lab store ``name`` lives: ``gancourse/recorded/<name>.jsonl`` (chapter 09)."""
    return _path(name).with_suffix(".jsonl")


def store_meta(name: str) -> dict:
    """The description line of the recorded lab store ``name``: set-up, budget, device, versions (chapter 09)."""
    path = store_path(name)
    if not path.exists():
        raise FileNotFoundError(f"no recorded lab store {name!r} at {path}; benchmarks/lab_grid.py --record {name} "
                                f"writes it")
    first = path.read_text().split("\n", 1)[0]
    try:
        meta = json.loads(first)
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or meta.get("kind") != "meta":
        raise ValueError(f"{path} does not start with a lab store's description line; rerun "
                         f"benchmarks/lab_grid.py --record {name}")
    return meta


def save(name: str, settings: dict, rows: list[dict], device: torch.device | str, seconds: float,
         command: str | None = None, directory: str | os.PathLike | None = None) -> Path:
    """Write a recording atomically (never half a file) and return its path.

    ``settings``: what the script ran (steps, widths, seeds...); ``rows``: the measurements,
    JSON-serialisable; ``seconds``: the whole run's wall time; ``command``: how to rerun it
    (default: this process's command line). ``directory`` defaults to :data:`RECORDED_DIR`.
    """
    from gancourse.lab.store import write_text_atomically

    path = _path(name) if directory is None else Path(directory) / _path(name).name
    device = torch.device(device)
    device_name = (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else platform.processor() or platform.machine())
    meta = {"format": FORMAT, "name": name, "date": datetime.date.today().isoformat(), "device": str(device),
            "device_name": device_name, "cpu_count": os.cpu_count(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "gancourse": gancourse.__version__, "python": platform.python_version(),
            "seconds": round(float(seconds), 1),
            "command": command or "python " + " ".join(shlex.quote(a) for a in sys.argv), "settings": settings}
    text = json.dumps({"meta": meta, "rows": rows}, indent=1, allow_nan=False) + "\n"
    return write_text_atomically(path, text)


def load(name: str, directory: str | os.PathLike | None = None) -> Recorded:
    """Read the recording ``name`` (from :data:`RECORDED_DIR` unless ``directory``); a clear error if absent or bad."""
    path = _path(name) if directory is None else Path(directory) / _path(name).name
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.json")) if path.parent.exists() else []
        raise FileNotFoundError(f"no recording {name!r} at {path} (recordings there: {known}); the scripts in "
                                f"benchmarks/ write them with --record")
    try:
        data = json.loads(path.read_text())
        meta, rows = data["meta"], data["rows"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a gancourse recording ({type(error).__name__}: {error}); rerun the "
                         f"script that wrote it with --record") from None
    if meta.get("format") != FORMAT or not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{path} has layout {meta.get('format')!r}, this gancourse reads {FORMAT}: rerun the "
                         f"script that wrote it with --record")
    return Recorded(name, meta, rows)
