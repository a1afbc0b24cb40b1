"""A slider over a run's checkpoints: the fixed-noise sample grid at that point and FID up to it (chapter 06).

The scores come from :class:`gancourse.metrics.scoring.CheckpointScorer` (or its ``to_dict()``), so
moving the slider only redraws: nothing trains or samples in the callback. The same ``z``
(``fixed_noise``) made every grid, so what changes from one checkpoint to the next is only
what G learnt.
"""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor

from gancourse.plots import sample_grid
from gancourse.widgets.view import FigureView, MessageBox


class CheckpointSlider:
    """Pick a checkpoint with the slider; see ``G(fixed_noise)`` there and the FID curve with that point marked.

    ``scores``: a :class:`~gancourse.metrics.scoring.CheckpointScorer` or a mapping with ``step`` ``(T,)``,
    ``fid`` ``(T,)`` and ``grid`` ``(T, n, C, H, W)``. ``images_per_step`` (e.g. the batch size) labels
    the x axis in images seen instead of G steps. State: ``index`` (the checkpoint shown),
    ``view`` (:class:`~gancourse.widgets.view.FigureView`), ``message``. Show it with
    ``view.show(slider.widget, slider.figure(slider.index))``.
    """

    def __init__(self, scores, images_per_step: int | None = None, nrow: int = 8) -> None:
        data = scores.to_dict() if hasattr(scores, "to_dict") else scores
        if not isinstance(data, Mapping) or not {"step", "fid", "grid"} <= set(data):
            raise ValueError("scores must be a CheckpointScorer or a mapping with 'step', 'fid' and 'grid'")
        self.steps = torch.as_tensor(data["step"])
        self.fid = torch.as_tensor(data["fid"], dtype=torch.float64)
        self.grids: Tensor = torch.as_tensor(data["grid"])
        if len(self.steps) == 0 or not len(self.steps) == len(self.fid) == len(self.grids):
            raise ValueError(f"need one step, FID and grid per checkpoint (at least one), got "
                             f"{len(self.steps)}, {len(self.fid)} and {len(self.grids)}")
        self.scale = images_per_step or 1
        self.x_label = "training images seen" if images_per_step else "G steps"
        self.nrow = nrow
        self.view = FigureView()
        self.message = MessageBox()
        self.slider = W.IntSlider(value=len(self.steps) - 1, min=0, max=len(self.steps) - 1,
                                  description="checkpoint", continuous_update=False)
        self.slider.observe(self.message.guard(lambda change: self.select(change["new"])), names="value")
        self.widget = W.VBox([self.slider, self.view.output, self.message.widget])
        self.index = self.slider.value
        self.view.draw(self.figure(self.index))

    def select(self, index: int) -> None:
        """Show checkpoint ``index`` (0 = the first); a bad index raises ``ValueError`` naming the range."""
        if not isinstance(index, int) or not 0 <= index < len(self.steps):
            raise ValueError(f"checkpoint index must be an int in [0, {len(self.steps) - 1}], got {index!r}")
        self.index = index
        if self.slider.value != index:
            self.slider.value = index  # observe calls select again, which then only redraws once below
            return
        self.message.clear()
        self.view.draw(self.figure(index))

    def figure(self, index: int) -> Figure:
        """The grid at checkpoint ``index`` beside the FID curve with that checkpoint marked."""
        fig, (ax_grid, ax_fid) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained",
                                              gridspec_kw={"width_ratios": [1, 1.2]})
        step = int(self.steps[index])
        seen = f", {step * self.scale:,} images seen" if self.scale > 1 else ""
        sample_grid(self.grids[index], nrow=self.nrow, ax=ax_grid, title=f"G(fixed_noise) at step {step:,}{seen}")
        x = (self.steps * self.scale).numpy()
        ax_fid.plot(x, self.fid.numpy(), "o-", color="tab:blue", label="FID (local classifier)")
        ax_fid.plot(x[index], float(self.fid[index]), "o", markersize=12, color="tab:red",
                    label=f"this checkpoint: FID {float(self.fid[index]):.1f}")
        ax_fid.set_yscale("log")
        ax_fid.set_xlabel(self.x_label)
        ax_fid.set_ylabel("FID (log scale, lower is better)")
        ax_fid.legend()
        return fig
