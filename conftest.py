"""Test-suite settings shared by ``tests/`` and ``chapters/`` (nbval): kernels on private sockets, longest first.

nbval starts each chapter's kernel with jupyter_client's default TCP ports. The suite runs in
parallel processes (pytest-xdist, and the student-version workers of
``tests/test_student_versions.py``), and two processes that start kernels at the same moment can
be handed the same port, after which a client may wait for ever (see
:mod:`gancourse.instructor.kernels`). Here nbval's kernels get private Unix sockets instead, as the
instructor checks' kernels do. nbval (pinned in requirements.txt) creates its kernels through the
module-level name ``nbval.kernel.KernelManager``, which is replaced for the session.
"""

from __future__ import annotations

import shutil
import tempfile

_saved: dict = {}


def pytest_configure(config):
    """Before any notebook's kernel starts (a kernel starts when nbval sets up a notebook's first cell)."""
    try:
        import nbval.kernel
    except ImportError:  # nbval is in requirements.txt; without it there are no notebook tests to protect
        return
    from gancourse.instructor.kernels import ipc_settings

    base = nbval.kernel.KernelManager
    folders: list[str] = []

    class PrivateSocketKernelManager(base):
        def __init__(self, **kwargs):
            folders.append(tempfile.mkdtemp(prefix="gancourse-nbval-"))
            super().__init__(**kwargs, **ipc_settings(folders[-1]))

    _saved.update(base=base, folders=folders)
    nbval.kernel.KernelManager = PrivateSocketKernelManager


def pytest_unconfigure(config):
    if not _saved:
        return
    import nbval.kernel

    nbval.kernel.KernelManager = _saved["base"]
    for folder in _saved["folders"]:
        shutil.rmtree(folder, ignore_errors=True)
    _saved.clear()


FIRST = ("tests/test_student_versions.py",)
"""Files that run for many minutes (their chapter runs go to worker processes), started before everything."""


def pytest_collection_modifyitems(config, items):
    """Longest first, so that two test processes (pytest-xdist, ``--no-loadscope-reorder``) end together.

    Order: the student versions (about twenty chapter runs), then the chapter notebooks (half a minute
    to three minutes each), then the test files (seconds each), each group in its collected order.
    """
    root = config.rootpath

    def rank(item) -> int:
        path = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        if path in FIRST:
            return 0
        return 1 if item.path.suffix == ".ipynb" else 2

    items.sort(key=rank)  # stable: each file's tests keep their order


_seconds: dict[str, float] = {}  # test file or notebook -> seconds its tests took (setup, call and teardown)


def pytest_runtest_logreport(report):
    """Add up each file's time (in the main process also under pytest-xdist: reports carry their durations)."""
    _seconds[report.nodeid.split("::", 1)[0]] = _seconds.get(report.nodeid.split("::", 1)[0], 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    """Print every chapter's time and the slowest test files, so that each CI log shows where its time goes."""
    if not _seconds:
        return
    chapters = sorted((path, s) for path, s in _seconds.items() if path.endswith(".ipynb"))
    files = sorted(((path, s) for path, s in _seconds.items() if not path.endswith(".ipynb")), key=lambda ps: -ps[1])
    write = terminalreporter.write_line
    terminalreporter.section("time per chapter and slowest test files (seconds in the test processes)")
    for path, seconds in chapters:
        write(f"{seconds:8.0f}  {path}")
    if chapters:
        write(f"{sum(s for _, s in chapters):8.0f}  all {len(chapters)} chapters")
    for path, seconds in files[:8]:
        write(f"{seconds:8.0f}  {path}")
    write(f"{sum(s for _, s in files):8.0f}  all {len(files)} test files")
