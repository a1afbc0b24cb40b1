"""Internal covariate shift in G, measured two ways during training (chapter 06).

Ioffe and Szegedy (2015) introduced batch norm to reduce *internal covariate shift*: the
distribution of a layer's inputs moves whenever the layers before it are updated, so each
layer chases a moving target. Santurkar et al. (2018, "How does batch normalization help
optimization?") measured it and found that batch norm does not reduce it in their sense, and
that its benefit comes from a smoother loss landscape instead. :class:`CovariateShiftProbe`, a
``train(callback=...)``, measures both readings for one conv layer of G, from step ``t`` to ``t + 1``:

* ``input_shift``: how far the layer's input distribution moves. On a fixed probe batch ``z``,
  each input channel's mean and std at ``t`` and ``t + 1``; the shift is
  ``sqrt(dmean^2 + dstd^2) / std_t`` (the 2-Wasserstein distance between the two Gaussians with
  those moments, in units of the channel's std), averaged over channels.
* ``grad_change`` and ``grad_cosine`` (Santurkar et al.'s definition 2.1): the gradient of G's
  loss with respect to the layer's weight at ``t`` (``g``), and again after the layers *before*
  it have moved to their values at ``t + 1`` while the layer itself and the ones after it keep
  their values at ``t`` (``g'``), on the same probe batch against the same D (D at ``t``).
  ``grad_change = |g - g'| / |g|`` and ``grad_cosine = cos(g, g')``: a layer whose gradient
  hardly changes when the layers below it learn does not see its inputs shift.

The probe runs G and D in training mode (batch statistics, as in a training step) with batch
norm's running statistics left untouched.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from gancourse.losses import get_loss
from gancourse.training.history import History

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)


def _conv_layers(G: nn.Module) -> list[nn.Module]:
    return [m for m in G.modules() if isinstance(m, _CONVS)]


@contextmanager
def _frozen_norm_statistics(*models: nn.Module) -> Iterator[None]:
    """Batch norm in training mode (batch statistics) that leaves its running statistics as they are."""
    norms = [m for model in models for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.training, None if m.num_batches_tracked is None else m.num_batches_tracked.clone())
             for m in norms]
    for m in norms:
        m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged
        m.train()
    try:
        yield
    finally:
        for m, (momentum, training, tracked) in zip(norms, saved, strict=True):
            m.momentum = momentum
            m.train(training)
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


class CovariateShiftProbe:
    """``train`` callback: the covariate shift of G's ``layer``-th conv (default -1, the last), every ``every`` steps.

    ``z``: the probe batch ``(B, z_dim)`` (e.g. 64 draws), on any device. Needs ``config.log_every=1``
    (it compares step ``t`` with step ``t + 1``); :func:`gancourse.metrics.scoring.train_scored` passes it on as
    ``also=``. Results as ``(T,)`` tensors: :attr:`steps`, :attr:`input_shift`, :attr:`grad_change`,
    :attr:`grad_cosine`. Chapter 06 compares G with and without batch norm.
    """

    def __init__(self, z: Tensor, every: int = 10, layer: int = -1, loss: str = "non_saturating") -> None:
        if every < 2:
            raise ValueError(f"every must be >= 2 (a snapshot at t, a measurement at t + 1), got {every}")
        if z.dim() != 2 or len(z) < 2:
            raise ValueError(f"z must be a probe batch (B, z_dim) with B >= 2, got {tuple(z.shape)}")
        self.z, self.every, self.layer, self.loss = z, every, layer, get_loss(loss)
        self.records: list[dict[str, float]] = []
        self._snapshot: dict | None = None

    def _target(self, G: nn.Module) -> tuple[nn.Module, list[nn.Parameter], list[nn.Parameter]]:
        """The layer, the parameters of everything before it, and of it and everything after it."""
        convs = _conv_layers(G)
        if not convs:
            raise ValueError("G has no conv layer to probe")
        try:
            target = convs[self.layer]
        except IndexError:
            raise ValueError(f"layer={self.layer} but G has {len(convs)} conv layers") from None
        # parameters are registered in forward order (the nets are one nn.Sequential): split at the target's first
        own = {id(p) for p in target.parameters()}
        params = list(G.parameters())
        first = next(i for i, p in enumerate(params) if id(p) in own)
        return target, params[:first], params[first:]

    def _input_moments(self, G: nn.Module, target: nn.Module) -> tuple[Tensor, Tensor]:
        """Per-channel mean and std ``(C,)`` of ``target``'s input on the probe batch."""
        captured = {}
        handle = target.register_forward_pre_hook(lambda m, args: captured.setdefault("x", args[0].detach()))
        try:
            with torch.no_grad(), _frozen_norm_statistics(G):
                G(self.z.to(target.weight.device))
        finally:
            handle.remove()
        x = captured["x"].float().transpose(0, 1).flatten(1)  # (C, B * H * W)
        return x.mean(dim=1), x.std(dim=1)

    def _layer_grad(self, G: nn.Module, D: nn.Module, target: nn.Module) -> Tensor:
        """The gradient of G's loss on the probe batch with respect to ``target``'s weight, flattened."""
        with _frozen_norm_statistics(G, D):
            fake_logits = D(G(self.z.to(target.weight.device))).float()
            (grad,) = torch.autograd.grad(self.loss.g(fake_logits), [target.weight])
        return grad.flatten().double()

    def __call__(self, step: int, history: History, G: nn.Module, D: nn.Module) -> None:
        if step % self.every == 0:
            target, _, after = self._target(G)
            self._snapshot = {"step": step, "D": copy.deepcopy(D), "after": [p.detach().clone() for p in after],
                              "moments": self._input_moments(G, target), "grad": self._layer_grad(G, D, target)}
        elif self._snapshot is not None and step == self._snapshot["step"] + 1:
            self._measure(step, G)
            self._snapshot = None

    def _measure(self, step: int, G: nn.Module) -> None:
        snap = self._snapshot
        target, _, after = self._target(G)
        mean_t, std_t = snap["moments"]
        mean_u, std_u = self._input_moments(G, target)
        input_shift = ((mean_u - mean_t).square() + (std_u - std_t).square()).sqrt() / std_t.clamp(min=1e-8)
        # g': the layers before the target at t + 1, the target and the layers after it back at t, D at t
        now = [p.detach().clone() for p in after]
        with torch.no_grad():
            for p, old in zip(after, snap["after"], strict=True):
                p.copy_(old)
        try:
            g_prime = self._layer_grad(G, snap["D"], target)
        finally:
            with torch.no_grad():
                for p, new in zip(after, now, strict=True):
                    p.copy_(new)
        g = snap["grad"]
        self.records.append({
            "step": snap["step"],
            "input_shift": float(input_shift.mean()),
            "grad_change": float((g - g_prime).norm() / g.norm().clamp(min=1e-30)),
            "grad_cosine": float(g @ g_prime / (g.norm() * g_prime.norm()).clamp(min=1e-30)),
        })

    def _series(self, key: str) -> Tensor:
        return torch.tensor([r[key] for r in self.records], dtype=torch.float64)

    @property
    def steps(self) -> Tensor:
        """``(T,)`` the step ``t`` of each measurement (``t`` -> ``t + 1``)."""
        return torch.tensor([r["step"] for r in self.records], dtype=torch.int64)

    @property
    def input_shift(self) -> Tensor:
        """``(T,)`` mean over channels of the input's moment shift, in units of the channel's std."""
        return self._series("input_shift")

    @property
    def grad_change(self) -> Tensor:
        """``(T,)`` ``|g - g'| / |g|``: Santurkar et al.'s l2 measure, relative to the gradient's size."""
        return self._series("grad_change")

    @property
    def grad_cosine(self) -> Tensor:
        """``(T,)`` ``cos(g, g')``: 1 when the layers below moving does not turn the layer's gradient."""
        return self._series("grad_cosine")

    def summary(self) -> dict[str, float]:
        """Median of each measure over the run (medians: the first steps move far more than the rest)."""
        if not self.records:
            return {k: math.nan for k in ("input_shift", "grad_change", "grad_cosine")}
        return {k: float(self._series(k).median()) for k in ("input_shift", "grad_change", "grad_cosine")}
