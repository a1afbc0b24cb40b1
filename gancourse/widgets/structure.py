"""Chapter 05's widget: scroll a generator's samples from the most wrong to the least wrong.

A failure rate says how often G breaks the structure; looking at the samples in order of how
wrong they are says *how* it breaks it. Each set of samples comes with a score per sample
(higher = more wrong: the count error, the number of face rules broken, the distance to the
nearest possible view), a caption per sample and, optionally, a reference image to show beside
each sample (its nearest real view). The learner picks a set, then pages through it with the
buttons or the slider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor

from gancourse.widgets.view import FigureView, MessageBox


@dataclass(frozen=True)
class ScoredSamples:
    """Samples with a wrongness score each: ``images`` ``(N, C, H, W)`` in ``[-1, 1]`` (``C`` 1 or 3),
    ``wrongness`` ``(N,)`` (higher = more wrong), ``captions`` ``N`` strings, and optional
    ``references`` ``(N, C', H, W)`` shown beside the samples (e.g. each one's nearest real view)."""

    images: Tensor
    wrongness: Tensor
    captions: Sequence[str]
    references: Tensor | None = None

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.dim() != 4 or self.images.shape[1] not in (1, 3) or n == 0:
            raise ValueError(f"images must be a non-empty (N, C, H, W) tensor with C = 1 or 3, "
                             f"got {tuple(self.images.shape)}")
        if self.wrongness.shape != (n,):
            raise ValueError(f"wrongness must have shape ({n},), one score per image, "
                             f"got {tuple(self.wrongness.shape)}")
        if len(self.captions) != n:
            raise ValueError(f"captions must hold one string per image ({n}), got {len(self.captions)}")
        if self.references is not None and (self.references.dim() != 4 or len(self.references) != n):
            raise ValueError(f"references must be (N, C, H, W) with N = {n}, got {tuple(self.references.shape)}")

    def order(self) -> Tensor:
        """Indices from the most wrong sample to the least wrong (ties keep their order)."""
        return torch.sort(self.wrongness.detach().cpu().float(), descending=True, stable=True).indices


def _show(ax, image: Tensor) -> None:
    image = ((image.detach().float().cpu().clamp(-1, 1) + 1) / 2).permute(1, 2, 0)
    ax.imshow((image.squeeze(-1) if image.shape[-1] == 1 else image).numpy(), cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def page_figure(samples: ScoredSamples, indices: Sequence[int], columns: int = 6, title: str | None = None) -> Figure:
    """One page of samples (and their references, below each) with captions, in the order of ``indices``."""
    rows_per_item = 2 if samples.references is not None else 1
    n_rows = -(-len(indices) // columns) * rows_per_item
    fig, axes = plt.subplots(max(n_rows, 1), columns, figsize=(1.6 * columns, 1.75 * max(n_rows, 1)),
                             squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.set_axis_off()
    for k, i in enumerate(indices):
        row, col = (k // columns) * rows_per_item, k % columns
        ax = axes[row, col]
        ax.set_axis_on()
        _show(ax, samples.images[i])
        ax.set_title(samples.captions[i], fontsize=7)
        if samples.references is not None:
            ref = axes[row + 1, col]
            ref.set_axis_on()
            _show(ref, samples.references[i])
            ref.set_title("nearest real view", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


class WrongnessBrowser:
    """Page through sets of samples sorted from the most wrong to the least wrong (chapter 05).

    ``sets`` maps a name (e.g. "faces, baseline G") to :class:`ScoredSamples`. Controls: a
    dropdown for the set, a slider for the position in the sorted order, and two buttons that
    move one page. ``widget`` is the box to display (``view.show(browser.widget, browser.figure())``).
    """

    def __init__(self, sets: Mapping[str, ScoredSamples], per_page: int = 12, columns: int = 6) -> None:
        if not sets:
            raise ValueError("sets must name at least one ScoredSamples")
        if not isinstance(per_page, int) or per_page < 1 or not isinstance(columns, int) or columns < 1:
            raise ValueError(f"per_page and columns must be ints >= 1, got {per_page!r} and {columns!r}")
        self.sets = dict(sets)
        self.orders = {name: s.order() for name, s in self.sets.items()}
        self.per_page, self.columns = per_page, columns
        self.choice = W.Dropdown(options=list(self.sets), description="samples", layout=W.Layout(width="420px"))
        self.position = W.IntSlider(value=0, min=0, description="from #", continuous_update=False)
        self.previous = W.Button(description="◀ more wrong")
        self.next = W.Button(description="less wrong ▶")
        self.message = MessageBox()
        self.view = FigureView()
        self.choice.observe(self.message.guard(self._on_choice), names="value")
        self.position.observe(self.message.guard(lambda _: self.redraw()), names="value")
        self.previous.on_click(self.message.guard(lambda _: self.move(-1)))
        self.next.on_click(self.message.guard(lambda _: self.move(+1)))
        self._set_range()
        self.widget = W.VBox([self.choice, W.HBox([self.previous, self.position, self.next]),
                              self.message.widget, self.view.output])
        self.redraw()

    @property
    def samples(self) -> ScoredSamples:
        return self.sets[self.choice.value]

    def _set_range(self) -> None:
        self.position.max = max(len(self.samples.images) - self.per_page, 0)

    def _on_choice(self, _change) -> None:
        self._set_range()
        if self.position.value != 0:
            self.position.value = 0  # the slider's observer redraws
        else:
            self.redraw()

    def move(self, pages: int) -> None:
        """Move ``pages`` pages along the sorted order (negative: towards the most wrong), within bounds."""
        self.position.value = min(max(self.position.value + pages * self.per_page, 0), self.position.max)

    def shown(self) -> list[int]:
        """Indices (into the current set) of the samples on the current page, most wrong first."""
        start = self.position.value
        return self.orders[self.choice.value][start:start + self.per_page].tolist()

    def figure(self) -> Figure:
        """The current page as a figure (also the static picture for :func:`gancourse.widgets.view.show`)."""
        n = len(self.samples.images)
        start = self.position.value
        title = (f"{self.choice.value}: samples {start + 1}-{min(start + self.per_page, n)} of {n}, "
                 f"sorted from the most wrong")
        return page_figure(self.samples, self.shown(), self.columns, title)

    def redraw(self) -> None:
        self.message.clear()
        self.view.draw(self.figure())
