"""How a confident D starves G: saturating losses and saturating activations, measured.

Chapter 02 measures two ways in which the gradient that reaches G's weights vanishes:

* **The loss saturates.** G's original loss ``log(1 - D(G(z)))`` has slope
  ``-sigmoid(l)`` in D's logit ``l``, which goes to 0 as D rejects the fakes
  (``l -> -inf``); the non-saturating ``-log D(G(z))`` has slope ``-(1 - sigmoid(l)) -> -1``
  (Goodfellow et al. 2014, sec. 3). :func:`logit_slope` gives the slopes;
  :func:`train_d_against_fixed_g` trains D towards optimality against a frozen G and
  records G's gradient norm under both losses as D grows confident (Arjovsky & Bottou
  2017, "Towards principled methods for training GANs", thm. 2.4), with optional
  instance noise, the fix of Sønderby et al. 2017 and Arjovsky & Bottou 2017
  (:class:`FrozenGExperiment` does it one chunk at a time, for the chapter's widget).
  :func:`train_from` then lets G train too, from the same start, with either loss.
* **The activations saturate.** :func:`deep_stack` builds a deep MLP of one activation
  (optionally with batch norm between layers, or Kaiming init with any gain), and
  :func:`depth_profile` measures the gradient norm reaching each layer: it shrinks
  geometrically with depth for sigmoid at the usual inits (``sigmoid' <= 1/4``).
  :func:`backprop_factors` sets the measured per-layer factor beside the mean-field
  prediction ``sqrt(n Var(W) E[phi'(h)^2])``.

Everything is batched over ``S`` seeds (stacked weights, :mod:`gancourse.models.mlp`); values come
back as tensors with a seeds axis.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from gancourse.diagnostics.gradients import backprop_signals, grad_norms_of, per_sample_grad_norms
from gancourse.losses import g_non_saturating_loss, g_saturating_loss
from gancourse.models.mlp import ACTIVATIONS, NORMS, StackedBatchNorm1d, StackedLinear, make_activation, negative_slope
from gancourse.runtime import default_device
from gancourse.training import TrainConfig, TrainingDiverged, d_step, g_step, make_optimizer, threads
from gancourse.training.seeds import (
    Randomness,
    SampleReal,
    grad_norm,
    n_models,
    per_seed_loss,
    per_seed_mean,
    stacked_models,
)

LOSS_NAMES = ("minimax", "non_saturating")
"""G's two losses in :mod:`gancourse.losses`: ``minimax`` (saturating ``log(1 - D(G(z)))``) and ``non_saturating``."""
INITS = ("default", "kaiming")
"""Weight inits of :func:`deep_stack`: ``nn.Linear``'s default, or Kaiming/He (He et al. 2015)."""
METRICS = ("per_sample", "batch_mean")
"""What :func:`depth_profile` measures per layer: the root mean square of each sample's own gradient
norm, or the norm of the gradient of the batch-mean logit (where samples' gradients can cancel)."""
FLAT_SLOPE = 0.01
"""A unit counts as flat (saturated) where ``|phi'(h)| <`` this: :attr:`BackpropFactors.flat_share`."""
G_OPTIMIZERS = ("sgd", "adam")
"""G's optimizer in :func:`train_from`: plain SGD (step = learning rate x gradient) or Adam (rescaled)."""


# ---------------------------------------------------------------- the loss saturates


def logit_slope(g_loss: Callable[[Tensor], Tensor], logits: Tensor) -> Tensor:
    """Per-sample slope ``d g_loss(l_i) / d l_i`` of a G loss at each logit, same shape as ``logits``.

    ``g_loss`` averages over its input (as every loss in :mod:`gancourse.losses`), so the
    gradient of ``g_loss(logits) * numel`` is each sample's own slope. Chapter 02 shows
    ``-sigmoid(l)`` for the saturating loss and ``-(1 - sigmoid(l))`` for the non-saturating one.
    """
    if logits.numel() == 0:
        raise ValueError("logits is empty; pass at least one logit, e.g. torch.linspace(-10, 10, 101)")
    logits = logits.detach().to(logits.dtype if logits.is_floating_point() else torch.get_default_dtype())
    logits.requires_grad_(True)
    with torch.enable_grad():
        (slope,) = torch.autograd.grad(g_loss(logits) * logits.numel(), logits)
    return slope


