"""Where a grid's finished cells live, so that a killed run resumes and loses at most the cell in progress.

The store is a JSON-lines file: a first line describing the run (the set-up, versions, device,
budget) and one line per finished cell (the fix's spec, the seeds, one row per seed). Each
finished cell rewrites the whole file through a temporary file that is flushed to disk and
then renamed over the old one (``os.replace``, atomic on POSIX and Windows), so the file on
disk is always a complete set of finished cells: a kill at any moment leaves either the old
file or the new one, never half a line. Chapter 09.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path

import torch

import gancourse
from gancourse.runtime import budget
from gancourse.training.checkpoint import _fsync_dir

FORMAT = 1
"""Version of the store's layout."""


def run_meta(setup_spec: dict, device: torch.device | str) -> dict:
    """What a grid's results are stamped with: versions, device, budget, the set-up."""
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return {"kind": "meta", "format": FORMAT, "gancourse": gancourse.__version__, "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(), "device": str(device),
            "device_name": name, "budget": budget(), "setup": setup_spec}


def cell_key(fix: str, dataset: str, seeds: list[int]) -> tuple:
    """The identity of a cell: which fix, which dataset, which seeds."""
    return fix, dataset, tuple(seeds)


class Store:
    """The finished cells of one grid on disk (``path``), or in memory only when ``path`` is None."""

    def __init__(self, path: str | os.PathLike | None, meta: dict) -> None:
        self.path = None if path is None else Path(path)
        self.meta = meta
        self.cells: dict[tuple, dict] = {}
        if self.path is not None and self.path.exists():
            self._load()

    def _load(self) -> None:
        lines = [line for line in self.path.read_text().splitlines() if line.strip()]
        try:
            records = [json.loads(line) for line in lines]
        except json.JSONDecodeError as error:
            raise ValueError(f"{self.path} is not a lab store (line {error.lineno}: {error.msg}); the lab writes its "
                             f"stores whole, so this file was written by something else: pass another path") from None
        if not records or records[0].get("kind") != "meta":
            raise ValueError(f"{self.path} does not start with the lab's description line; pass another path")
        stored = records[0]
        if stored.get("setup") != self.meta["setup"]:
            raise ValueError(f"{self.path} holds a grid run with another set-up ({stored.get('setup')}), not "
                             f"{self.meta['setup']}: resume it with the set-up it was made with, or pass a new path")
        if stored.get("budget") != self.meta["budget"]:
            made = stored.get("budget")
            raise ValueError(f"{self.path} was made at budget {made!r}, this run is at {self.meta['budget']!r}: "
                             f"pass a new path, or set GANCOURSE_BUDGET={made}")
        for record in records[1:]:
            self.cells[cell_key(record["fix"], record["dataset"], record["seeds"])] = record

    def done(self, key: tuple, fix_spec: dict) -> dict | None:
        """The stored cell for ``key`` if it was made by the same fix, else None (it will be run again)."""
        record = self.cells.get(key)
        return record if record is not None and record["fix_spec"] == fix_spec else None

    def add(self, key: tuple, fix_spec: dict, rows: list[dict]) -> dict:
        """Keep a finished cell and write the store atomically; returns the stored record."""
        fix, dataset, seeds = key
        record = {"kind": "cell", "fix": fix, "dataset": dataset, "seeds": list(seeds), "fix_spec": fix_spec,
                  "rows": rows}
        self.cells[key] = record
        if self.path is not None:
            lines = [json.dumps(r, allow_nan=True) for r in (self.meta, *self.cells.values())]
            write_text_atomically(self.path, "\n".join(lines) + "\n")
        return record


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a flushed temporary file renamed over it (never a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path
