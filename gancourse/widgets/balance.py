"""Chapter 04's widget: D's and G's learning rates and k D steps on a 2-D GAN; losses and samples change together.

:class:`BalanceLab` trains one GAN on the 8-Gaussian ring in chunks (one chunk per press of
*Train*), keeping both optimizers between chunks, so a learning rate moved between two chunks
takes effect at the next step, as it would in a running job. Its figure shows, for the same
steps, the samples, both losses with their values at the equilibrium D = 1/2, and where the
centre of G's samples has been: a G that circles the ring traces a circle there while the losses
swing at the same period. The message line gives that swing as a number
(:func:`gancourse.diagnostics.oscillation.measure_oscillation`) and the modes covered
(:func:`gancourse.metrics.mode_coverage`).

The nets are chapter 04's: G with 2 hidden layers of 64 ReLU units and ``z`` of 16 dimensions;
D with 1 hidden ReLU layer of 64 units (G keeps circling) or 3 LeakyReLU layers (G settles).
The widget's state lives in :class:`BalanceSession`, which tests and scripts can drive without
any widget; its training is the engine's :class:`gancourse.training.Run`, as in chapter 00's
playground (:mod:`gancourse.widgets.session`), so it stops a diverged run with the engine's message.
"""

from __future__ import annotations

import math

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor

from gancourse import datasets
from gancourse.diagnostics.oscillation import measure_oscillation
from gancourse.metrics import mode_coverage
from gancourse.models import mlp
from gancourse.training import Run, TrainConfig
from gancourse.training.seeds import init_models
from gancourse.widgets.view import FigureView, MessageBox

Z_DIM = 16
BATCH_SIZE = 64
TRACK_EVERY = 5
"""G steps between two measurements of the centre of G's samples."""
ENDLESS = 10**9
"""``TrainConfig.steps`` of the widget's run: it goes on while the learner presses Train."""
D_DEPTHS = {"D: 1 hidden layer (weak)": 1, "D: 3 hidden layers": 3}


def make_G() -> mlp.MLPGenerator:
    """Chapter 04's G for the ring: 2 hidden layers of 64 ReLU units, ``z`` of 16 dimensions."""
    return mlp.MLPGenerator(z_dim=Z_DIM, width=64, depth=2)


def make_D(depth: int) -> mlp.MLPDiscriminator:
    """Chapter 04's D: ``depth`` 1 (one ReLU layer of 64 units) or 3 (three LeakyReLU layers of 64)."""
    if depth not in (1, 3):
        raise ValueError(f"D's depth must be 1 or 3 hidden layers, got {depth!r}")
    return mlp.MLPDiscriminator(width=64, depth=depth, activation="relu" if depth == 1 else "leaky_relu")