@dataclass
class StarvationRun:
    """What :func:`train_d_against_fixed_g` records: one row per checkpoint, one column per seed.

    All tensors are on the CPU; ``C`` checkpoints, ``S`` seeds.
    """

    G: nn.Module
    """The frozen generator (stacked for ``S > 1`` seeds)."""
    D: nn.Module
    """The discriminator after the last checkpoint (stacked for ``S > 1``)."""
    d_steps: Tensor
    """``(C,)`` D steps done at each checkpoint."""
    d_real: Tensor
    """``(C, S)`` mean ``D(x)`` on a fixed batch of real samples."""
    d_fake: Tensor
    """``(C, S)`` mean ``D(G(z))`` on a fixed batch of ``z``."""
    grad_saturating: Tensor
    """``(C, S)`` norm of the gradient of ``log(1 - D(G(z)))`` w.r.t. all of G's weights."""
    grad_non_saturating: Tensor
    """``(C, S)`` norm of the gradient of ``-log D(G(z))`` w.r.t. all of G's weights."""
    noise_std: float
    """Std of the instance noise added to every input of D (0 = none)."""


def _g_grad_norms(G: nn.Module, D: nn.Module, z: Tensor, eps_fake: Tensor, noise_std: float,
                  S: int) -> tuple[list[Tensor], Tensor]:
    """Per-seed norms of G's gradient under the saturating and the non-saturating loss, and mean D(G(z)); each (S,)."""
    params = [p for p in G.parameters() if p.requires_grad]
    fake_logits = D(G(z) + noise_std * eps_fake)  # the one graph both losses backpropagate through
    norms = []
    for loss in (g_saturating_loss, g_non_saturating_loss):
        G.zero_grad(set_to_none=True)
        # summed over seeds: seed s's weights only enter seed s's loss, so each gets its own gradient
        per_seed_loss(loss, S, fake_logits).sum().backward(inputs=params, retain_graph=True)
        norms.append(grad_norm(params, S).reshape(S))
    G.zero_grad(set_to_none=True)  # G is frozen: leave no gradient behind
    return norms, per_seed_mean(fake_logits.detach().sigmoid(), S).reshape(S)


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct ints, got {seeds}")
    return seeds


def _check_checkpoints(checkpoints: Sequence[int], what: str) -> list[int]:
    checkpoints = sorted(set(int(c) for c in checkpoints))
    if not checkpoints or checkpoints[0] < 0:
        raise ValueError(f"checkpoints must be non-empty {what} step counts >= 0, e.g. [0, 10, 100, 1000]; "
                         f"got {checkpoints}")
    return checkpoints


