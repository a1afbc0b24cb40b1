"""Kernels started by the instructor checks and the notebook scripts use private Unix sockets (no TCP port race)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from gancourse.instructor import kernels

WHERE_AM_I = ("import json, os\nfrom ipykernel.connect import get_connection_info\n"
              "info = json.loads(get_connection_info())\nprint(info['transport'], info['ip'], os.getcwd())")


def test_a_notebook_runs_in_its_folder_on_private_sockets_that_are_removed_after(tmp_path: Path, monkeypatch):
    folders = []
    real = kernels.private_socket_folder

    def spy():
        context = real()

        class Spy:
            def __enter__(self):
                folders.append(context.__enter__())
                return folders[-1]

            def __exit__(self, *exc):
                return context.__exit__(*exc)
        return Spy()

    monkeypatch.setattr(kernels, "private_socket_folder", spy)
    nb = kernels.execute_notebook(new_notebook(cells=[new_code_cell(WHERE_AM_I)]), tmp_path, timeout=60)
    transport, ip, cwd = nb.cells[0].outputs[0]["text"].split()
    assert transport == "ipc"
    assert Path(ip).parent == folders[0] and Path(ip).name == kernels.SOCKET_PREFIX
    assert Path(cwd) == tmp_path.resolve()
    assert not folders[0].exists()  # the sockets went with their folder


def test_a_failing_cell_stops_the_run_unless_errors_are_allowed(tmp_path: Path):
    from nbclient.exceptions import CellExecutionError

    cells = [new_code_cell("1 / 0"), new_code_cell("print('after')")]
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        kernels.execute_notebook(new_notebook(cells=[c.copy() for c in cells]), tmp_path, timeout=60)
    nb = kernels.execute_notebook(new_notebook(cells=cells), tmp_path, timeout=60, allow_errors=True)
    assert nb.cells[0].outputs[0]["ename"] == "ZeroDivisionError"
    assert nb.cells[1].outputs[0]["text"] == "after\n"


def test_the_socket_settings_name_a_short_absolute_path(tmp_path: Path):
    with kernels.private_socket_folder() as folder:
        settings = kernels.ipc_settings(folder)
        assert settings["transport"] == "ipc"
        assert os.path.isabs(settings["ip"]) and len(settings["ip"]) < 80  # a Unix socket path holds ~100 bytes
    assert not folder.exists()


def test_nbgrader_autograding_starts_its_kernel_on_private_sockets(tmp_path: Path):
    pytest.importorskip("nbgrader")
    from gancourse import instructor

    meta = {"nbgrader": {"solution": False, "grade": True, "locked": True, "points": 1, "grade_id": "where",
                         "schema_version": 3}}
    answer = new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                           metadata={"nbgrader": {"solution": True, "grade": False, "locked": False,
                                                  "grade_id": "answer", "schema_version": 3}})
    check = new_code_cell(WHERE_AM_I + "\nassert info['transport'] == 'ipc', info['transport']", metadata=meta)
    chapter = tmp_path / "98_where.ipynb"
    nbformat.write(new_notebook(cells=[answer, check], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), chapter)
    with warnings.catch_warnings():  # nbgrader's own ORM warns (SAWarning); sqlalchemy comes with nbgrader only
        warnings.simplefilter("ignore")
        scores = instructor.autograde_instructor_version(chapter, tmp_path / "course")
    assert scores["where"].score == 1.0, scores["where"].error


def _sleep_then(seconds: float, value: str) -> str:
    import time

    time.sleep(seconds)
    return value


def test_a_job_past_its_deadline_is_stopped_with_a_timeout_and_a_quick_one_returns():
    assert kernels.within(5, _sleep_then, 0.01, "done") == "done"
    with pytest.raises(TimeoutError, match=r"_sleep_then.*did not finish in 1 s: a kernel stopped answering"):
        kernels.within(1, _sleep_then, 30, "late")


def test_nbval_starts_each_chapter_kernel_on_private_sockets():
    """The root conftest.py gives nbval's kernels private sockets (chapters run beside other kernel starts)."""
    nbval_kernel = pytest.importorskip("nbval.kernel")
    km, kc = nbval_kernel.start_new_kernel(kernel_name="python3")
    try:
        reply = kc.execute_interactive("x = 6 * 7", timeout=60)
        assert reply["content"]["status"] == "ok"
        assert km.transport == "ipc"
        assert os.path.isabs(km.ip) and Path(km.ip).name == kernels.SOCKET_PREFIX
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_the_kernel_is_shut_down_when_the_notebook_has_run(tmp_path: Path):
    """A worker runs many notebooks: each kernel must end with its notebook, not with the worker."""
    nb = kernels.execute_notebook(new_notebook(cells=[new_code_cell("import os; print(os.getpid())")]), tmp_path,
                                  timeout=60)
    pid = int(nb.cells[0].outputs[0]["text"])
    with pytest.raises(ProcessLookupError):  # no such process: the kernel has exited and been reaped
        os.kill(pid, 0)


OUTPUT_WIDGET = ("import ipywidgets\nfrom IPython.display import display\nout = ipywidgets.Output()\n"
                 "heard = []  # state updates the kernel receives for the widget from the client\n"
                 "set_state = out.set_state\nout.set_state = lambda state: (heard.append(state), set_state(state))\n"
                 "display(out)\nwith out:\n    print('inside the widget')")


def test_output_widgets_are_captured_without_a_message_back_to_the_kernel(tmp_path: Path):
    """nbclient's Output-widget stand-in replied on the shell socket while the cell's reply was awaited there:
    a CI run hung on it (nbclient issue 312). The quiet stand-in keeps the captured output, sends nothing."""
    cells = [new_code_cell(OUTPUT_WIDGET), new_code_cell("print(len(heard))")]
    nb = kernels.execute_notebook(new_notebook(cells=cells), tmp_path, timeout=60)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    captured = [m["state"]["outputs"] for m in state.values() if m["model_name"] == "OutputModel"]
    assert captured == [[{"output_type": "stream", "name": "stdout", "text": "inside the widget\n"}]]
    assert nb.cells[1].outputs[0]["text"] == "0\n"  # the kernel never heard back (from nbclient's own stand-in: 1)


def test_the_quiet_stand_in_holds_for_clients_made_in_the_block_only():
    from nbclient import NotebookClient
    from nbclient.output_widget import OutputWidget

    def stand_in() -> type:
        return NotebookClient(new_notebook()).widget_registry["@jupyter-widgets/output"]["OutputModel"]

    assert stand_in() is OutputWidget
    with kernels.quiet_output_widgets():
        quiet = stand_in()
        assert issubclass(quiet, OutputWidget) and quiet is not OutputWidget
    assert stand_in() is OutputWidget