class BalanceSession:
    """One 2-D GAN that trains in chunks with settings that may change between chunks (no widgets).

    The training is the engine's (:class:`gancourse.training.Run`, as in chapter 00's playground):
    ``advance(n)`` takes ``n`` G steps, each after ``n_critic`` D steps, with the current ``lr_d``,
    ``lr_g`` and ``n_critic``; the run records per G step (``d_loss``, ``g_loss``, ``d_real``,
    ``d_fake``) and, every :data:`TRACK_EVERY` steps, this session keeps the centre of G's samples
    on a fixed ``z`` batch.
    """

    def __init__(self, seed: int = 0, d_depth: int = 1, lr_d: float = 1e-3, lr_g: float = 1e-3, n_critic: int = 1,
                 device: torch.device | str = "cpu") -> None:
        self.mixture = datasets.ring()
        self.device = torch.device(device)
        self.seed, self.d_depth = seed, d_depth
        G, D = init_models(seed, make_G, lambda: make_D(d_depth))
        self.z_fixed = torch.randn(500, Z_DIM, generator=torch.Generator().manual_seed(seed)).to(self.device)
        self.centres: list[Tensor] = []  # (2,) each, every TRACK_EVERY steps
        self.run = Run(G, D, self.mixture.sample, self._config(lr_d, lr_g, n_critic), callback=self._track,
                       device=self.device, seeds=[seed])

    def _config(self, lr_d: float, lr_g: float, n_critic: int) -> TrainConfig:
        return TrainConfig(steps=ENDLESS, lr_d=lr_d, lr_g=lr_g, n_critic=n_critic, batch_size=BATCH_SIZE, z_dim=Z_DIM,
                           log_every=TRACK_EVERY, seed=self.seed, progress=False)

    def _track(self, step: int, history: object, G: torch.nn.Module, D: torch.nn.Module) -> None:
        # the run also flushes at the end of a chunk: keep the regular looks only, so the centres are evenly spaced
        if step % TRACK_EVERY == 0:
            with torch.no_grad():
                self.centres.append(G(self.z_fixed).mean(0))

    @property
    def G(self) -> torch.nn.Module:
        return self.run.G

    @property
    def D(self) -> torch.nn.Module:
        return self.run.D

    @property
    def opt_d(self) -> torch.optim.Optimizer:
        return self.run.opt_d

    @property
    def opt_g(self) -> torch.optim.Optimizer:
        return self.run.opt_g

    @property
    def config(self) -> TrainConfig:
        return self.run.config

    @property
    def steps(self) -> int:
        """G steps done."""
        return self.run.step

    def set(self, lr_d: float | None = None, lr_g: float | None = None, n_critic: int | None = None) -> None:
        """Change the settings for the next steps; the optimizers keep their moments. Bad values raise ValueError."""
        c = self.config
        self.run.reconfigure(self._config(c.lr_d if lr_d is None else lr_d, c.lr_g if lr_g is None else lr_g,
                                          c.n_critic if n_critic is None else n_critic))

    def advance(self, n_steps: int) -> None:
        """Train ``n_steps`` more G steps (each after ``n_critic`` D steps).

        A NaN or an explosion stops the run with the engine's :class:`~gancourse.training.TrainingDiverged`,
        whose message says what to try.
        """
        if not isinstance(n_steps, int) or isinstance(n_steps, bool) or n_steps < 1:
            raise ValueError(f"n_steps must be an int >= 1, got {n_steps!r}")
        self.run.advance(n_steps)

    def history(self) -> dict[str, Tensor]:
        """Every record so far as host tensors ``(T,)``, and ``centre`` ``(T // TRACK_EVERY, 2)``."""
        history = self.run.history
        out = {k: history[k].cpu() if self.steps else torch.empty(0) for k in ("d_loss", "g_loss", "d_real", "d_fake")}
        out["centre"] = torch.stack(self.centres).cpu() if self.centres else torch.empty(0, 2)
        return out

    @torch.no_grad()
    def samples(self, n: int = 1000) -> Tensor:
        """``n`` samples of G now, ``(n, 2)`` on the host, from the same ``z`` at every call (drawn from the seed)."""
        z = torch.randn(n, Z_DIM, generator=torch.Generator().manual_seed(self.seed + 1)).to(self.device)
        return self.G(z).cpu()

    def summary(self, window: int = 200) -> str:
        """Modes covered now, and how the centre of G's samples swung over the last ``window`` steps."""
        x = self.samples(2500)
        score = mode_coverage(x, self.mixture.centers, self.mixture.std)
        text = (f"step {self.steps}: {score.modes} of 8 modes covered, {score.high_quality:.0%} of the samples "
                f"high quality.")
        centre = self.history()["centre"][-(window // TRACK_EVERY):]
        if len(centre) >= 8:
            swing = measure_oscillation(centre, spacing=TRACK_EVERY)
            radius = float(centre.norm(dim=1).mean())
            text += (f" Over the last {len(centre) * TRACK_EVERY} steps the centre of G's samples sat "
                     f"{radius:.2f} from the ring's centre and swung by {float(swing.swing.max()):.2f}, "
                     f"most strongly with a period of {float(swing.period[swing.swing.argmax()]):.0f} steps.")
        return text

    def figure(self) -> Figure:
        """Samples now; both losses per step; the path of the centre of G's samples."""
        h = self.history()
        fig, (ax_x, ax_loss, ax_c) = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
        data = self.mixture.sample(500, torch.Generator().manual_seed(0))
        ax_x.scatter(*data.T.numpy(), s=5, color="tab:blue", alpha=0.5, label="data", linewidths=0)
        ax_x.scatter(*self.samples(500).T.numpy(), s=5, color="tab:orange", alpha=0.6, label="G(z)", linewidths=0)
        ax_x.set_xlim(-1.6, 1.6)
        ax_x.set_ylim(-1.6, 1.6)
        ax_x.set_aspect("equal")
        ax_x.set_title(f"samples at step {self.steps}")
        ax_x.legend(loc="upper right", fontsize="small")
        if len(h["d_loss"]):
            steps = torch.arange(1, len(h["d_loss"]) + 1)
            ax_loss.plot(steps, h["d_loss"], color="tab:blue", linewidth=0.8, label="D loss")
            ax_loss.plot(steps, h["g_loss"], color="tab:orange", linewidth=0.8, label="G loss")
        ax_loss.axhline(2 * math.log(2), color="tab:blue", linestyle="--", linewidth=1, label="D loss at D = 1/2")
        ax_loss.axhline(math.log(2), color="tab:orange", linestyle="--", linewidth=1, label="G loss at D = 1/2")
        ax_loss.set_xlabel("G step")
        ax_loss.set_title("losses")
        ax_loss.legend(fontsize="x-small", loc="upper right")
        circle = torch.linspace(0, 2 * math.pi, 100)
        ax_c.plot(circle.cos(), circle.sin(), color="lightgrey", linewidth=1)
        if len(h["centre"]):
            recent = h["centre"][-40:]
            ax_c.plot(*h["centre"].T.numpy(), color="tab:grey", linewidth=0.5)
            ax_c.plot(*recent.T.numpy(), color="tab:red", linewidth=1.2,
                      label=f"last {len(recent) * TRACK_EVERY} steps")
            ax_c.legend(fontsize="x-small", loc="upper right")
        ax_c.set_xlim(-1.3, 1.3)
        ax_c.set_ylim(-1.3, 1.3)
        ax_c.set_aspect("equal")
        ax_c.set_title("centre of G's samples over time")
        return fig


class BalanceLab:
    """The widget: sliders for ``lr_d``, ``lr_g``, ``n_critic`` and steps per press, D's depth, Train and Reset.

    ``lab.widget`` is what a notebook shows (with :func:`gancourse.widgets.view.show` and
    ``lab.view.png`` as the static picture); ``lab.session`` is the GAN. Every press of *Train*
    runs one chunk of ``steps per press`` G steps with the sliders' values, then redraws.
    """

    def __init__(self, seed: int = 0, device: torch.device | str = "cpu") -> None:
        self.seed, self.device = seed, device
        log_slider = dict(min=-4, max=-2, step=0.25, readout_format=".1e", continuous_update=False)
        self.lr_d = W.FloatLogSlider(value=1e-3, description="lr_d", **log_slider)
        self.lr_g = W.FloatLogSlider(value=1e-3, description="lr_g", **log_slider)
        self.n_critic = W.IntSlider(value=1, min=1, max=10, description="n_critic", continuous_update=False)
        self.chunk = W.IntSlider(value=200, min=50, max=1000, step=50, description="steps/press",
                                 continuous_update=False)
        self.d_depth = W.Dropdown(options=list(D_DEPTHS), value=list(D_DEPTHS)[0], description="")
        self.train_button = W.Button(description="Train", button_style="primary")
        self.reset_button = W.Button(description="Reset")
        self.view = FigureView()
        self.message = MessageBox()
        self.train_button.on_click(self.message.guard(lambda _: self.train()))
        self.reset_button.on_click(self.message.guard(lambda _: self.reset()))
        self.d_depth.observe(self.message.guard(lambda _: self.reset()), names="value")
        controls = W.VBox([W.HBox([self.lr_d, self.lr_g, self.n_critic]),
                           W.HBox([self.chunk, self.d_depth, self.train_button, self.reset_button])])
        self.widget = W.VBox([controls, self.view.output, self.message.widget])
        self.session: BalanceSession
        self.reset()

    def reset(self) -> None:
        """A fresh GAN (same seed) with the current D depth and sliders; draws it untrained."""
        self.session = BalanceSession(self.seed, D_DEPTHS[self.d_depth.value], self.lr_d.value, self.lr_g.value,
                                      self.n_critic.value, self.device)
        self.view.draw(self.session.figure())
        self.message.show(f"untrained (seed {self.seed}); press Train to run {self.chunk.value} steps")

    def train(self, n_steps: int | None = None) -> None:
        """One chunk: ``n_steps`` (default: the slider's) G steps with the sliders' settings, then redraw."""
        self.session.set(lr_d=self.lr_d.value, lr_g=self.lr_g.value, n_critic=self.n_critic.value)
        self.session.advance(self.chunk.value if n_steps is None else n_steps)
        self.view.draw(self.session.figure())
        self.message.show(self.session.summary())