class FrozenGExperiment:
    """D trained step by step against a frozen G, measured on fixed batches (chapter 02 and its widget).

    Seed ``s`` builds its ``G`` and ``D`` after ``torch.manual_seed(s)`` (``make_G()``, e.g.
    ``lambda: mlp.MLPGenerator()``); ``S`` seeds are stacked into one batched model.
    :meth:`train_d` takes steps of the minimax D loss (Adam, ``lr_d``, betas (0.5, 0.999)) on
    ``batch_size`` real samples from ``sample_real(n, generator)`` and as many fresh ``G(z)``;
    G never moves. :meth:`measure` reads, on fixed evaluation batches of ``n_eval`` samples,
    mean ``D(x)``, mean ``D(G(z))`` and the norm of the gradient of each G loss w.r.t. G's
    weights, per seed. ``noise_std > 0`` adds instance noise ``N(0, noise_std^2)`` to every
    input of D, in its training and in the measurement (a fixed draw), so G is measured
    against the D it faces.
    """

    def __init__(self, seeds: Sequence[int], make_G: Callable[[], nn.Module], make_D: Callable[[], nn.Module],
                 sample_real: SampleReal, lr_d: float = 1e-3, batch_size: int = 256, noise_std: float = 0.0,
                 n_eval: int = 1024, device: torch.device | str | None = None) -> None:
        self.seeds = _check_seeds(seeds)
        if not noise_std >= 0:
            raise ValueError(f"noise_std must be >= 0 (0 = no instance noise), got {noise_std}")
        if n_eval < 1:
            raise ValueError(f"n_eval must be >= 1, got {n_eval}")
        device = torch.device(device) if device is not None else default_device()
        self.config = TrainConfig(loss="minimax", lr_d=lr_d, batch_size=batch_size, progress=False)
        self.G, self.D = stacked_models(self.seeds, make_G, make_D)
        self.G.to(device).train()
        self.D.to(device).train()
        self.z_dim = getattr(self.G, "z_dim", None)
        if self.z_dim is None:
            raise ValueError(f"{type(self.G).__name__} has no z_dim attribute; give G a z_dim (as MLPGenerator has)")
        self.sample_real, self.noise_std = sample_real, float(noise_std)
        self.opt_d = make_optimizer(self.D.parameters(), self.config.lr_d, self.config.betas)
        self.rng = Randomness(self.seeds, device)
        # fixed evaluation batches, so that every measurement sees the same samples
        self.z_eval = self.rng.z(n_eval, self.z_dim)
        self.x_real_eval = self.rng.real(sample_real, n_eval)
        self.eps_real = self.rng.add_noise(torch.zeros_like(self.x_real_eval), 1.0)
        with torch.no_grad():
            self.eps_fake = self.rng.add_noise(torch.zeros_like(self.G(self.z_eval)), 1.0)
        self.d_steps = 0
        """D steps taken so far."""

    def train_d(self, steps: int) -> None:
        """``steps`` more D steps; G stays where it is."""
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        n = self.config.batch_size
        with threads.for_work(self._work, self.z_eval.device):  # one CPU thread for 2-D nets, restored after
            for _ in range(steps):
                # (1) Update D: maximize log D(x) + log(1 - D(G(z)))
                d_step(self.G, self.D, self.opt_d, self.rng.real(self.sample_real, n), self.rng.z(n, self.z_dim),
                       self.config, self.rng, self.noise_std)
        self.d_steps += steps

    def _work(self) -> float:
        return threads.gan_mflop(self.G, self.D, torch.zeros_like(self.z_eval[..., :self.config.batch_size, :]))

    def measure(self) -> Tensor:
        """``(4, S)`` on the device: mean D(x), mean D(G(z)), |grad| of the saturating and the non-saturating loss."""
        S = len(self.seeds)
        (sat, ns), d_fake = _g_grad_norms(self.G, self.D, self.z_eval, self.eps_fake, self.noise_std, S)
        with torch.no_grad():
            d_real = per_seed_mean(self.D(self.x_real_eval + self.noise_std * self.eps_real).sigmoid(), S).reshape(S)
        return torch.stack([d_real, d_fake, sat, ns])

    def fake_points(self) -> Tensor:
        """D's view of G's evaluation samples: ``G(z_eval)`` plus the fixed instance noise, ``([S,] n_eval, ...)``."""
        with torch.no_grad():
            return self.G(self.z_eval) + self.noise_std * self.eps_fake


def train_d_against_fixed_g(
    seeds: Sequence[int],
    make_G: Callable[[], nn.Module],
    make_D: Callable[[], nn.Module],
    sample_real: SampleReal,
    checkpoints: Sequence[int],
    lr_d: float = 1e-3,
    batch_size: int = 256,
    noise_std: float = 0.0,
    n_eval: int = 1024,
    device: torch.device | str | None = None,
) -> StarvationRun:
    """Train D alone against a frozen G and watch G's gradient vanish as D grows confident (chapter 02).

    A :class:`FrozenGExperiment` (which says how G and D are built, trained and measured) is
    trained for ``max(checkpoints)`` D steps and measured at each D step count in
    ``checkpoints`` (0 = the untrained D). Host syncs happen only at the end.
    """
    checkpoints = _check_checkpoints(checkpoints, "D")
    experiment = FrozenGExperiment(seeds, make_G, make_D, sample_real, lr_d, batch_size, noise_std, n_eval, device)
    rows = []
    for step in checkpoints:
        experiment.train_d(step - experiment.d_steps)
        rows.append(experiment.measure())  # (4, S)
    record = torch.stack(rows).cpu()  # (C, 4, S): the one host copy
    return StarvationRun(G=experiment.G, D=experiment.D, d_steps=torch.tensor(checkpoints), d_real=record[:, 0],
                         d_fake=record[:, 1], grad_saturating=record[:, 2], grad_non_saturating=record[:, 3],
                         noise_std=float(noise_std))


