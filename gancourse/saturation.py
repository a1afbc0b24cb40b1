"""How a confident D starves G: saturating losses and saturating activations, measured.

Chapter 02 measures two ways in which the gradient that reaches G's weights vanishes:

* **The loss saturates.** G's original loss ``log(1 - D(G(z)))`` has slope
  ``-sigmoid(l)`` in D's logit ``l``, which goes to 0 as D rejects the fakes
  (``l -> -inf``); the non-saturating ``-log D(G(z))`` has slope ``-(1 - sigmoid(l)) -> -1``
  (Goodfellow et al. 2014, sec. 3). :func:`logit_slope` gives the slopes;
  :func:`train_d_against_fixed_g` trains D towards optimality against a frozen G and
  records G's gradient norm under both losses as D grows confident (Arjovsky & Bottou
  2017, "Towards principled methods for training GANs", thm. 2.4), with optional
  instance noise, the fix of Sønderby et al. 2017 and Arjovsky & Bottou 2017.
* **The activations saturate.** :func:`deep_stack` builds a deep MLP of one activation
  (optionally with batch norm between layers, or Kaiming init), and
  :func:`layer_grad_norms_per_seed` / :func:`depth_profile` measure the gradient norm
  reaching each layer: it shrinks geometrically with depth for sigmoid (``sigmoid' <= 1/4``).

Everything is batched over ``S`` seeds (stacked weights, :mod:`gancourse.mlp`); values come
back as tensors with a seeds axis and stay on the device until the caller reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gancourse import threads
from gancourse.diagnostics import grad_norms_of
from gancourse.losses import g_non_saturating_loss, g_saturating_loss
from gancourse.mlp import ACTIVATIONS, NORMS, StackedBatchNorm1d, StackedLinear, make_activation
from gancourse.runtime import default_device
from gancourse.seeds import Randomness, SampleReal, grad_norm, per_seed_loss, per_seed_mean, stacked_models
from gancourse.training import TrainConfig, d_step, make_optimizer

INITS = ("default", "kaiming")
"""Weight inits of :func:`deep_stack`: ``nn.Linear``'s default, or Kaiming/He (He et al. 2015)."""


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

    Seed ``s`` builds its ``G`` and ``D`` after ``torch.manual_seed(s)`` (``make_G()``, e.g.
    ``lambda: mlp.MLPGenerator()``); ``S`` seeds are stacked into one batched run. D takes
    ``max(checkpoints)`` steps of the minimax D loss (Adam, ``lr_d``, betas (0.5, 0.999)) on
    ``batch_size`` real samples from ``sample_real(n, generator)`` and as many fresh ``G(z)``;
    G never moves. At each D step count in ``checkpoints`` (0 = the untrained D) it records,
    on fixed evaluation batches of ``n_eval`` samples, mean ``D(x)``, mean ``D(G(z))`` and the
    norm of the gradient of each G loss w.r.t. G's weights, per seed.

    ``noise_std > 0`` adds instance noise ``N(0, noise_std^2)`` to every input of D, in its
    training and in the measurement (a fixed draw), so G is measured against the D it faces.
    Host syncs happen only at the end.
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct ints, got {seeds}")
    checkpoints = sorted(set(int(c) for c in checkpoints))
    if not checkpoints or checkpoints[0] < 0:
        raise ValueError(f"checkpoints must be non-empty D step counts >= 0, e.g. [0, 10, 100, 1000]; "
                         f"got {checkpoints}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0 (0 = no instance noise), got {noise_std}")
    if n_eval < 1:
        raise ValueError(f"n_eval must be >= 1, got {n_eval}")
    device = torch.device(device) if device is not None else default_device()
    G, D = stacked_models(seeds, make_G, make_D)
    G.to(device).train()
    D.to(device).train()
    S = len(seeds)
    z_dim = getattr(G, "z_dim", None)
    if z_dim is None:
        raise ValueError(f"{type(G).__name__} has no z_dim attribute; give G a z_dim (as MLPGenerator has)")
    config = TrainConfig(loss="minimax", lr_d=lr_d, batch_size=batch_size, progress=False)
    opt_d = make_optimizer(D.parameters(), config.lr_d, config.betas)
    rng = Randomness(seeds, device)
    # fixed evaluation batches, so that every checkpoint measures the same samples
    z_eval = rng.z(n_eval, z_dim)
    x_real_eval = rng.real(sample_real, n_eval)
    eps_real = rng.add_noise(torch.zeros_like(x_real_eval), 1.0)
    with torch.no_grad():
        eps_fake = rng.add_noise(torch.zeros_like(G(z_eval)), 1.0)

    rows, wanted = [], set(checkpoints)
    # CPU threads sized by the nets' work (one for 2-D nets), restored afterwards
    work = lambda: threads.gan_mflop(G, D, torch.zeros_like(z_eval[..., :batch_size, :]))  # noqa: E731
    with threads.for_work(work, device):
        for step in range(checkpoints[-1] + 1):
            if step in wanted:
                (sat, ns), d_fake = _g_grad_norms(G, D, z_eval, eps_fake, noise_std, S)
                with torch.no_grad():
                    d_real = per_seed_mean(D(x_real_eval + noise_std * eps_real).sigmoid(), S).reshape(S)
                rows.append(torch.stack([d_real, d_fake, sat, ns]))  # (4, S)
            if step < checkpoints[-1]:
                # (1) Update D: maximize log D(x) + log(1 - D(G(z))); G stays where it is
                d_step(G, D, opt_d, rng.real(sample_real, batch_size), rng.z(batch_size, z_dim), config, rng,
                       noise_std)
    record = torch.stack(rows).cpu()  # (C, 4, S): the one host copy
    return StarvationRun(G=G, D=D, d_steps=torch.tensor(checkpoints), d_real=record[:, 0], d_fake=record[:, 1],
                         grad_saturating=record[:, 2], grad_non_saturating=record[:, 3], noise_std=float(noise_std))


