"""Chapter 00's GAN playground: train a 2-D GAN live in JupyterLab, break it and fix it without writing code.

``playground()`` returns the widget (an ``ipywidgets.VBox``). After GAN Lab (Kahng et al. 2019,
poloclub/ganlab), and beyond it: every loss and fix of the course, up to four seeds side by side,
the course's mode-coverage metric, the health monitor's messages as they fire, and the learner's
own G and D (``playground(make_G=..., make_D=...)``).

How it stays responsive: training runs in chunks (``steps per frame`` G steps, then one redraw)
from widget callbacks. Play starts a front-end ticker (``ipywidgets.Play``) whose ticks each ask
the kernel for one frame; a Pause click is a message the kernel reads between two frames. (A
loop inside one callback would hold the kernel, and no click would get through until it ends:
ipywidgets issue 3468.) When frames take longer than the ticker's interval, the ticks that
queued up meanwhile are skipped, so a Pause waits for at most one frame.

What changes when: the learning rates, the loss, ``n_critic``, the batch size and the weights of
the fixes apply from the next step of the running experiment (as in GAN Lab); the data, the
networks, packing, minibatch discrimination, spectral norm and the seeds start a new experiment
(Reset does the same with the current settings, from exactly the same initial weights). A bad
value shows the engine's message in the widget and the experiment goes on as it was.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import time
from collections.abc import Callable

import ipywidgets as W
from torch import nn

from gancourse.losses import ONE_GENERATOR_LOSSES
from gancourse.models.mlp import ACTIVATIONS
from gancourse.widgets.panels import LEGEND, CurvePanels, FieldPanels
from gancourse.widgets.scenarios import SCENARIOS
from gancourse.widgets.session import DATA, HOT, Session, Settings, default_D, default_G
from gancourse.widgets.view import ERRORS_SHOWN, FigureView, MessageBox

INTERVAL_MS, SLOW_INTERVAL_MS = 150, 900
"""The ticker's interval while playing, and in slow motion (one G step per frame)."""

_WIDE = {"description_width": "initial"}


