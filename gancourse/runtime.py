"""Where and how much the course runs: device choice, explicit seeding, the work budget.

Chapter 00 shows all three. Nothing here runs at import time: the device is
probed and the environment read only when a function is called.
"""

from __future__ import annotations

import os
import random

import torch

BUDGET_ENV = "GANCOURSE_BUDGET"
BUDGETS = ("smoke", "default", "full")
SEED_ENV = "GANCOURSE_SEED"
SEED_STRIDE = 1000
"""Seeds of base ``b`` are ``b * SEED_STRIDE + k``: base 0 keeps a chapter's own seeds, other bases
never overlap them."""


def default_device() -> torch.device:
    """The device experiments run on: CUDA if present, then Apple MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's (if installed) and PyTorch's global generators.

    Returns a fresh CPU ``torch.Generator`` seeded with ``seed``, for code that
    prefers an explicit generator to global state. Call it yourself: the package
    never seeds on its own.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    try:
        import numpy as np
    except ImportError:  # NumPy is optional for the package itself
        pass
    else:
        np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def base_seed() -> int:
    """The base seed named by ``GANCOURSE_SEED`` (unset: 0, the seeds the committed notebooks ran with).

    Every experiment of a chapter derives its seeds from it through :func:`seed`, so that one
    variable re-runs the whole chapter with other seeds (``scripts/seed_audit.py`` does that to
    check that every check cell's margin holds beyond the committed seeds).
    """
    value = os.environ.get(SEED_ENV, "").strip()
    if value == "":
        return 0
    try:
        base = int(value)
    except ValueError:
        base = -1
    if base < 0:
        raise ValueError(f"{SEED_ENV}={value!r} is not a base seed; use a non-negative integer such as 1, "
                         f"or leave it unset for 0")
    return base


def seed(k: int = 0) -> int:
    """Seed number ``k`` of an experiment under the current base seed: ``base_seed() * 1000 + k``.

    With ``GANCOURSE_SEED`` unset it is ``k`` itself, e.g. ``torch.Generator().manual_seed(runtime.seed(7))``
    uses seed 7; with ``GANCOURSE_SEED=2`` it uses 2007. ``k`` must lie in ``[0, 1000)``.
    """
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < SEED_STRIDE:
        raise ValueError(f"seed offset k must be an int in [0, {SEED_STRIDE}), got {k!r}")
    return base_seed() * SEED_STRIDE + k


def seeds(n: int, start: int = 0) -> list[int]:
    """``n`` consecutive seeds ``[seed(start), ..., seed(start + n - 1)]``, e.g. the seeds of a batched run."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    return [seed(start + i) for i in range(n)]


def budget() -> str:
    """The work budget named by ``GANCOURSE_BUDGET``: ``"smoke"``, ``"default"`` (unset) or ``"full"``.

    ``smoke`` runs every chapter in seconds with meaningless numbers, ``default``
    is what learners and CI run (every check cell holds there), ``full`` trains
    longer for nicer figures on a GPU.
    """
    value = os.environ.get(BUDGET_ENV, "").strip().lower()
    if value in ("", "default"):
        return "default"
    if value not in BUDGETS:
        raise ValueError(
            f"{BUDGET_ENV}={os.environ[BUDGET_ENV]!r} is not a known budget; "
            f"use one of {', '.join(BUDGETS)} (or leave it unset for 'default')"
        )
    return value


def by_budget(smoke, default, full=None):
    """Pick the value for the current budget, e.g. ``steps = by_budget(smoke=20, default=2000, full=20000)``.

    ``full`` falls back to ``default`` when not given.
    """
    return {"smoke": smoke, "default": default, "full": default if full is None else full}[budget()]