@dataclass
class JointRun:
    """What :func:`train_from` records: one row per checkpoint, one column per seed; tensors on the CPU."""

    G: nn.Module
    """G after the last step (stacked for ``S > 1``)."""
    D: nn.Module
    """D after the last step."""
    steps: Tensor
    """``(C,)`` training steps (one D step and one G step each) done at each checkpoint."""
    d_real: Tensor
    """``(C, S)`` mean ``D(x)`` on a fixed batch of real samples."""
    d_fake: Tensor
    """``(C, S)`` mean ``D(G(z))`` on a fixed batch of ``z``."""
    grad_g: Tensor
    """``(C, S)`` norm of the gradient of G's own loss w.r.t. G's weights, on the fixed batch."""
    x_fake: Tensor
    """``(C, S, n_eval, ...)`` G's samples of the fixed ``z`` at each checkpoint."""
    loss: str
    g_optimizer: str


def train_from(G: nn.Module, D: nn.Module, sample_real: SampleReal, seeds: Sequence[int], checkpoints: Sequence[int],
               loss: str = "non_saturating", g_optimizer: str = "sgd", lr_g: float = 1e-2, lr_d: float = 1e-3,
               batch_size: int = 256, n_eval: int = 512, device: torch.device | str | None = None) -> JointRun:
    """Train copies of ``G`` and ``D`` together from their current weights, G with either loss (chapter 02).

    The same start can be trained twice, once with ``loss="minimax"`` (G minimises the saturating
    ``log(1 - D(G(z)))``) and once with ``"non_saturating"``: ``G`` and ``D`` (stacked for ``S``
    seeds, e.g. a :class:`StarvationRun`'s) are copied, never changed. Each step is one D step
    (minimax D loss, Adam ``lr_d``) then one G step (:func:`gancourse.training.steps.g_step`) with
    ``g_optimizer``: ``"sgd"``, whose step is ``lr_g`` times the gradient, so a vanishing gradient
    means a vanishing step, or ``"adam"``, which divides each component by its running RMS.
    Seed ``s`` draws its batches from ``seeds[s]``. At each step count in ``checkpoints`` it
    records, on fixed batches of ``n_eval``, D's outputs, the norm of G's gradient and G's samples.
    Raises :class:`~gancourse.training.TrainingDiverged` if a record becomes NaN or infinite.
    """
    seeds = _check_seeds(seeds)
    checkpoints = _check_checkpoints(checkpoints, "training")
    if loss not in LOSS_NAMES:
        raise ValueError(f"loss must be one of {', '.join(LOSS_NAMES)} (G's saturating and non-saturating "
                         f"losses), got {loss!r}")
    if g_optimizer not in G_OPTIMIZERS:
        raise ValueError(f"g_optimizer must be one of {', '.join(G_OPTIMIZERS)}, got {g_optimizer!r}")
    S = n_models(G, D)
    if len(seeds) != S:
        raise ValueError(f"got {len(seeds)} seeds for models holding {S}; pass one seed per stacked model")
    if n_eval < 1:
        raise ValueError(f"n_eval must be >= 1, got {n_eval}")
    config = TrainConfig(loss=loss, lr_d=lr_d, lr_g=lr_g, batch_size=batch_size, progress=False)
    device = torch.device(device) if device is not None else default_device()
    G, D = copy.deepcopy(G).to(device).train(), copy.deepcopy(D).to(device).train()
    z_dim = getattr(G, "z_dim", None)
    if z_dim is None:
        raise ValueError(f"{type(G).__name__} has no z_dim attribute; give G a z_dim (as MLPGenerator has)")
    opt_d = make_optimizer(D.parameters(), lr_d, config.betas)
    opt_g = (torch.optim.SGD(G.parameters(), lr=lr_g) if g_optimizer == "sgd"
             else make_optimizer(G.parameters(), lr_g, config.betas))
    rng = Randomness(seeds, device)
    z_eval = rng.z(n_eval, z_dim)
    x_real_eval = rng.real(sample_real, n_eval)
    no_noise = torch.zeros((), device=device)
    which = LOSS_NAMES.index(loss)

    rows, samples, done = [], [], 0
    work = lambda: threads.gan_mflop(G, D, torch.zeros_like(z_eval[..., :batch_size, :]))  # noqa: E731
    for step in checkpoints:
        with threads.for_work(work, device):  # one CPU thread for 2-D nets, restored after
            for _ in range(step - done):
                # (1) Update D: maximize log D(x) + log(1 - D(G(z)))
                d_step(G, D, opt_d, rng.real(sample_real, batch_size), rng.z(batch_size, z_dim), config, rng)
                # (2) Update G on its own loss, saturating or not
                g_step(G, D, opt_g, rng.z(batch_size, z_dim), config, rng)
        done = step
        norms, d_fake = _g_grad_norms(G, D, z_eval, no_noise, 0.0, S)
        with torch.no_grad():
            d_real = per_seed_mean(D(x_real_eval).sigmoid(), S).reshape(S)
            samples.append(G(z_eval).reshape(S, n_eval, -1).cpu())
        row = torch.stack([d_real, d_fake, norms[which]]).cpu()  # (3, S); a host sync per checkpoint
        if not torch.isfinite(row).all() or not torch.isfinite(samples[-1]).all():
            raise TrainingDiverged(f"train_from diverged by step {step} (loss={loss}, g_optimizer={g_optimizer}): "
                                   f"D's outputs, G's gradient or G's samples became NaN or infinite. Try a "
                                   f"smaller lr_g (now {lr_g:g}) or lr_d (now {lr_d:g}).", step, "g_grad_norm")
        rows.append(row)
    record = torch.stack(rows)  # (C, 3, S)
    return JointRun(G=G, D=D, steps=torch.tensor(checkpoints), d_real=record[:, 0], d_fake=record[:, 1],
                    grad_g=record[:, 2], x_fake=torch.stack(samples), loss=loss, g_optimizer=g_optimizer)


