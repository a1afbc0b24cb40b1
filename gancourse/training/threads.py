"""How many CPU threads the course's work runs on: one for small models, more only where they pay.

PyTorch runs each CPU kernel on all physical cores by default, and its OpenMP threads
spin while they wait for each other. For the course's small 2-D GANs that buys nothing
on an idle machine (each kernel is too short to share out), and when another program
keeps one core busy every kernel waits for the thread that shares that core: a 2-D GAN
step took 485 ms instead of 9.6 ms on a 2-core machine with one core busy.

So the functions that train or measure models (:func:`gancourse.training.train`,
:func:`gancourse.metrics.fid`, ...) run their work inside :func:`for_work`, which picks the
thread count from the work's size and restores the previous count afterwards:

* work below :data:`PARALLEL_MFLOP` (MFLOP of one forward pass over one batch, counted by
  ``torch.utils.flop_counter``): one thread;
* larger work: every physical core but one (at least one thread), so that a browser or
  another program on the last core does not stall every kernel. On a 2-core machine that is
  one thread for everything: on a 2-core machine already loaded by other programs, two
  threads made the DCGAN step 5-14x slower than one, while on an idle machine they can at
  best halve it.

An explicit choice always wins: when ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set, when
``torch.set_num_threads`` was given a count other than torch's default, or inside
:func:`fixed`, the course leaves the thread count alone. Only CPU work is concerned: on a GPU
nothing changes. Nothing happens at import time. ``benchmarks/threads.py`` measures the
crossover behind :data:`PARALLEL_MFLOP`; README's "If training is suddenly very slow" says
what it means for a learner.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
from collections.abc import Callable, Iterator

import torch
from torch import nn

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Environment variables that fix torch's CPU thread count; when one is set the course leaves threads alone."""

PARALLEL_MFLOP = 100.0
"""Work (MFLOP of one forward pass of G and D over one batch) from which more than one thread pays on a CPU.

Between the course's 2-D GANs (2-34 MFLOP for one seed, 34 for 16 stacked seeds at width 64) and its
DCGAN (129-1,750 MFLOP at widths 16-64, batch 64) and FID scoring (4,000 MFLOP per 1,000 images).
``benchmarks/threads.py`` measures the crossover. On an idle 2-core machine a second thread paid from
34 MFLOP (1.26-1.68x) and not at 2 (1.03x), and with one core busy it lost at every size (0.22-0.95x):
100 keeps the 2-D GANs on one thread (at most 1.46x to gain idle, 4x to lose busy); on 2 cores the rule
gives one thread to everything anyway. See ``benchmarks/README.md``."""

_fixed: list[int] = []  # the counts of the active fixed() blocks, innermost last
_active = 0  # depth of nested for_work() blocks: inner blocks decide on their own, not as a user's choice


def default_threads() -> int:
    """The thread count torch picks when nobody chose one: the machine's physical cores.

    Read from ``torch.get_num_interop_threads()``, which torch sizes by the same rule
    (physical cores, ignoring ``OMP_NUM_THREADS``) and which a user rarely sets.
    """
    return max(1, torch.get_num_interop_threads())


def explicit_threads() -> int | None:
    """The thread count a user chose, or None when torch runs with its default.

    A choice is: a :func:`fixed` block, ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` in the
    environment, or a ``torch.set_num_threads(n)`` with ``n`` other than :func:`default_threads`
    (setting exactly the default cannot be told apart from not setting it: use :func:`fixed`).
    """
    if _fixed:
        return _fixed[-1]
    if _active:  # inside a for_work() block the current count is the course's own choice
        return None
    if any(os.environ.get(name, "").strip() for name in THREAD_ENV):
        return torch.get_num_threads()
    current = torch.get_num_threads()
    return current if current != default_threads() else None


def threads_for(mflop: float) -> int:
    """How many threads :func:`for_work` uses for ``mflop`` of work when nobody chose a count."""
    if mflop < PARALLEL_MFLOP:
        return 1
    return max(1, default_threads() - 1)


