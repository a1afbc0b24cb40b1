"""Differentiating through an optimizer's steps: the look-ahead D of the unrolled GAN (Metz et al. 2017).

The unrolled GAN gives G the loss ``f(theta_G, theta_D^k(theta_G))``: D's weights after ``k``
more of its own training steps, *as a function of G's weights*. G's gradient then has two
parts: how G's samples score under the look-ahead D (what a first-order look-ahead keeps),
and how D's ``k`` updates would change if G moved (the second-order terms through
``d theta_D^k / d theta_G``, which tell G how D will react to its move).

This module holds the pure, differentiable pieces that :func:`gancourse.training.steps.unrolled_g_step`
builds on for ``TrainConfig.unroll_order=2``:

* :func:`adam_update`: one Adam step as tensor arithmetic (``torch.optim.Adam``'s formula,
  bias corrections included), so that autograd can differentiate the new weights with
  respect to the gradient that produced them;
* :func:`adam_settings` and :func:`adam_state`: read a ``torch.optim.Adam``'s learning rate,
  betas, eps and its moment estimates, so that the look-ahead continues D's own optimizer
  exactly where it stands (as the paper's code does: it unrolls Keras' Adam updates);
* :func:`look_ahead`: ``k`` such steps on an objective, with the graph kept
  (``create_graph=True``) so that a loss at the end backpropagates through all of them.

Nothing here touches a module or an optimizer: parameters go in as tensors, new tensors
come out (use them with ``torch.func.functional_call``). Works for stacked seeds as for one
model: Adam acts element by element, so seed ``s``'s slice only ever meets its own numbers.
Chapter 03 (mode collapse) and 08 (the fixes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor


class AdamState(NamedTuple):
    """Adam's running estimates for a list of parameters: first and second moments, and the steps taken so far."""

    exp_avg: list[Tensor]
    exp_avg_sq: list[Tensor]
    step: int


def adam_settings(opt: torch.optim.Optimizer) -> tuple[float, tuple[float, float], float]:
    """``(lr, (beta1, beta2), eps)`` of a plain ``torch.optim.Adam`` with one parameter group.

    Raises ``ValueError`` for anything :func:`adam_update` does not reproduce (another optimizer,
    several groups, weight decay, AMSGrad, ``maximize``).
    """
    if not isinstance(opt, torch.optim.Adam) or isinstance(opt, torch.optim.AdamW):
        raise ValueError(f"the second-order unrolled step differentiates Adam's update; D's optimizer is "
                         f"{type(opt).__name__}: build it with gancourse.training.steps.make_optimizer")
    if len(opt.param_groups) != 1:
        raise ValueError(f"D's optimizer has {len(opt.param_groups)} parameter groups; the look-ahead needs one")
    group = opt.param_groups[0]
    if group["weight_decay"] or group["amsgrad"] or group["maximize"]:
        raise ValueError("the look-ahead reproduces plain Adam: D's optimizer must have weight_decay=0, "
                         "amsgrad=False and maximize=False")
    lr = float(group["lr"])
    beta1, beta2 = (float(b) for b in group["betas"])
    return lr, (beta1, beta2), float(group["eps"])


def adam_state(opt: torch.optim.Optimizer, params: Sequence[Tensor]) -> AdamState:
    """The moments and step count ``opt`` holds for ``params`` (zeros and 0 before its first step).

    The tensors are detached copies: the look-ahead starts from D's optimizer as it stands,
    and nothing it does changes the optimizer. All parameters must have taken the same number
    of steps (they do when one optimizer steps them all).
    """
    exp_avg, exp_avg_sq, steps = [], [], set()
    for p in params:
        state = opt.state.get(p, {})
        if "exp_avg" in state:
            exp_avg.append(state["exp_avg"].detach().clone())
            exp_avg_sq.append(state["exp_avg_sq"].detach().clone())
            steps.add(int(state["step"]))
        else:
            exp_avg.append(torch.zeros_like(p, memory_format=torch.preserve_format).detach())
            exp_avg_sq.append(torch.zeros_like(p, memory_format=torch.preserve_format).detach())
            steps.add(0)
    if len(steps) > 1:
        raise ValueError(f"D's parameters have taken different numbers of Adam steps ({sorted(steps)}); "
                         f"the look-ahead needs one optimizer that steps them all together")
    return AdamState(exp_avg, exp_avg_sq, steps.pop() if steps else 0)


def _sqrt(v: Tensor) -> Tensor:
    """``sqrt(v)`` for ``v >= 0`` whose gradient at ``v = 0`` is 0 instead of ``inf * 0 = nan``.

    A second moment is exactly 0 where a weight has never had a gradient (a dead ReLU's weights,
    the first step); its value there does not move the update, so 0 is the right derivative.
    """
    positive = v > 0
    return torch.where(positive, torch.where(positive, v, 1.0).sqrt(), 0.0)


def adam_update(params: Sequence[Tensor], grads: Sequence[Tensor], state: AdamState, lr: float,
                betas: tuple[float, float], eps: float) -> tuple[list[Tensor], AdamState]:
    """One Adam step, differentiable: ``(new_params, new_state)``; nothing is changed in place.

    The formula of ``torch.optim.Adam`` (Kingma & Ba 2015, with PyTorch's placement of eps)::

        t = t + 1;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    Called on gradients taken with ``create_graph=True``, the new weights are functions of
    whatever produced the gradients (G's weights, in the unrolled GAN).
    """
    beta1, beta2 = betas
    t = state.step + 1
    bias1, bias2 = 1 - beta1**t, 1 - beta2**t
    new_params, new_m, new_v = [], [], []
    for p, g, m, v in zip(params, grads, state.exp_avg, state.exp_avg_sq, strict=True):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        new_params.append(p - (lr / bias1) * m / (_sqrt(v) / bias2**0.5 + eps))
        new_m.append(m)
        new_v.append(v)
    return new_params, AdamState(new_m, new_v, t)


def look_ahead(objective: Callable[[int, list[Tensor]], Tensor], params: Sequence[Tensor], state: AdamState,
               steps: int, lr: float, betas: tuple[float, float], eps: float) -> list[Tensor]:
    """``steps`` Adam steps on ``objective(i, params) -> scalar``, each differentiable; returns the last weights.

    Step ``i`` minimises ``objective(i, params)`` (the caller draws step ``i``'s batch there).
    The gradients are taken with ``create_graph=True``: a loss computed with the returned weights
    backpropagates through every step, to ``params`` and to whatever ``objective`` depends on.
    ``params`` must require gradients (D's parameters do).
    """
    params = list(params)
    for i in range(steps):
        # materialize_grads: a weight the objective does not reach gets a zero gradient, as in D's own step
        grads = torch.autograd.grad(objective(i, params), params, create_graph=True, materialize_grads=True)
        params, state = adam_update(params, grads, state, lr, betas, eps)
    return params