# ---------------------------------------------------------------- the activations saturate


def kaiming_gain(activation: str) -> float:
    """He et al.'s gain for ``activation``: ``sqrt(2 / (1 + a^2))`` for a rectifier of negative slope ``a``,
    else ``torch.nn.init.calculate_gain`` (1 for sigmoid, 5/3 for tanh). Chapter 02."""
    slope = negative_slope(activation)
    if slope is not None:
        return (2.0 / (1.0 + slope**2)) ** 0.5
    return nn.init.calculate_gain(activation)


def deep_stack(depth: int, width: int, activation: str, norm: str = "none", init: str = "default",
               n_models: int = 1, gain: float | None = None) -> nn.Sequential:
    """``n_models`` deep MLPs side by side: ``(S, B, width) -> (S, B, 1)`` logits (chapter 02).

    ``depth`` hidden layers, each ``StackedLinear(width, width)`` -> [batch norm] ->
    ``activation`` (one of ``gancourse.models.mlp.ACTIVATIONS``), then a linear readout to one logit.
    ``norm`` is ``"none"`` or ``"batch"`` (per-seed batch norm, Ioffe & Szegedy 2015).
    ``init="default"`` keeps ``nn.Linear``'s init (weights ``U(+-1/sqrt(width))``, variance
    ``1/(3 width)``); ``"kaiming"`` draws hidden weights from ``N(0, gain^2/width)`` and zero
    biases, with ``gain`` the activation's :func:`kaiming_gain` (He et al. 2015) unless given:
    chapter 02 sweeps it for the sigmoid.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; use one of {', '.join(NORMS)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; use one of {', '.join(INITS)}")
    if depth < 1 or width < 1 or n_models < 1:
        raise ValueError(f"need depth, width, n_models >= 1, got {depth}, {width}, {n_models}")
    if gain is not None and (init != "kaiming" or not gain > 0):
        raise ValueError(f"gain must be a number > 0 and goes with init='kaiming'; got gain={gain!r}, init={init!r}")
    gain = kaiming_gain(activation) if gain is None else float(gain)
    layers: list[nn.Module] = []
    for _ in range(depth):
        linear = StackedLinear(width, width, n_models)
        if init == "kaiming":
            with torch.no_grad():
                linear.weight.normal_(0.0, gain / width**0.5)
                linear.bias.zero_()
        layers.append(linear)
        if norm == "batch":
            layers.append(StackedBatchNorm1d(width, n_models))
        layers.append(make_activation(activation, n_models))
    layers.append(StackedLinear(width, 1, n_models))
    return nn.Sequential(*layers)


def _hidden_paths(stack: nn.Module, x: Tensor) -> list[str]:
    """Paths of the hidden ``StackedLinear`` layers of ``stack`` (all but the readout), with ``x`` checked."""
    linears = [(path, m) for path, m in stack.named_modules() if isinstance(m, StackedLinear)]
    if len(linears) < 2:
        raise ValueError(f"stack needs at least one hidden StackedLinear before the readout, found {len(linears)} "
                         f"StackedLinear layers; build it with deep_stack")
    first = linears[0][1]
    if x.dim() != 3 or x.shape[0] != first.n_models or x.shape[-1] != first.in_features:
        raise ValueError(f"x must be (S, B, {first.in_features}) with S={first.n_models}, got {tuple(x.shape)}")
    return [path for path, _ in linears[:-1]]


def layer_grad_norms_per_seed(stack: nn.Module, x: Tensor, metric: str = "per_sample") -> Tensor:
    """``(S, L)`` gradient norm of each seed's logits w.r.t. each hidden layer's weight (chapter 02).

    ``stack`` maps ``(S, B, F) -> (S, B, 1)`` (e.g. :func:`deep_stack`); ``x`` is ``(S, B, F)``.
    The ``L`` hidden layers are the stack's ``StackedLinear`` layers in order, without the
    readout (its ``(width, 1)`` weight is not comparable to the ``(width, width)`` ones).
    ``metric="per_sample"``: the root mean square over samples of ``||d logit_i / dW_k||``
    (:func:`gancourse.diagnostics.per_sample_grad_norms`), how much each layer learns from one
    sample. ``"batch_mean"``: ``||d mean_i(logit_i) / dW_k||``, where samples whose gradients
    point different ways cancel. No ``.grad`` is written.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    hidden = _hidden_paths(stack, x)
    S = x.shape[0]
    if metric == "per_sample":
        norms = per_sample_grad_norms(stack, x)
    else:
        with torch.enable_grad():
            # mean over (S, B) times S = sum over seeds of each seed's mean logit
            norms = grad_norms_of(stack(x).mean() * S, stack, weights_only=True)  # per layer, (S,) each
    return torch.stack([norms[path] for path in hidden], dim=1)  # (S, L)


