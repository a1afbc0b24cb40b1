"""The parts every widget of the course is built from: a figure that redraws in place, a message box, ``show``.

Chapter 00's playground and every chapter's widget use these. Drawing is plain inline
matplotlib into an ``ipywidgets.Output``: the figure is rendered to PNG once, shown with
``clear_output(wait=True)`` (no flicker), then closed so memory stays flat however long a
learner plays.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import Image, display
from matplotlib.figure import Figure

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"

ERRORS_SHOWN = (ValueError, TypeError, KeyError, FloatingPointError, RuntimeError)
"""What a widget callback shows as a message instead of a traceback: gancourse's clear errors
(``ValueError`` and friends) and a diverged run (``TrainingDiverged`` is a ``FloatingPointError``)."""


def figure_png(fig: Figure, dpi: float | str = 80) -> bytes:
    """The figure as PNG bytes (what a static page shows in place of a live widget); ``dpi="figure"``: its own dpi."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class FigureView:
    """An ``Output`` widget showing one matplotlib figure at a time, redrawn in place.

    ``view.draw(fig)`` replaces what is shown by ``fig`` and closes it (``close=False`` keeps a
    figure that the caller updates and draws again, as the playground does); ``view.png`` keeps
    the last figure's PNG (for :func:`show`'s static fallback and for tests that check the view
    changed); ``view.n_draws`` counts draws. The figure is rendered once, here, at ``dpi``.
    """

    def __init__(self, layout: W.Layout | None = None, dpi: float | str = 80) -> None:
        self.output = W.Output(layout=layout or W.Layout())
        self.dpi = dpi
        self.png: bytes | None = None
        self.n_draws = 0

    def draw(self, fig: Figure, close: bool = True) -> None:
        self.png = figure_png(fig, self.dpi)
        with self.output:
            self.output.clear_output(wait=True)
            display(Image(data=self.png, format="png"))
        if close:
            plt.close(fig)
        self.n_draws += 1


class MessageBox:
    """An HTML line for the health monitor's messages and for errors; ``text`` is what it shows now."""

    def __init__(self) -> None:
        self.widget = W.HTML(value="")
        self.text = ""

    def show(self, text: str, kind: str = "info") -> None:
        colour = {"info": "#333", "warning": "#a15c00", "error": "#b00020"}[kind]
        self.text = text
        self.widget.value = f'<div style="color:{colour}; white-space:pre-wrap">{html.escape(text)}</div>'

    def clear(self) -> None:
        self.show("")

    def guard(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """``callback`` wrapped so that a gancourse error is shown here instead of raised into the front-end."""

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return callback(*args, **kwargs)
            except ERRORS_SHOWN as error:
                self.show(f"{type(error).__name__}: {error}", "error")
                return None

        return guarded


def show(widget: W.Widget, fallback: Figure | bytes | None = None) -> None:
    """Display ``widget`` live, with a picture of its first view for pages that cannot run widgets.

    One output carries both the widget view and, as a fallback, ``fallback`` (a figure, closed
    here, or PNG bytes) as ``image/png``: JupyterLab renders the live widget, a static page (the
    course website, GitHub) renders the picture.
    """
    data: dict[str, Any] = {"text/plain": repr(widget)}
    if fallback is not None:
        if isinstance(fallback, Figure):
            png = figure_png(fallback)
            plt.close(fallback)
        else:
            png = fallback
        data["image/png"] = base64.b64encode(png).decode("ascii")
    data[WIDGET_VIEW_MIME] = {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}
    display(data, raw=True)
