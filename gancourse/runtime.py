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