class BackpropFactors(NamedTuple):
    """How much the gradient shrinks from hidden layer ``k + 1`` down to layer ``k``: each ``(S, L - 1)``.

    Column ``k`` compares layer ``k`` (0 = next to the input) with layer ``k + 1``.
    """

    n_var_w: Tensor
    """``n E[W_{k+1}^2]``: fan-in times the second moment of the weights the gradient passes through."""
    mean_sq_slope: Tensor
    """``E[phi'(h_k)^2]`` over layer ``k``'s units and samples (at most 1/16 for the sigmoid)."""
    predicted: Tensor
    """``sqrt(n_var_w * mean_sq_slope)``, the mean-field factor (e.g. Poole et al. 2016; Schoenholz et al. 2017)."""
    measured: Tensor
    """``rms_i |delta_k,i| / rms_i |delta_k+1,i|``, with ``delta_k,i`` the gradient of sample ``i``'s logit
    w.r.t. layer ``k``'s pre-activations."""
    flat_share: Tensor
    """Share of layer ``k``'s units and samples where ``|phi'(h)| < 0.01``: saturated sigmoid/tanh units
    (``|h| > 4.6`` for the sigmoid), or ReLU's zero half."""


def backprop_factors(stack: nn.Module, x: Tensor) -> BackpropFactors:
    """The factor by which the gradient shrinks (or grows) per layer of a stack, predicted and measured.

    Backpropagation through hidden layer ``k + 1`` multiplies the gradient w.r.t. the
    pre-activations by ``diag(phi'(h_k)) W_{k+1}`` (transposed). For random weights of second
    moment ``E[W^2]`` and fan-in ``n`` its squared norm is multiplied, on average, by
    ``n E[W^2] E[phi'(h_k)^2]``; the square root is the predicted factor, measured here on the
    stack's own weights and pre-activations beside the factor its gradients actually show.
    ``stack`` is a :func:`deep_stack` with ``norm="none"``; ``x`` is ``(S, B, width)``. Chapter 02.
    """
    hidden = _hidden_paths(stack, x)
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in stack.modules()):
        raise ValueError("backprop_factors needs a stack without batch norm (norm='none'): the mean-field factor "
                         "leaves normalisation layers out")
    modules = dict(stack.named_modules())
    children = list(stack)
    _, signals = backprop_signals(stack, x)
    rms = lambda t: t.norm(dim=-1).square().mean(dim=-1).sqrt()  # (S, B, F) -> (S,)
    slope_power, weight_scale, delta_rms, flat = [], [], [], []
    for k, path in enumerate(hidden):
        linear = modules[path]
        activation = children[children.index(linear) + 1]
        a, delta = signals[path]
        with torch.enable_grad():
            h = linear(a).detach().requires_grad_(True)  # (S, B, width): the pre-activations
            (slope,) = torch.autograd.grad(activation(h).sum(), h)  # phi'(h), elementwise
        slope_power.append(slope.square().mean(dim=(1, 2)))
        flat.append((slope.abs() < FLAT_SLOPE).float().mean(dim=(1, 2)))
        delta_rms.append(rms(delta))
        if k > 0:
            weight_scale.append(linear.in_features * linear.weight.detach().square().mean(dim=(1, 2)))
    slope_power_t = torch.stack(slope_power[:-1], dim=1)  # (S, L-1): E[phi'(h_k)^2], k = 0..L-2
    weight_scale_t = torch.stack(weight_scale, dim=1)  # (S, L-1): n E[W_{k+1}^2]
    delta_t = torch.stack(delta_rms, dim=1)  # (S, L)
    return BackpropFactors(weight_scale_t, slope_power_t, (weight_scale_t * slope_power_t).sqrt(),
                           delta_t[:, :-1] / delta_t[:, 1:], torch.stack(flat[:-1], dim=1))


