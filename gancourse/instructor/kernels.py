"""Notebook kernels on private Unix sockets, so that several processes can start kernels at the same moment.

jupyter_client gives each kernel five TCP ports, each found free by binding port 0 and letting it go
again. Two processes that start kernels at once can be handed the same port (jupyter_client issue
487); a client then waits for messages from the wrong kernel, or for none. The test suite starts
kernels in three processes at once (nbval's chapters beside workers running student versions),
so kernels started here talk over IPC sockets (files) in a folder of their own instead, which no
other kernel can pick. They also run without the one message nbclient sends back to a kernel
during a cell (see :func:`_quiet_output_widget`), which made a CI run wait on a widget cell.

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
        with quiet_output_widgets():  # the client reads its Output-widget stand-in when it is made
            client = NotebookClient(nb, config=config, timeout=timeout, kernel_name=kernel_name,
                                    allow_errors=allow_errors, resources={"metadata": {"path": str(cwd)}})
        client.execute()
    return nb


@contextlib.contextmanager
def quiet_output_widgets() -> Iterator[None]:
    """Make the notebook clients of the block mimic Output widgets without messages to the kernel.

    Holds for nbclient's clients and nbgrader's, which are built on them (see :func:`_quiet_output_widget`).
    nbclient reads its stand-in class from the module-level name ``nbclient.client.OutputWidget``
    when a client is made; the block replaces it and puts it back. nbclient is pinned (through
    nbval and nbgrader's requirements); ``tests/test_kernels.py`` checks the name still exists.
    """
    import nbclient.client

    saved = nbclient.client.OutputWidget
    nbclient.client.OutputWidget = _quiet_output_widget()
    try:
        yield
    finally:
        nbclient.client.OutputWidget = saved


def _quiet_output_widget() -> type:
    """nbclient's stand-in for a front end's Output widget, minus its messages back to the kernel.

    nbclient's ``OutputWidget`` answers every output it captures with a comm message on the shell
    channel, sent from the task that reads IOPub while another task waits on that same socket for
    the cell's reply. Now and then that reply is never seen: the kernel is idle and the client
    waits until the cell timeout (nbclient issue 312). Chapters draw into Output widgets
    (:class:`gancourse.widgets.view.FigureView`), and a CI run waited 15 minutes on chapter 01's
    widget cell so. Without the message the captured outputs still go into the notebook's widget
    state as before; only the kernel's copy of the Output widget's ``outputs`` stays empty, which
    nothing in a batch run reads.
    """
    from nbclient.output_widget import OutputWidget

    class QuietOutputWidget(OutputWidget):
        """An Output widget's stand-in that never writes to the shell socket the reply comes on."""

        def sync_state(self) -> None:  # the message that raced the reply on the shell socket
            pass

    return QuietOutputWidget


def within(seconds: int, job: Callable[..., T], *args: Any) -> T:
    """``job(*args)``, stopped with ``TimeoutError`` if it runs longer than ``seconds``.

    For a whole notebook run: a client whose kernel's reply got lost waits out the full cell timeout
    (20 minutes) before nbclient gives up, so the caller bounds the run below that and gets an error
    in time to try again. The interrupted run's kernel is not shut down; it exits with this process.
    Must be called in a process's main thread (it uses ``SIGALRM``; Unix only), e.g. in a worker of
    a process pool.
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
