"""Committed notebooks are in the form nbformat writes, and a saved notebook's progress bars show their final state.

* Reading a chapter with nbformat and writing it back (what JupyterLab's server does on save)
  changes no byte, so saving a chapter unchanged does not rewrite it and a learner gets no git
  conflict from it. ``scripts/execute_notebooks.py`` writes notebooks in that form.
* Training progress bars (:mod:`gancourse.training.progress`) leave a text copy of their final state in
  the saved notebook. Before issue 11, chapter 00 showed "training: 0%" in the text fallback
  (what GitHub and static pages show) under a run that had finished: tqdm's notebook bar keeps
  the text it had when it first appeared. Tested by executing a tiny notebook with nbclient.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from script_loader import load_script

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def _load_script(name: str):
    return load_script(f"scripts/{name}.py")


def _round_trip(path: Path, tmp_path: Path) -> bytes:
    out = tmp_path / path.name
    nbformat.write(nbformat.read(path, as_version=nbformat.NO_CONVERT), out)
    return out.read_bytes()


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_a_chapter_reads_and_writes_back_byte_for_byte(path, tmp_path):
    assert CHAPTERS, "no chapter notebooks found"
    same = _round_trip(path, tmp_path) == path.read_bytes()  # not in the assert: pytest would diff megabytes
    assert same, f"{path.name} is not in the form nbformat writes: execute it with scripts/execute_notebooks.py"


def _tiny_notebook(path: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


TRAIN = """\
from gancourse import datasets
from gancourse.models import mlp
from gancourse.training.seeds import init_models
from gancourse.training import TrainConfig, train
G, D = init_models(0, lambda: mlp.MLPGenerator(width=8), lambda: mlp.MLPDiscriminator(width=8))
result = train(G, D, datasets.ring().sample, TrainConfig(steps=40, batch_size=8, log_every=10), device="cpu")
"""

FROZEN_D = """\
from gancourse.theory.best_response import train_g_against_frozen_d
frozen = train_g_against_frozen_d(G, D, TrainConfig(steps=30, batch_size=8, log_every=10), device="cpu")
"""

DIVERGES = """\
from gancourse.training import TrainingDiverged
G, D = init_models(0, lambda: mlp.MLPGenerator(), lambda: mlp.MLPDiscriminator())
try:
    train(G, D, datasets.ring().sample, TrainConfig(steps=1000, batch_size=256, lr_d=10.0, lr_g=10.0), device="cpu")
except TrainingDiverged as error:
    print("stopped:", type(error).__name__)
"""


def _bar_texts(cell) -> list[str]:
    """The text fallbacks of the progress bars (widget outputs) of a code cell."""
    return [output["data"]["text/plain"] for output in cell.outputs
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The tiny notebook executed and saved by scripts/execute_notebooks.py, as chapters are."""
    path = tmp_path_factory.mktemp("nb") / "tiny.ipynb"
    _tiny_notebook(path, [TRAIN, FROZEN_D, DIVERGES])
    _load_script("execute_notebooks").execute(path, timeout=600)
    return path


def test_a_saved_notebook_shows_the_finished_state_of_its_progress_bars(executed):
    nb = nbformat.read(executed, as_version=4)
    train_bars, frozen_bars, diverged_bars = (_bar_texts(cell) for cell in nb.cells)
    assert len(train_bars) == 1 and "100%" in train_bars[0] and "40/40" in train_bars[0], train_bars
    assert len(frozen_bars) == 1 and "100%" in frozen_bars[0] and "30/30" in frozen_bars[0], frozen_bars
    # a run stopped early shows the step it stopped at, not 0 and not 100%
    assert len(diverged_bars) == 1 and "100/1000" in diverged_bars[0], diverged_bars
    assert not any(" 0%" in text for text in train_bars + frozen_bars + diverged_bars)


def test_the_executed_notebook_is_written_in_the_round_trip_form(executed, tmp_path):
    assert _round_trip(executed, tmp_path) == executed.read_bytes()
    json.loads(executed.read_text())  # and it is plain JSON


def test_the_executed_notebook_names_the_installed_kernel_as_jupyterlab_does(executed):
    installed = _load_script("execute_notebooks").kernelspec()
    assert installed["display_name"] != "Python 3"  # the tiny notebook was written with this stale name
    assert nbformat.read(executed, as_version=4).metadata["kernelspec"] == installed


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_a_chapter_names_the_installed_kernel_so_opening_it_does_not_mark_it_modified(path):
    installed = _load_script("execute_notebooks").kernelspec()
    assert json.loads(path.read_text())["metadata"]["kernelspec"] == installed, (
        f"{path.name}: metadata.kernelspec differs from the installed kernel's; JupyterLab would rewrite it on "
        f"open. Execute it with scripts/execute_notebooks.py")
