"""Is the critic 1-Lipschitz, and what did the constraint cost? Measures for clipping, the penalty and batch norm.

The Wasserstein critic must be 1-Lipschitz. WGAN enforces it by clipping every weight to
``[-c, c]`` (Arjovsky et al. 2017); WGAN-GP penalises ``(||grad_x f(x_hat)|| - 1)^2`` instead
(Gulrajani et al. 2017, who measured clipping's side effects in their fig. 1). Chapter 07
measures those side effects with:

* :func:`weight_values` and :func:`share_at_bounds`: clipped weights pile up at ``+-c``;
* :func:`depth_grad_norms`: the norm of ``df/dh_l`` at every layer's input ``h_l``, from the
  last layer down to the input ``x``: under clipping it shrinks or grows geometrically with
  depth, depending on ``c``; under the penalty it stays near 1 at the input;
* :func:`own_input_grads` against :func:`batch_input_grads`: the penalty is a *per-sample*
  constraint, ``d f(x_i) / d x_i``. :func:`gancourse.regularizers.gradient_penalty` takes the
  gradient of the batch's summed output, which equals it only when D judges every sample
  alone; batch norm mixes the batch, so there the two differ (and a sample's gradient
  depends on the other samples in its batch).

Models are ordinary modules or stacked MLPs (:mod:`gancourse.models.mlp`, ``(S, B, d)`` inputs);
results carry a leading models axis ``(S, ...)`` for stacked ones.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from gancourse.models.mlp import StackedLinear


def _is_stacked(model: nn.Module) -> bool:
    return bool(getattr(model, "stacked", False)) and getattr(model, "n_models", 1) >= 1


def weight_values(model: nn.Module, weights_only: bool = True) -> Tensor:
    """Every weight of ``model`` as one flat tensor, ``(P,)``; ``(S, P)`` for a stacked model (chapter 07).

    ``weights_only`` keeps the ``weight`` tensors of layers (not biases, not batch-norm scales): what
    the WGAN-GP paper's histogram shows. Stacked parameters hold model ``s`` in slice ``s``.
    """
    params = [p for name, p in model.named_parameters() if not weights_only or name.endswith("weight")]
    if not params:
        raise ValueError(f"{type(model).__name__} has no {'weights' if weights_only else 'parameters'}")
    with torch.no_grad():
        if _is_stacked(model):
            S = model.n_models
            return torch.cat([p.detach().reshape(S, -1) for p in params], dim=1)
        return torch.cat([p.detach().flatten() for p in params])


def share_at_bounds(model: nn.Module, c: float | Tensor, rtol: float = 0.01, weights_only: bool = True) -> Tensor:
    """Fraction of ``model``'s weights with ``|w| >= (1 - rtol) c``: 0-dim, or ``(S,)`` per stacked model.

    ``c`` a number, or ``(S,)`` one clipping bound per stacked model. After WGAN's clipping most
    weights sit exactly at ``+-c`` (chapter 07); a free critic's weights rarely come near ``c``.
    """
    if not 0 <= rtol < 1:
        raise ValueError(f"rtol must be in [0, 1), got {rtol}")
    w = weight_values(model, weights_only)
    c = torch.as_tensor(c, dtype=w.dtype, device=w.device)
    if not (c > 0).all():
        raise ValueError(f"c must be > 0, got {c.tolist()}")
    if c.dim() == 1:
        if w.dim() != 2 or len(c) != len(w):
            held = f"a stacked model of {len(w)}" if w.dim() == 2 else "one"
            raise ValueError(f"got {len(c)} bounds for {held} "
                             f"model(s); pass one bound per model or a number")
        c = c[:, None]
    return (w.abs() >= (1 - rtol) * c).to(w.dtype).mean(dim=-1)


def _layers(model: nn.Module) -> list[nn.Module]:
    """The layers of a plain stack of modules, in order: ``model.net`` (gancourse's MLPs) or ``model`` itself."""
    net = getattr(model, "net", model)
    if not isinstance(net, nn.Sequential):
        raise ValueError(f"{type(model).__name__} is not a sequence of layers; depth_grad_norms needs an "
                         f"nn.Sequential, or a model whose .net is one (gancourse.models.mlp.MLPDiscriminator)")
    return list(net)


def _is_affine(layer: nn.Module) -> bool:
    return isinstance(layer, (nn.Linear, StackedLinear))


def depth_grad_norms(D: nn.Module, x: Tensor) -> Tensor:
    """``||d f(x) / d h_l||`` at the input ``h_l`` of every linear layer ``l``, mean over samples (chapter 07).

    ``D`` maps ``(B, d)`` to ``(B, 1)`` (stacked: ``(S, B, d) -> (S, B, 1)``) as a sequence of
    layers (its ``.net``, as :class:`~gancourse.models.mlp.MLPDiscriminator`); ``h_0 = x``. Returns
    ``(L,)``, or ``(S, L)`` for a stacked D, for its ``L`` linear layers in order from the input:
    entry 0 is the input-gradient norm that WGAN-GP's penalty pushes to 1, the last entry is the
    norm of the last layer's weight row. Each sample's norm is of the gradient of its own output.
    """
    layers = _layers(D)
    h = x.detach().requires_grad_(True)
    inputs = []
    with torch.enable_grad():
        for layer in layers:
            if _is_affine(layer):
                inputs.append(h)
            h = layer(h)
        # samples are independent in a plain MLP: the gradient of the sum is each sample's own
        grads = torch.autograd.grad(h.sum(), inputs)
    if not inputs:
        raise ValueError(f"{type(D).__name__} has no linear layers")
    return torch.stack([g.norm(dim=-1).mean(dim=-1) for g in grads], dim=-1)


def batch_input_grads(D: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``d (sum_j D(x)_j) / d x_i`` for every sample ``i``: ``(B, ...)``, what the gradient penalty takes (chapter 07).

    Equals :func:`own_input_grads` when D judges each sample alone; with batch norm in train mode
    it also holds how sample ``i`` moves every other sample's output.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(D(x).sum(), x)
    return grad


def own_input_grads(D: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``d D(x)_i / d x_i`` for every sample ``i`` of the batch ``x`` ``(B, ...)``: ``(B, ...)`` (chapter 07).

    The per-sample gradient that the 1-Lipschitz constraint is about, computed with the whole
    batch going through D (so batch norm sees the batch it would see in training): one backward
    pass per sample (``B`` passes: for small batches, as the chapter's demonstration).
    """
    x = x.detach().requires_grad_(True)
    rows = []
    with torch.enable_grad():
        logits = D(x).reshape(len(x), -1)
        if logits.shape[1] != 1:
            raise ValueError(f"D must give one output per sample, got shape {tuple(logits.shape)}")
        for i in range(len(x)):
            (grad,) = torch.autograd.grad(logits[i, 0], x, retain_graph=i + 1 < len(x))
            rows.append(grad[i])
    return torch.stack(rows)
