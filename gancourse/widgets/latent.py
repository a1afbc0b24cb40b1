"""A walk between two points of G's latent space: the images along the path and what the classifier sees (chapter 06).

The learner moves ``t`` along the path from ``z0`` to ``z1``, switches between spherical and
straight-line interpolation (:mod:`gancourse.diagnostics.latent`), and draws new end points. Each redraw
runs G on a dozen ``z`` and the classifier on the images: a short callback, nothing trains.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from gancourse.datasets import FASHION_MNIST_CLASSES
from gancourse.diagnostics.latent import INTERPOLATIONS, expected_norm, interpolate
from gancourse.metrics.classifier import FashionClassifier
from gancourse.widgets.view import FigureView, MessageBox


class LatentWalk:
    """Interpolate between two ``z`` through ``G``: a strip of ``n_points`` images, the one at ``t`` large.

    ``G`` maps ``(B, z_dim)`` to images ``(B, 1, 28, 28)``; it is run in eval mode. ``classifier`` (optional)
    names the class of each image and its probability. ``seed`` seeds the generator that draws new end
    points (``new start`` / ``new end`` buttons). State: ``z0``, ``z1``, ``t``, ``kind``, ``n_points``,
    ``view``, ``message``. Show it with ``view.show(walk.widget, walk.figure())``.
    """

    def __init__(self, G: nn.Module, classifier: FashionClassifier | None = None, n_points: int = 9,
                 seed: int = 0, kind: str = "spherical") -> None:
        z_dim = getattr(G, "z_dim", None)
        if z_dim is None:
            raise ValueError("G must have a z_dim attribute (e.g. a gancourse.models.dcgan.DCGANGenerator)")
        self.G, self.classifier, self.z_dim = G, classifier, z_dim
        self.device = next(G.parameters()).device
        self.generator = torch.Generator().manual_seed(seed)
        self.z0, self.z1 = self._draw(), self._draw()
        self.view = FigureView()
        self.message = MessageBox()
        self.t_slider = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="t",
                                      continuous_update=False)
        self.kind_choice = W.ToggleButtons(options=list(INTERPOLATIONS), value=kind, description="path")
        self.points_box = W.BoundedIntText(value=n_points, min=2, max=16, description="images")
        self.new_start = W.Button(description="new start z0")
        self.new_end = W.Button(description="new end z1")
        guard = self.message.guard
        self.t_slider.observe(guard(lambda change: self.update()), names="value")
        self.kind_choice.observe(guard(lambda change: self.update()), names="value")
        self.points_box.observe(guard(lambda change: self.update()), names="value")
        self.new_start.on_click(guard(lambda button: self.redraw_end(0)))
        self.new_end.on_click(guard(lambda button: self.redraw_end(1)))
        self.widget = W.VBox([W.HBox([self.t_slider, self.kind_choice]),
                              W.HBox([self.points_box, self.new_start, self.new_end]),
                              self.view.output, self.message.widget])
        self.update()

    @property
    def t(self) -> float:
        return float(self.t_slider.value)

    @property
    def kind(self) -> str:
        return self.kind_choice.value

    @property
    def n_points(self) -> int:
        return int(self.points_box.value)

    def _draw(self) -> Tensor:
        return torch.randn(self.z_dim, generator=self.generator)

    def redraw_end(self, which: int) -> None:
        """Draw a new ``z0`` (``which=0``) or ``z1`` (``which=1``) and redraw."""
        if which not in (0, 1):
            raise ValueError(f"which must be 0 (start) or 1 (end), got {which!r}")
        if which == 0:
            self.z0 = self._draw()
        else:
            self.z1 = self._draw()
        self.update()

    def path(self) -> tuple[Tensor, Tensor]:
        """``(z, t)``: the path's ``n_points`` points then the one at ``t``, ``(n_points + 1, z_dim)``, and their t."""
        if self.kind not in INTERPOLATIONS:
            raise ValueError(f"unknown interpolation {self.kind!r}; use one of {', '.join(INTERPOLATIONS)}")
        if self.n_points < 2:
            raise ValueError(f"the strip needs at least 2 images (both ends), got {self.n_points}")
        strip = interpolate(self.z0, self.z1, self.n_points, self.kind)
        at_t = interpolate(self.z0, self.z1, torch.tensor([self.t]), self.kind)
        return torch.cat([strip, at_t]), torch.cat([torch.linspace(0, 1, self.n_points), torch.tensor([self.t])])

    @torch.no_grad()
    def images(self) -> tuple[Tensor, Tensor, Tensor | None]:
        """G's images along the path ``(n_points + 1, 1, 28, 28)`` (last: at ``t``), the norms of their ``z``,
        and the classifier's probabilities ``(n_points + 1, 10)`` (None without a classifier)."""
        z, _ = self.path()
        was_training = self.G.training
        self.G.eval()
        try:
            x = self.G(z.to(self.device)).float().cpu()
        finally:
            self.G.train(was_training)
        probs = None
        if self.classifier is not None:
            classifier_device = next(self.classifier.parameters()).device
            probs = self.classifier(x.to(classifier_device)).softmax(dim=1).cpu()
        return x, z.norm(dim=1), probs

    def figure(self) -> Figure:
        """The strip along the path, the image at ``t`` with its class, and ``|z|`` along the path."""
        from torchvision.utils import make_grid

        x, norms, probs = self.images()
        n = self.n_points
        fig = plt.figure(figsize=(11, 4.2), layout="constrained")
        grid = fig.add_gridspec(2, 3, width_ratios=[3, 3, 2])
        ax_strip = fig.add_subplot(grid[0, :2])
        strip = make_grid(x[:n].clamp(-1, 1), nrow=n, padding=2, normalize=True, value_range=(-1, 1), pad_value=1.0)
        ax_strip.imshow(strip.permute(1, 2, 0).numpy(), interpolation="nearest")  # one image: fast to draw
        ax_strip.set_axis_off()
        labels = [f"{i / (n - 1):.2f}" for i in range(n)]
        if probs is not None:
            names = [FASHION_MNIST_CLASSES[int(p.argmax())][:8] for p in probs[:n]]
            labels = [f"{lab}\n{name}" for lab, name in zip(labels, names, strict=True)]
        for i, label in enumerate(labels):  # make_grid puts each 28x28 image in a 30x30 cell
            ax_strip.text(2 + 30 * i + 14, 31, label, ha="center", va="top", fontsize=7)
        ax_strip.set_title(f"G(z) from z0 (left) to z1 (right), {self.kind} path")
        ax_big = fig.add_subplot(grid[:, 2])
        ax_big.imshow(x[-1, 0].numpy(), cmap="gray", vmin=-1, vmax=1)
        ax_big.set_axis_off()
        title = f"t = {self.t:.2f}"
        if probs is not None:
            k = int(probs[-1].argmax())
            title += f"\nclassifier: {FASHION_MNIST_CLASSES[k]} ({float(probs[-1, k]):.0%})"
        ax_big.set_title(title)
        ax_norm = fig.add_subplot(grid[1, :2])
        ts = torch.linspace(0, 1, n)
        ax_norm.plot(ts.numpy(), norms[:n].numpy(), "o-", label="|z| along the path")
        ax_norm.axhline(expected_norm(self.z_dim), color="grey", linestyle="--", label="E|z| for z ~ N(0, I)")
        ax_norm.set_xlabel("t")
        ax_norm.set_ylim(0, None)
        ax_norm.legend(fontsize="small", loc="lower left")
        return fig

    def update(self) -> None:
        """Redraw the view for the current controls; a bad value shows its message instead."""
        self.message.clear()
        self.view.draw(self.figure())
