"""The fixes the lab compares, each a name for a set of training options and model options.

A :class:`Fix` changes a baseline set-up (:mod:`gancourse.lab.setups`) in one named way:
``config`` overrides fields of :class:`~gancourse.training.TrainConfig`, ``G`` and ``D`` add
keyword options to the set-up's model constructors, ``n_generators`` > 1 builds MAD-GAN's ``k``
generators against a ``(k+1)``-way D, ``wrap_D`` transforms each seed's D, and ``train`` replaces
:func:`~gancourse.training.train_seeds` for a fix that needs a loop of its own.

This is the course's one registry of fixes: chapter 08's helpers (:mod:`gancourse.fixes`, which
keeps the chapter's own names such as ``"packing"`` for ``pack2``) and chapter 09's lab read it.
The lab knows fixes only through it, so a new fix (a learner's own idea) is one
:func:`register_fix` call away and needs no change to the lab::

    register_fix(Fix("r1_strong", config={"r1_weight": 10.0}, what="R1 with gamma 10", chapter="08"))
    run_grid(["gan", "r1_strong"], ...)

Packing needs no model option: the lab always builds D (and a G whose batch norm follows the
pack, as PacGAN's) for the fix's ``TrainConfig.pack``. Chapter 09.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from gancourse.training import TrainConfig

Trainer = Callable[..., Any]
"""``train(seeds, make_G, make_D, data, config, device=...) -> TrainResult``, like ``training.train_seeds``."""


@dataclass(frozen=True)
class Fix:
    """One named change to the baseline: training options, model options, a D wrapper or a loop of its own.

    ``chapter`` is the number of the chapter that explains the fix (e.g. ``"08"``), ``what`` a
    one-line description, ``reference`` the paper. ``n_generators`` > 1 is MAD-GAN (Ghosh et al.
    2018): ``k`` generators sharing a body, scored as their mixture, against a D with ``k + 1``
    outputs; its ``config`` gets ``loss="mad_gan"`` unless it names the loss. ``stacks=False``
    makes the lab train the seeds one by one (a D wrapper that cannot act on stacked weights, a
    model without ``stack``). A bad ``config`` field or value fails here, naming it.
    """

    name: str
    config: Mapping[str, Any] = field(default_factory=dict)
    G: Mapping[str, Any] = field(default_factory=dict)
    D: Mapping[str, Any] = field(default_factory=dict)
    n_generators: int = 1
    wrap_D: Callable[[nn.Module], nn.Module] | None = None
    train: Trainer | None = None
    stacks: bool = True
    what: str = ""
    chapter: str = ""
    reference: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"a fix's name must be a plain identifier such as 'pack2' (it names rows, columns and "
                             f"files), got {self.name!r}")
        for part in ("config", "G", "D"):
            if not isinstance(getattr(self, part), Mapping):
                raise TypeError(f"Fix.{part} must be a dict of options, got {type(getattr(self, part)).__name__}")
        k = self.n_generators
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"Fix {self.name!r}: n_generators must be an int >= 1 (MAD-GAN: 2 or more), got {k!r}")
        if k > 1 and "loss" not in self.config:
            object.__setattr__(self, "config", {**self.config, "loss": "mad_gan"})
        TrainConfig(**self.config)  # a bad field or value fails here, naming it
        if self.wrap_D is not None and self.stacks:
            object.__setattr__(self, "stacks", False)  # wrappers such as spectral norm act on one seed's D

    @property
    def pack(self) -> int:
        """How many samples D judges at once (``config["pack"]``, PacGAN; 1 without packing)."""
        return int(self.config.get("pack", 1))

    def spec(self) -> dict:
        """What the fix does as plain JSON values: the lab stores it with each result to know a changed fix."""
        spec = {"name": self.name, "config": _plain(self.config), "G": _plain(self.G), "D": _plain(self.D),
                "wrap_D": _qualname(self.wrap_D), "train": _qualname(self.train), "stacks": self.stacks}
        if self.n_generators > 1:  # only then, so that the stored specs of the other fixes keep their form
            spec["n_generators"] = self.n_generators
        return spec


def _qualname(fn: Callable | None) -> str | None:
    return None if fn is None else f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _plain(options: Mapping[str, Any]) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(options.items())}


FIXES: dict[str, Fix] = {}
"""Every registered fix by name; :func:`register_fix` adds to it, :func:`get_fix` reads it."""


def register_fix(fix: Fix, replace: bool = False) -> Fix:
    """Add ``fix`` to :data:`FIXES` (``replace=True`` to redefine a name); returns it. Chapters 08, 09."""
    if not isinstance(fix, Fix):
        raise TypeError(f"register_fix needs a lab.Fix, got {type(fix).__name__}")
    if fix.name in FIXES and not replace and FIXES[fix.name] != fix:
        raise ValueError(f"a fix called {fix.name!r} is already registered ({FIXES[fix.name].what}); pass "
                         f"replace=True to redefine it, or choose another name")
    FIXES[fix.name] = fix
    return fix


def get_fix(fix: str | Fix) -> Fix:
    """The registered fix called ``fix`` (a :class:`Fix` is returned as it is)."""
    if isinstance(fix, Fix):
        return fix
    try:
        return FIXES[fix]
    except (KeyError, TypeError):
        raise ValueError(f"unknown fix {fix!r}; registered fixes: {', '.join(FIXES)} (add one with "
                         f"lab.register_fix(lab.Fix(...)))") from None


# The course's fixes. Values are those of the papers where the paper gives one for this kind of problem;
# learning rates, steps and batch come from the set-up, so every fix trains for as long as the baseline.
for _fix in (
    Fix("gan", what="the baseline: non-saturating loss, alternating steps", chapter="02",
        reference="Goodfellow et al. 2014"),
    Fix("wgan_gp", config={"loss": "wasserstein", "gp_weight": 10.0, "n_critic": 5, "betas": (0.5, 0.9)},
        what="Wasserstein critic with gradient penalty, lambda 10, 5 critic steps", chapter="07",
        reference="Gulrajani et al. 2017"),
    Fix("wgan_clip", config={"loss": "wasserstein", "clip_value": 0.01, "n_critic": 5},
        what="Wasserstein critic with weights clipped to [-0.01, 0.01], 5 critic steps", chapter="07",
        reference="Arjovsky et al. 2017"),
    Fix("hinge", config={"loss": "hinge"}, what="hinge loss", chapter="08",
        reference="Lim & Ye 2017; Miyato et al. 2018"),
    Fix("least_squares", config={"loss": "least_squares"}, what="least-squares loss (a=0, b=c=1)", chapter="08",
        reference="Mao et al. 2017"),
    Fix("ttur", config={"lr_d": 4e-4, "lr_g": 1e-4}, what="two time-scale rule: lr_d 4e-4, lr_g 1e-4", chapter="04",
        reference="Heusel et al. 2017"),
    Fix("n_critic5", config={"n_critic": 5}, what="5 D steps per G step", chapter="04"),
    Fix("r1", config={"r1_weight": 1.0}, what="R1 penalty on real data, gamma 1", chapter="08",
        reference="Mescheder et al. 2018"),
    Fix("instance_noise", config={"instance_noise": 0.1}, what="Gaussian noise on D's inputs, std 0.1 annealed to 0",
        chapter="08", reference="Sonderby et al. 2017; Arjovsky & Bottou 2017"),
    Fix("label_smoothing", config={"label_smoothing": 0.1}, what="one-sided label smoothing, real target 0.9",
        chapter="08", reference="Salimans et al. 2016"),
    *(Fix(f"pack{m}", config={"pack": m}, what=f"PacGAN{m}: D judges {m} samples at once", chapter="08",
          reference="Lin et al. 2018") for m in (2, 3, 4)),
    Fix("unrolled5", config={"unrolled_steps": 5}, what="G steps against D unrolled 5 steps ahead (first order)",
        chapter="08", reference="Metz et al. 2017"),
    Fix("minibatch_discrimination", D={"minibatch_discrimination": True},
        what="minibatch discrimination before D's last layer (kernels: the set-up's)", chapter="08",
        reference="Salimans et al. 2016"),
    Fix("minibatch_stddev", D={"minibatch_stddev": True}, what="minibatch standard deviation feature, groups of 4",
        chapter="08", reference="Karras et al. 2018"),
    Fix("spectral_norm", D={"spectral_norm": True}, what="spectral norm on every layer of D (per seed when stacked)",
        chapter="08", reference="Miyato et al. 2018"),
    Fix("feature_matching", config={"feature_matching": True},
        what="G matches the mean of D's last hidden layer on real and generated data", chapter="08",
        reference="Salimans et al. 2016"),
    Fix("mad_gan", n_generators=5, what="MAD-GAN: 5 generators sharing a body, scored as their mixture, a 6-way D",
        chapter="08", reference="Ghosh et al. 2018"),
):
    register_fix(_fix)
