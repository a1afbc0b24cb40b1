"""Progress bars whose saved text shows where a run ended, not where it began.

In a notebook, tqdm draws an ipywidgets bar and stores beside it a plain-text copy
(``text/plain``) made when the bar first appears: ``training:   0%|  | 0/2000``. The widget
moves; the text never does. A reader without the widget's state (GitHub, a static page, a
notebook opened in another tool) therefore saw "0%" under a run that had finished. Here the
bar is displayed under a display id and displayed once more when it closes, which refreshes
both the widget and its text: a saved notebook reads "100%| 2000/2000" (or, for a run that
stopped early, the step it stopped at). Outside a notebook this is tqdm's usual text bar.
The training loops of every chapter (:func:`gancourse.training.train`,
:func:`gancourse.theory.best_response.train_g_against_frozen_d`) show their progress with it.
"""

from __future__ import annotations

import functools
import sys

from tqdm.auto import tqdm as _auto_tqdm


@functools.cache
def _notebook_bar() -> type | None:
    """The notebook bar class if tqdm.auto chose tqdm's notebook bar (a Jupyter kernel with ipywidgets), else None.

    Built on first use: tqdm.notebook imports IPython and ipywidgets, which a plain script never needs.
    """
    notebook = sys.modules.get("tqdm.notebook")  # tqdm.auto imported it only if it chose it
    if notebook is None or not issubclass(_auto_tqdm, notebook.tqdm_notebook):
        return None

    class NotebookBar(notebook.tqdm_notebook):
        """tqdm's notebook bar, displayed with a display id and displayed again, final, when it closes."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, display=False, **kwargs)
            self._handle = None
            if not self.disable:
                from IPython.display import display

                self._handle = display(self.container, display_id=True)
                self.displayed = True

        def close(self) -> None:
            super().close()  # draws the final state into the widget
            if self._handle is not None:
                handle, self._handle = self._handle, None
                handle.update(self.container)  # the same widget, with a text copy made now

    return NotebookBar


def progress_bar(total: int, initial: int = 0, desc: str | None = None, unit: str = "it",
                 disable: bool = False) -> _auto_tqdm:
    """A tqdm bar of ``total`` steps: in a notebook, one whose saved text ends final; tqdm's text bar elsewhere.

    Use it as a tqdm bar (``update``, ``set_postfix``) and ``close()`` it at the end: in a
    notebook the closing refreshes the saved text to the final state.
    """
    cls = _notebook_bar() or _auto_tqdm
    return cls(total=total, initial=initial, desc=desc, unit=unit, disable=disable)