def _settings_builder(make: Callable | None, default: Callable[[Settings], nn.Module]) -> Callable:
    """A learner's ``make_G()`` / ``make_G(settings)`` as ``make(settings)``; the course's MLP if None."""
    if make is None:
        return default
    if isinstance(make, nn.Module) or not callable(make):
        raise TypeError(f"make_G / make_D must be functions that build a model (e.g. lambda: MyG()), so that each "
                        f"seed and each Reset gets fresh weights; got {type(make).__name__}")
    required = [p for p in inspect.signature(make).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return make if required else (lambda settings: make())


class Playground(W.VBox):
    """The playground widget; see the module docstring. Public parts, for tests and for curious learners:

    ``session`` (:class:`~gancourse.widgets.session.Session`: the models, the runs, the measurements),
    ``controls`` (name -> control), ``step_button``, ``play_button``, ``pause_button``,
    ``reset_button``, ``slow_button``, ``steps_per_frame``, ``scenario``, ``ticker``,
    ``field_view`` / ``curves_view`` (:class:`~gancourse.widgets.view.FigureView`), ``health`` and
    ``errors`` (:class:`~gancourse.widgets.view.MessageBox`), ``status``, ``playing``,
    ``timings`` (seconds of training and of drawing in the last frame).
    """

    def __init__(self, settings: Settings | None = None, make_G: Callable | None = None,
                 make_D: Callable | None = None, device: str = "cpu", steps_per_frame: int = 20) -> None:
        super().__init__()
        self._make_G = _settings_builder(make_G, default_G)
        self._make_D = _settings_builder(make_D, default_D)
        self._device = device
        self.errors, self.health = MessageBox(), MessageBox()
        self.controls = self._build_controls(settings or Settings())
        own = [name for name, mine in (("G", make_G), ("D", make_D)) if mine is not None]
        for name in ("width", "depth") if own else ():
            self.controls[name].disabled = len(own) == 2
        for net in own:
            self.controls[f"{net.lower()}_activation"].disabled = True
        self.steps_per_frame = W.BoundedIntText(value=steps_per_frame, min=1, max=1000, description="steps per frame",
                                                style=_WIDE, layout=W.Layout(width="170px"))
        self.step_button = W.Button(description="Step", icon="step-forward", tooltip="train one frame, then draw")
        self.play_button = W.Button(description="Play", icon="play", button_style="success")
        self.pause_button = W.Button(description="Pause", icon="pause")
        self.reset_button = W.Button(description="Reset", icon="undo",
                                     tooltip="start again from the same initial weights, with the current settings")
        self.slow_button = W.ToggleButton(description="slow motion", icon="hourglass",
                                          tooltip="one G step per frame, about one frame a second")
        self.status = W.HTML()
        # classes that name the parts in the page, for the browser tests (tests/browser)
        for name in ("step", "play", "pause", "reset", "slow"):
            getattr(self, f"{name}_button").add_class(f"gancourse-{name}")
        self.status.add_class("gancourse-status")
        for name, control in self.controls.items():
            control.add_class(f"gancourse-{name}")
        self.errors.widget.add_class("gancourse-errors")
        self.ticker = W.Play(value=0, min=0, max=10**9, step=1, interval=INTERVAL_MS, show_repeat=False,
                             layout=W.Layout(width="0px", height="0px", overflow="hidden", visibility="hidden"))
        self.field_view = FigureView(dpi="figure")
        self.curves_view = FigureView(dpi="figure")
        self.field_view.output.add_class("gancourse-field")
        self.curves_view.output.add_class("gancourse-curves")
        menu = [("(your own settings)", "")] + [(s.title, key) for key, s in SCENARIOS.items()]
        self.scenario = W.Dropdown(options=menu, value="", description="scenario", style=_WIDE,
                                   layout=W.Layout(width="430px"))
        self.scenario_text = W.HTML()
        self.playing = False
        self.timings = {"train": 0.0, "draw": 0.0}
        self.min_gap = INTERVAL_MS / 2000  # seconds: a tick sooner than this after the last frame had queued up
        self._last_frame_end = 0.0
        self._quiet = False  # True while a scenario sets many controls at once

        self.step_button.on_click(self.errors.guard(lambda _: self.step()))
        self.play_button.on_click(self.errors.guard(lambda _: self.play()))
        self.pause_button.on_click(self.errors.guard(lambda _: self.pause()))
        self.reset_button.on_click(self.errors.guard(lambda _: self.reset()))
        self.slow_button.observe(self.errors.guard(self._on_slow), "value")
        self.ticker.observe(self.errors.guard(self._on_tick), "value")
        self.scenario.observe(self.errors.guard(self._on_scenario), "value")
        for name, control in self.controls.items():
            control.observe(self.errors.guard(lambda change, name=name: self._on_change(name)), "value")

        self.children = self._layout()
        self.session = self._new_session(self.settings())
        self._draw()

    # ------------------------------------------------------------ building

    def _build_controls(self, s: Settings) -> dict[str, W.Widget]:
        def number(name: str, description: str, value, width: str = "150px", tooltip: str = "") -> W.Widget:
            kind = W.IntText if isinstance(value, int) else W.FloatText
            return kind(value=value, description=description, style=_WIDE, layout=W.Layout(width=width),
                        tooltip=tooltip)

        def choice(options, value, description: str) -> W.Dropdown:
            return W.Dropdown(options=list(options), value=value, description=description, style=_WIDE,
                              layout=W.Layout(width="210px"))

        return {
            "data": choice(DATA, s.data, "data"),
            "n_seeds": W.IntSlider(value=s.n_seeds, min=1, max=4, description="seeds side by side", style=_WIDE),
            "first_seed": number("first_seed", "first seed", s.first_seed),
            "width": number("width", "width", s.width, "120px"),
            "depth": number("depth", "depth", s.depth, "120px"),
            "g_activation": choice(ACTIVATIONS, s.g_activation, "G activation"),
            "d_activation": choice(ACTIVATIONS, s.d_activation, "D activation"),
            "loss": choice(ONE_GENERATOR_LOSSES, s.loss, "loss"),
            "lr_d": number("lr_d", "lr_d", s.lr_d),
            "lr_g": number("lr_g", "lr_g", s.lr_g),
            "n_critic": number("n_critic", "D steps per G step", s.n_critic, "190px"),
            "batch_size": number("batch_size", "batch size", s.batch_size, "160px"),
            "gp_weight": number("gp_weight", "gradient penalty λ", s.gp_weight, "200px"),
            "r1_weight": number("r1_weight", "R1 γ", s.r1_weight),
            "clip_value": number("clip_value", "weight clipping c (0 off)", s.clip_value, "230px"),
            "instance_noise": number("instance_noise", "instance noise σ", s.instance_noise, "200px"),
            "instance_noise_anneal": number("instance_noise_anneal", "annealed over steps", s.instance_noise_anneal,
                                            "210px"),
            "label_smoothing": number("label_smoothing", "label smoothing", s.label_smoothing, "200px"),
            "pack": number("pack", "packing m", s.pack, "150px"),
            "unrolled_steps": number("unrolled_steps", "unrolled steps k", s.unrolled_steps, "180px"),
            "minibatch_discrimination": W.Checkbox(value=s.minibatch_discrimination,
                                                   description="minibatch discrimination", style=_WIDE),
            "spectral_norm": W.Checkbox(value=s.spectral_norm, description="spectral norm (D)", style=_WIDE),
        }

    def _layout(self) -> list[W.Widget]:
        c = self.controls
        row = lambda *names: W.HBox([c[n] for n in names])  # noqa: E731
        tabs = W.Tab(children=[
            W.VBox([row("data", "n_seeds", "first_seed"), row("width", "depth", "g_activation", "d_activation")]),
            W.VBox([row("loss", "lr_d", "lr_g"), row("n_critic", "batch_size")]),
            W.VBox([row("gp_weight", "r1_weight", "clip_value"),
                    row("instance_noise", "instance_noise_anneal", "label_smoothing"),
                    row("pack", "unrolled_steps", "minibatch_discrimination", "spectral_norm")]),
        ])
        tabs.titles = ("data and networks", "loss and optimizer", "fixes")
        buttons = W.HBox([self.step_button, self.play_button, self.pause_button, self.reset_button, self.slow_button,
                          self.steps_per_frame, self.ticker])
        legend = W.HTML(f'<div style="font-size: smaller; color: #555">{LEGEND}</div>')
        return [W.HBox([self.scenario, self.scenario_text]), tabs, buttons, self.status, self.errors.widget,
                self.health.widget, self.field_view.output, legend, self.curves_view.output]

    def settings(self) -> Settings:
        """The settings the controls show now (not checked: the engine checks them where they are used)."""
        values = {name: control.value for name, control in self.controls.items()}
        return Settings(**{**dataclasses.asdict(Settings()), **values})

    def _new_session(self, settings: Settings) -> Session:
        session = Session(settings, self._make_G, self._make_D, device=self._device)
        self.session = session
        self.field_panels, self.curve_panels = FieldPanels(session), CurvePanels(session)
        self.health.clear()
        return session

    def picture(self) -> bytes:
        """What the playground shows now, the plane above the curves, as one PNG: the picture for static pages."""
        from PIL import Image  # pillow comes with matplotlib

        top, bottom = (Image.open(io.BytesIO(view.png)).convert("RGB") for view in (self.field_view, self.curves_view))
        canvas = Image.new("RGB", (max(top.width, bottom.width), top.height + bottom.height), "white")
        canvas.paste(top, ((canvas.width - top.width) // 2, 0))
        canvas.paste(bottom, (0, top.height))
        buffer = io.BytesIO()
        canvas.save(buffer, format="png")
        return buffer.getvalue()

    # ------------------------------------------------------------ what the buttons do

    def step(self) -> None:
        """Train one frame (``steps per frame`` G steps; one in slow motion) and redraw."""
        self._frame()

    def play(self) -> None:
        """Start the ticker: every tick trains one frame and redraws, until Pause (or a diverged run)."""
        self.playing = True
        self.ticker.playing = True
        self._status()

    def pause(self) -> None:
        """Stop after the frame that is running now (if any)."""
        self.playing = False
        self.ticker.playing = False
        self._status()

    def reset(self) -> None:
        """A new experiment from the controls' settings: the same seeds give exactly the same initial weights."""
        self.pause()
        self.errors.clear()
        self._new_session(self.settings())
        self._draw()

    # ------------------------------------------------------------ callbacks

    def _on_tick(self, change) -> None:
        if not self.playing:
            return
        if time.perf_counter() - self._last_frame_end < self.min_gap:
            return  # a tick that queued up while the last frame ran: skip it, so Pause gets through
        self._frame()

    def _on_slow(self, change) -> None:
        self.ticker.interval = SLOW_INTERVAL_MS if change["new"] else INTERVAL_MS
        self.min_gap = self.ticker.interval / 2000
        self._status()

    def _on_change(self, name: str) -> None:
        if self._quiet:
            return
        settings = self.settings()
        try:
            if name in HOT:
                self.session.reconfigure(settings)
            else:
                self._new_session(settings)
                self._draw()
        except ERRORS_SHOWN as error:
            self.errors.show(f"{type(error).__name__}: {error}\nNot applied: training goes on with the previous "
                             f"{name} until the value is fixed.", "error")
            return
        self.errors.clear()
        self._status()

    def _on_scenario(self, change) -> None:
        key = change["new"]
        if not key:
            self.scenario_text.value = ""
            return
        scenario = SCENARIOS[key]
        self.apply(scenario.settings)
        self.scenario_text.value = f'<div style="max-width: 620px">{scenario.html()}</div>'

    def apply(self, settings: Settings) -> None:
        """Show ``settings`` in the controls and start a new experiment with them (what a scenario does)."""
        self.pause()
        self._quiet = True
        try:
            for name, control in self.controls.items():
                control.value = getattr(settings, name)
        finally:
            self._quiet = False
        self.reset()

    # ------------------------------------------------------------ one frame

    def _frame(self) -> None:
        n = 1 if self.slow_button.value else self.steps_per_frame.value
        start = time.perf_counter()
        try:
            new = self.session.advance(n)
        except FloatingPointError as diverged:  # TrainingDiverged: stop, show the engine's message and the wreck
            self.pause()
            self.errors.show(f"{type(diverged).__name__}: {diverged}\nPress Reset after changing a setting.", "error")
            new = self.session.symptoms[-1:]
        self.timings["train"] = time.perf_counter() - start
        if new:
            lines = [str(s) for s in reversed(self.session.symptoms[-6:])]
            self.health.show("Health monitor (newest first):\n" + "\n".join(lines), "warning")
        self._draw()

    def _draw(self) -> None:
        start = time.perf_counter()
        self.field_view.draw(self.field_panels.update(), close=False)
        self.curves_view.draw(self.curve_panels.update(), close=False)
        self.timings["draw"] = time.perf_counter() - start
        self._last_frame_end = time.perf_counter()
        self._status()

    def _status(self) -> None:
        s = self.session
        state = "playing" if self.playing else "paused"
        self.status.value = (f"<b>G step {s.step:,}</b> · {len(s.seeds)} seed(s) · {state}"
                             f"{' · slow motion' if self.slow_button.value else ''} · last frame: training "
                             f"{1000 * self.timings['train']:.0f} ms, drawing {1000 * self.timings['draw']:.0f} ms")


def playground(settings: Settings | None = None, make_G: Callable | None = None, make_D: Callable | None = None,
               **kwargs) -> Playground:
    """The GAN playground of chapter 00, as an ipywidgets layout (see :class:`Playground`).

    ``settings`` sets the controls' starting values; ``make_G`` / ``make_D`` build your own
    networks, one seed's model per call (``make_G()`` or ``make_G(settings)``): G maps ``z``
    ``(B, 2)`` to points ``(B, 2)``, D maps points ``(B, 2)`` to logits ``(B, 1)``. Show it with
    ``view.show(pg, pg.picture())`` so that a static page shows its first view.
    """
    return Playground(settings, make_G, make_D, **kwargs)