@contextlib.contextmanager
def for_work(mflop: float | Callable[[], float], device: torch.device | str | None = "cpu") -> Iterator[int]:
    """Run the block with the threads :func:`threads_for` picks for ``mflop`` of work; restore them after.

    ``mflop`` may be a function, called only when the count is the course's to choose (e.g.
    ``lambda: gan_mflop(G, D, z)``). Yields the thread count in force. Leaves threads alone on
    devices other than the CPU and whenever :func:`explicit_threads` finds a user's choice. Used
    by the training loop and the measuring functions of every chapter.
    """
    global _active
    chosen = explicit_threads()
    if torch.device(device or "cpu").type != "cpu" or chosen is not None:
        yield torch.get_num_threads()
        return
    before = torch.get_num_threads()
    n = threads_for(mflop() if callable(mflop) else mflop)
    _active += 1
    try:
        if n != before:
            torch.set_num_threads(n)
        yield n
    finally:
        _active -= 1
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@contextlib.contextmanager
def fixed(n: int) -> Iterator[int]:
    """Run the block on exactly ``n`` CPU threads, whatever the work; the course's functions inside keep it.

    ``with threads.fixed(2): train(...)`` overrides the automatic choice (e.g. to time both
    counts, as ``benchmarks/threads.py`` does). The previous count is restored afterwards.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"the thread count must be an int >= 1, got {n!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    _fixed.append(n)
    try:
        yield n
    finally:
        _fixed.pop()
        torch.set_num_threads(before)


def small_work(fn: Callable) -> Callable:
    """Decorator: run ``fn`` as work below :data:`PARALLEL_MFLOP` (one CPU thread unless the user chose a count).

    For loops of many tiny tensor steps, e.g. chapter 01's games (:mod:`gancourse.theory.games`).
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with for_work(0.0):
            return fn(*args, **kwargs)
    return wrapper


def forward_mflop(fn: Callable[[], object]) -> float:
    """MFLOP that ``fn()`` spends in matmuls and convolutions, counted by ``torch.utils.flop_counter``, no grad."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 1e6


@contextlib.contextmanager
def _eval_mode(*models: nn.Module) -> Iterator[None]:
    """Models in eval mode (no batch-norm statistics updated), each restored to its own mode after."""
    modes = [(m, m.training) for module in models for m in module.modules()]
    for module in models:
        module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def model_mflop(model: nn.Module, *inputs: torch.Tensor) -> float:
    """MFLOP of ``model(*inputs)`` in eval mode (nothing the model keeps changes), e.g. a classifier on one batch."""
    with _eval_mode(model):
        return forward_mflop(lambda: model(*inputs))


def private_copies(*models: nn.Module) -> tuple[nn.Module, ...] | None:
    """Deep copies of ``models`` to run a probe on, or None if one cannot be copied.

    A probe on a copy changes nothing the caller can see: not the nets' buffers, not a wrapper's
    count of its calls, not their train/eval mode; the copies' forward hooks are removed, so hooks
    registered on the nets do not see the probe either.
    """
    try:
        copies = tuple(copy.deepcopy(model) for model in models)
    except Exception:  # e.g. a module holding an open file: the caller then skips its probe
        return None
    for module in (m for model in copies for m in model.modules()):
        # hooks are copied by reference and would see the probe (a test's hook that records D's inputs)
        for name in ("_forward_pre_hooks", "_forward_hooks", "_forward_pre_hooks_with_kwargs",
                     "_forward_hooks_with_kwargs", "_forward_hooks_always_called"):
            hooks = getattr(module, name, None)
            if hooks is not None:
                hooks.clear()
    return copies


def gan_mflop(G: nn.Module, D: nn.Module, z: torch.Tensor, to_d_input: Callable | None = None) -> float:
    """MFLOP of one forward pass of ``G`` on ``z`` and of ``D`` on the result: the size of a GAN step's work.

    ``z`` is one batch ``(n, z_dim)`` (``(S, n, z_dim)`` for stacked seeds); ``to_d_input`` turns
    ``G(z)`` into D's input (e.g. packing). Counted on copies of the nets in eval mode, so nothing
    about ``G`` and ``D`` changes; 0 if they cannot be copied. :func:`gancourse.training.train`
    sizes its threads with it.
    """
    to_d_input = to_d_input or (lambda x: x)
    copies = private_copies(G, D)
    if copies is None:
        return 0.0
    G, D = copies
    with _eval_mode(G, D):
        return forward_mflop(lambda: D(to_d_input(G(z))))
