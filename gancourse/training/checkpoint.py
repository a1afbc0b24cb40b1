"""Saving and loading training state so that a stopped run can go on exactly where it stopped.

:func:`gancourse.training.train` writes a checkpoint every ``checkpoint_every`` steps
(``G``, ``D``, both optimizers, the random generators' states, the step, the history
and the config) and resumes from one with ``resume_from=``. A checkpoint is written
atomically: a crash, a full disk or a killed kernel in the middle of a save leaves the
previous file untouched, never a half-written file under the final name. Chapters 06, 09
(the long runs) and anyone whose notebook kernel dies mid-training.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

CHECKPOINT_KEYS = ("G", "D", "opt_g", "opt_d", "rng", "step", "history", "config")
"""What :func:`gancourse.training.train` stores in a checkpoint."""


class CheckpointError(ValueError):
    """A file is not a readable gancourse checkpoint (empty, cut short, something else); the message says what to do."""


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) to ``path`` atomically; returns the path.

    The bytes go to a temporary file in the same folder, are flushed to disk (``fsync``)
    and only then renamed onto ``path`` (``os.replace`` is atomic on POSIX and Windows).
    Missing parent folders are created. On any error the temporary file is removed and
    the error re-raised; an older file at ``path`` stays as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # same folder as the target: os.replace is only atomic within one file system
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: never leave the temporary file behind
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)  # make the rename itself durable
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path: str | os.PathLike, map_location: torch.device | str | None = None,
                    required: tuple[str, ...] = ()) -> dict:
    """The state saved by :func:`save_checkpoint`, tensors moved to ``map_location``.

    Uses ``torch.load(weights_only=True)``: only tensors and plain Python containers are
    read, never arbitrary pickled objects, so loading a checkpoint cannot run code. Raises
    :class:`CheckpointError` when the file is empty, cut short or not a checkpoint at all
    (not torch's advice to unpickle it with ``weights_only=False``, which would be wrong for
    a damaged file), or when the state lacks one of the ``required`` keys.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; pass the checkpoint_path a run saved to")
    fix = ("gancourse writes checkpoints atomically, so a finished save is never cut short: pass the "
           "checkpoint_path a run saved to, or delete the file and train from scratch")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes), not a gancourse checkpoint; {fix}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception:  # torch raises RuntimeError, EOFError, UnpicklingError, KeyError... for damaged files
        # torch's own message advises weights_only=False, which is the wrong advice for a damaged file
        raise CheckpointError(f"{path} ({size:,} bytes) is not a readable gancourse checkpoint: it is cut short, "
                              f"damaged, or not a checkpoint at all; {fix}") from None
    missing = [key for key in required if not isinstance(state, dict) or key not in state]
    if missing:
        raise CheckpointError(f"{path} is a torch file but not a gancourse training checkpoint: it lacks "
                              f"{', '.join(missing)}; pass the checkpoint_path a run of training.train saved to")
    return state
