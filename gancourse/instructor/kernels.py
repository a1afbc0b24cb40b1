"""Notebook kernels on private Unix sockets, so that several processes can start kernels at the same moment.

jupyter_client gives each kernel five TCP ports, each found free by binding port 0 and letting it go
again. Two processes that start kernels at once can be handed the same port (jupyter_client issue
487); a client then waits for messages from the wrong kernel, or for none. The test suite starts
kernels in three processes at once (nbval's chapters beside two workers running student versions),
and this is how a CI run hung. Kernels started here talk over IPC sockets (files) in a folder of
their own instead, which no other kernel can pick.

Used by :mod:`gancourse.instructor.checks` (student versions, nbgrader's autograding) and by
``scripts/execute_notebooks.py`` and ``scripts/seed_audit.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

SOCKET_PREFIX = "kernel"
"""Name of the socket files in the private folder (``kernel-1`` ... ``kernel-5`` for the first kernel)."""


@contextlib.contextmanager
def private_socket_folder() -> Iterator[Path]:
    """A fresh, short temporary folder for kernel sockets (a Unix socket path may hold about 100 characters).

    Removed with everything in it when the block ends.
    """
    folder = Path(tempfile.mkdtemp(prefix="gancourse-kernel-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # sockets of a kernel that is gone; nothing else lives here


def ipc_settings(folder: Path) -> dict[str, str]:
    """The KernelManager settings (``transport``, ``ip``) that put a kernel's sockets in ``folder``."""
    return {"transport": "ipc", "ip": str(Path(folder).resolve() / SOCKET_PREFIX)}


def execute_notebook(nb: Any, cwd: Path, timeout: int, allow_errors: bool = False,
                     kernel_name: str = "python3") -> Any:
    """Run every cell of the notebook ``nb`` (in place) in a fresh kernel started in ``cwd``; return ``nb``.

    As ``nbclient.NotebookClient(nb).execute()``, with ``timeout`` seconds per cell, but the kernel's
    sockets are private (see the module docstring). With ``allow_errors`` a failing cell keeps its
    error output and the run goes on; without, the first failing cell raises nbclient's
    ``CellExecutionError``.
    """
    from nbclient import NotebookClient
    from traitlets.config import Config

    with private_socket_folder() as folder:
        # nbclient builds the kernel manager from this config, so it also shuts the kernel down at the end
        # (a manager passed in as km= would be left running until this process exits)
        config = Config({"KernelManager": ipc_settings(folder)})
        client = NotebookClient(nb, config=config, timeout=timeout, kernel_name=kernel_name,
                                allow_errors=allow_errors, resources={"metadata": {"path": str(cwd)}})
        client.execute()
    return nb


def within(seconds: int, job: Callable[..., T], *args: Any) -> T:
    """``job(*args)``, stopped with ``TimeoutError`` if it runs longer than ``seconds``.

    For a whole notebook run whose kernel may stop answering in a way nbclient's per-cell timeout
    does not catch: the caller gets an error in bounded time instead of waiting for ever. Must be
    called in a process's main thread (it uses ``SIGALRM``; Unix only), e.g. in a worker of a
    process pool.
    """
    import signal

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"{getattr(job, '__name__', job)}{tuple(map(str, args))} did not finish in {seconds} s: "
                           f"a kernel stopped answering (or the run is far slower than it should be)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        return job(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