def random_stack(activation: str, depth: int = 16, width: int = 64, norm: str = "none", init: str = "default",
                 n_models: int = 5, batch_size: int = 256, seed: int = 0, device: torch.device | str | None = None,
                 gain: float | None = None) -> tuple[nn.Sequential, Tensor]:
    """A :func:`deep_stack` at initialisation and its inputs ``x ~ N(0, I)`` ``(S, batch_size, width)`` (chapter 02).

    The stack is built after ``torch.manual_seed(seed)`` (the caller's global random state is
    saved and restored) and left in train mode (batch norm uses batch statistics, as during GAN
    training); ``x`` is drawn from a generator seeded with ``seed``. Same arguments, same numbers.
    """
    device = torch.device(device) if device is not None else default_device()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        stack = deep_stack(depth, width, activation, norm, init, n_models, gain)
    stack.to(device).train()
    generator = torch.Generator(device=device).manual_seed(seed)
    return stack, torch.randn(n_models, batch_size, width, generator=generator, device=device)


def depth_profile(activation: str, depth: int = 16, width: int = 64, norm: str = "none", init: str = "default",
                  n_models: int = 5, batch_size: int = 256, seed: int = 0,
                  device: torch.device | str | None = None, metric: str = "per_sample",
                  gain: float | None = None) -> Tensor:
    """Per-layer gradient norms at initialisation of ``n_models`` deep stacks, ``(S, depth)`` on the CPU.

    :func:`layer_grad_norms_per_seed` with ``metric`` on :func:`random_stack`'s stack and inputs.
    Column 0 is the first layer, the farthest from the loss. Chapter 02 compares activations,
    batch norm, inits and gains with it.
    """
    stack, x = random_stack(activation, depth, width, norm, init, n_models, batch_size, seed, device, gain)
    with threads.for_work(lambda: threads.model_mflop(stack, x), x.device):
        return layer_grad_norms_per_seed(stack, x, metric).cpu()