# ---------------------------------------------------------------- the activations saturate


def deep_stack(depth: int, width: int, activation: str, norm: str = "none", init: str = "default",
               n_models: int = 1) -> nn.Sequential:
    """``n_models`` deep MLPs side by side: ``(S, B, width) -> (S, B, 1)`` logits (chapter 02).

    ``depth`` hidden layers, each ``StackedLinear(width, width)`` -> [batch norm] ->
    ``activation`` (one of ``gancourse.mlp.ACTIVATIONS``), then a linear readout to one logit.
    ``norm`` is ``"none"`` or ``"batch"`` (per-seed batch norm, Ioffe & Szegedy 2015).
    ``init="default"`` keeps ``nn.Linear``'s init (weights ``U(+-1/sqrt(width))``, variance
    ``1/(3 width)``); ``"kaiming"`` draws hidden weights from ``N(0, gain^2/width)`` with the
    activation's gain (``nn.init.calculate_gain``) and zero biases (He et al. 2015).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; use one of {', '.join(NORMS)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; use one of {', '.join(INITS)}")
    if depth < 1 or width < 1 or n_models < 1:
        raise ValueError(f"need depth, width, n_models >= 1, got {depth}, {width}, {n_models}")
    gain = nn.init.calculate_gain(activation, 0.2 if activation == "leaky_relu" else None)
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
        layers.append(make_activation(activation))
    layers.append(StackedLinear(width, 1, n_models))
    return nn.Sequential(*layers)


def layer_grad_norms_per_seed(stack: nn.Module, x: Tensor) -> Tensor:
    """``(S, L)`` norm of the gradient of each seed's mean logit w.r.t. each hidden layer's weight (chapter 02).

    ``stack`` maps ``(S, B, F) -> (S, B, 1)`` (e.g. :func:`deep_stack`); ``x`` is ``(S, B, F)``.
    The ``L`` hidden layers are the stack's ``StackedLinear`` layers in order, without the
    readout (its ``(width, 1)`` weight is not comparable to the ``(width, width)`` ones).
    Any loss of the logit would do: it multiplies every layer's gradient by the same
    per-sample slope, so the ratios between layers barely change. No ``.grad`` is written.
    """
    linears = [m for m in stack.modules() if isinstance(m, StackedLinear)]
    if len(linears) < 2:
        raise ValueError(f"stack needs at least one hidden StackedLinear before the readout, found {len(linears)} "
                         f"StackedLinear layers; build it with deep_stack")
    S = linears[0].n_models
    if x.dim() != 3 or x.shape[0] != S or x.shape[-1] != linears[0].in_features:
        raise ValueError(f"x must be (S, B, {linears[0].in_features}) with S={S}, got {tuple(x.shape)}")
    hidden = [path for path, m in stack.named_modules() if isinstance(m, StackedLinear)][:-1]
    with torch.enable_grad():
        logits = stack(x)  # (S, B, 1)
        # mean over (S, B) times S = sum over seeds of each seed's mean logit
        norms = grad_norms_of(logits.mean() * S, stack, weights_only=True)  # per layer, (S,) each
    return torch.stack([norms[path] for path in hidden], dim=1)  # (S, L)


def depth_profile(activation: str, depth: int = 16, width: int = 64, norm: str = "none", init: str = "default",
                  n_models: int = 5, batch_size: int = 256, seed: int = 0,
                  device: torch.device | str | None = None) -> Tensor:
    """Per-layer gradient norms at initialisation of ``n_models`` deep stacks, ``(S, depth)`` on the CPU.

    Builds :func:`deep_stack` after ``torch.manual_seed(seed)`` (the caller's global random
    state is saved and restored), feeds each seed ``batch_size`` inputs ``x ~ N(0, I)`` and
    returns :func:`layer_grad_norms_per_seed`. Column 0 is the first layer, the farthest from
    the loss. Chapter 02 compares activations, batch norm and inits with it.
    """
    device = torch.device(device) if device is not None else default_device()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        stack = deep_stack(depth, width, activation, norm, init, n_models)
    stack.to(device).train()  # batch norm in train mode: batch statistics, as during GAN training
    generator = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(n_models, batch_size, width, generator=generator, device=device)
    with threads.for_work(lambda: threads.model_mflop(stack, x), device):
        return layer_grad_norms_per_seed(stack, x).cpu()
