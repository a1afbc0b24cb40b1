"""Measurements that explain *why* a GAN fails: gradient norms, D's confidence, the field G follows.

* :func:`layer_grad_norms`, :func:`grad_norms_of`: one gradient norm per layer, to see
  gradients vanish through deep sigmoid/tanh stacks (chapter 02).
* :func:`per_sample_grad_norms`: the same per layer, but of each sample's own logit
  (root mean square over samples), so that gradients of different samples cannot cancel;
  :func:`backprop_signals`: what each linear layer sees, per sample (chapter 02).
* :func:`generator_grad_norm`: how much gradient G's loss gives G, saturating vs
  non-saturating, as D grows confident (chapter 02).
* :func:`discriminator_output_stats`: D(x), D(G(z)) and D's accuracy; a D that is always
  right is a warning sign (chapters 02, 04).
* :func:`input_gradient_field`: the gradient of G's loss at sample positions, i.e. the
  arrows G's samples follow on 2-D data (chapters 01, 02, 03); :func:`generator_motion`:
  how they actually move when G takes a step (chapter 03).
* :func:`mean_pairwise_distance`: a diversity measure of a batch of samples, which falls
  when G collapses (chapter 03; the health monitor uses it).

Nothing here steps an optimizer or writes ``.grad`` except where said.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from gancourse.losses import GANLoss, get_loss
from gancourse.models.mlp import StackedLinear
from gancourse.training.steps import judges_samples_alone


def _as_loss(loss: str | GANLoss) -> GANLoss:
    return loss if isinstance(loss, GANLoss) else get_loss(loss)


def _layer_params(model: nn.Module, weights_only: bool) -> dict[str, tuple[list[nn.Parameter], int | None]]:
    """Trainable parameters grouped by the module that owns them directly, keyed by module path.

    Each entry also gives the layer's number of stacked seeds (its ``n_models``), or
    ``None`` for an ordinary layer (see :mod:`gancourse.models.mlp`).
    """
    layers: dict[str, tuple[list[nn.Parameter], int | None]] = {}
    for path, module in model.named_modules():
        params = [p for name, p in module.named_parameters(recurse=False)
                  if p.requires_grad and (not weights_only or name == "weight")]
        if params:
            n_models = getattr(module, "n_models", None)
            layers[path or type(module).__name__] = (params, n_models if isinstance(n_models, int) else None)
    return layers


def _norm(grads: list[Tensor], n_models: int | None) -> Tensor:
    """L2 norm over all of ``grads``: 0-dim, or ``(S,)`` per seed for stacked parameters."""
    if n_models is None:
        return torch.nn.utils.get_total_norm(grads)
    # stacked parameters keep seed s in slice s of their leading dim (batch-norm's (S*F,) too)
    return sum(g.reshape(n_models, -1).square().sum(1) for g in grads).sqrt()


def _norms(layers: dict[str, tuple[list[nn.Parameter], int | None]],
           grads: dict[nn.Parameter, Tensor | None]) -> dict[str, Tensor]:
    # a parameter the loss does not reach gets no gradient: its gradient is zero
    return {path: _norm([grads[p] if grads[p] is not None else torch.zeros_like(p) for p in params], n_models)
            for path, (params, n_models) in layers.items()}


def layer_grad_norms(model: nn.Module, weights_only: bool = False) -> dict[str, Tensor]:
    """L2 norm of each layer's gradient, read from ``.grad`` after ``loss.backward()`` (chapter 02).

    One entry per module that owns trainable parameters (``Linear``, ``Conv2d``,
    ``BatchNorm``...), keyed by its path in ``model`` (``"net.0"``; the class name
    for a bare layer), in registration order (input to output for ``nn.Sequential``).
    The norm runs over the layer's own weight and bias together, or the weight alone
    with ``weights_only=True``.
    Values are 0-dim tensors on the model's device (no host sync), or ``(S,)`` per
    seed for the stacked layers of :mod:`gancourse.models.mlp`. A parameter whose ``.grad``
    is ``None`` counts as zero gradient.
    """
    layers = _layer_params(model, weights_only)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no trainable parameters to measure")
    grads = {p: p.grad for params, _ in layers.values() for p in params}
    if all(g is None for g in grads.values()):
        raise ValueError("no parameter of the model has a .grad; call loss.backward() first, "
                         "or use grad_norms_of(loss, model), which does not need .grad")
    return _norms(layers, grads)


def grad_norms_of(loss: Tensor, model: nn.Module, weights_only: bool = False,
                  retain_graph: bool = False) -> dict[str, Tensor]:
    """Per-layer gradient norms of ``loss`` (a scalar) w.r.t. ``model``'s parameters (chapter 02).

    Same keys and values as :func:`layer_grad_norms`, but computed with
    ``torch.autograd.grad``: no ``.grad`` is read or written, so it can run in the
    middle of a training step. ``retain_graph=True`` keeps the graph for a later backward.
    """
    if loss.dim() != 0:
        raise ValueError(f"loss must be a scalar (0-dim) tensor, got shape {tuple(loss.shape)}; reduce it first")
    layers = _layer_params(model, weights_only)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no trainable parameters to measure")
    params = [p for ps, _ in layers.values() for p in ps]
    grads = torch.autograd.grad(loss, params, retain_graph=retain_graph, allow_unused=True)
    return _norms(layers, dict(zip(params, grads, strict=True)))


def _linear_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The layers that compute ``h = a W + b`` (``nn.Linear`` and gancourse's stacked linear), by path."""
    layers = {path or type(m).__name__: m for path, m in model.named_modules()
              if isinstance(m, (nn.Linear, StackedLinear))}
    if not layers:
        raise ValueError(f"{type(model).__name__} has no linear layer (nn.Linear or mlp.StackedLinear) to measure")
    return layers


def _check_logits(logits: Tensor, x: Tensor) -> None:
    if logits.shape[-1] != 1 or logits.shape[:-1] != x.shape[:-1]:
        raise ValueError(f"the model must return one logit per sample, (B, 1) or (S, B, 1); got "
                         f"{tuple(logits.shape)} for x of shape {tuple(x.shape)}")


def backprop_signals(model: nn.Module, x: Tensor) -> tuple[Tensor, dict[str, tuple[Tensor, Tensor]]]:
    """What every linear layer of ``model`` sees on ``x``, per sample: its input ``a`` and the gradient ``delta``.

    ``model`` maps ``x`` ``(B, F)`` (or stacked seeds ``(S, B, F)``) to logits ``(B, 1)`` (``(S, B, 1)``)
    and must judge every sample alone (no batch norm in train mode, no minibatch layer).
    Returns the logits and, for each ``nn.Linear`` / ``mlp.StackedLinear`` (keyed by path, input
    to output), ``(a, delta)``: ``a`` the layer's input ``(..., B, in)`` and ``delta`` the gradient
    of the sample's own logit w.r.t. the layer's output ``h = a W + b``, ``(..., B, out)``.
    Because sample ``i``'s logit depends on sample ``i`` only, one backward pass of the summed
    logits gives every sample's own ``delta``. Chapter 02 reads the gradient's decay through
    the layers from ``delta`` (:func:`gancourse.diagnostics.saturation.backprop_factors`).
    """
    if not judges_samples_alone(model):
        raise ValueError(f"{type(model).__name__} couples the samples of a batch (batch norm or a minibatch "
                         f"layer): a sample's logit is not its own; use per_sample_grad_norms, which handles it")
    layers = _linear_layers(model)
    inputs: dict[str, Tensor] = {}
    outputs: dict[str, Tensor] = {}

    def keep(path: str):
        def hook(module: nn.Module, args: tuple[Tensor, ...], out: Tensor) -> None:
            inputs[path], outputs[path] = args[0].detach(), out
        return hook

    handles = [m.register_forward_hook(keep(path)) for path, m in layers.items()]
    try:
        with torch.enable_grad():
            logits = model(x)
            _check_logits(logits, x)
            paths = [p for p in layers if p in outputs]  # layers the forward pass used
            deltas = torch.autograd.grad(logits.sum(), [outputs[p] for p in paths])
    finally:
        for handle in handles:
            handle.remove()
    return logits.detach(), {p: (inputs[p], d) for p, d in zip(paths, deltas, strict=True)}


def per_sample_grad_norms(model: nn.Module, x: Tensor, n_samples: int = 16) -> dict[str, Tensor]:
    """Root mean square over samples of ``||d logit_i / d W||`` for each linear layer's weight ``W`` (chapter 02).

    ``model`` maps ``x`` ``(B, F)`` (stacked: ``(S, B, F)``) to one logit per sample. Unlike
    :func:`grad_norms_of` on the batch-mean logit, each sample's gradient is measured on its own,
    so that gradients of different samples pointing different ways cannot cancel. Values are
    0-dim, or ``(S,)`` per seed, keyed by layer path as in :func:`layer_grad_norms`.

    Where the model judges every sample alone, ``d logit_i / dW = a_i^T delta_i`` is a rank-one
    matrix of norm ``|a_i| |delta_i|`` (Goodfellow 2015, "Efficient per-example gradient
    computations"): one backward pass gives all ``B`` samples. With batch norm a sample's logit
    depends on the whole batch; then the gradients of the first ``n_samples`` logits are taken,
    one backward pass each, through the full batch's forward pass (its batch statistics).
    """
    if x.dim() < 2 or x.shape[-2] < 1:
        raise ValueError(f"x must be (B, F) or (S, B, F) with B >= 1, got shape {tuple(x.shape)}")
    if judges_samples_alone(model):
        _, signals = backprop_signals(model, x)
        return {path: (a.norm(dim=-1) * delta.norm(dim=-1)).square().mean(dim=-1).sqrt()
                for path, (a, delta) in signals.items()}
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    layers = _linear_layers(model)
    weights = [m.weight for m in layers.values()]
    per_sample: list[list[Tensor]] = []
    with torch.enable_grad():
        logits = model(x)
        _check_logits(logits, x)
        n = min(n_samples, logits.shape[-2])
        for i in range(n):
            # one backward pass per sample (a loop: 4x faster on a CPU than vmapping the cotangents);
            # summed over seeds, each seed's weights get their own sample's gradient
            grads = torch.autograd.grad(logits[..., i, 0].sum(), weights, retain_graph=i < n - 1,
                                        allow_unused=True, materialize_grads=True)
            per_sample.append([g.flatten(1).norm(dim=1) if getattr(m, "n_models", None) else g.norm()
                               for m, g in zip(layers.values(), grads, strict=True)])
    return {path: torch.stack([row[j] for row in per_sample]).square().mean(dim=0).sqrt()
            for j, path in enumerate(layers)}


def generator_grad_norm(G: nn.Module, D: Callable[[Tensor], Tensor], z: Tensor,
                        loss: str | GANLoss = "non_saturating") -> Tensor:
    """L2 norm of the gradient of G's loss ``loss.g(D(G(z)))`` w.r.t. all of G's parameters, 0-dim.

    Chapter 02 measures it for ``loss="minimax"`` (saturating ``log(1 - D(G(z)))``)
    against ``"non_saturating"`` as D becomes confident. Neither G's nor D's
    ``.grad`` is touched. ``z`` is ``(B, z_dim)``; ``loss`` is a name from
    :data:`gancourse.losses.LOSSES` or a :class:`~gancourse.losses.GANLoss`.
    For stacked seeds (``G.stacked``, ``z`` of shape ``(S, B, z_dim)``) it returns ``(S,)``:
    each seed's norm of the gradient of its own loss.
    """
    params = [p for p in G.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(G).__name__} has no trainable parameters")
    n_models = G.n_models if getattr(G, "stacked", False) else None
    with torch.enable_grad():  # works even when called under torch.no_grad()
        g_loss = _as_loss(loss).g(D(G(z)))
        # the losses also average over seeds; times S gives each seed its own loss
        g_loss = g_loss * (n_models or 1)
        grads = torch.autograd.grad(g_loss, params, allow_unused=True, materialize_grads=True)
    return _norm(list(grads), n_models)


@torch.no_grad()
def discriminator_output_stats(D: Callable[[Tensor], Tensor], x_real: Tensor, x_fake: Tensor) -> dict[str, Tensor]:
    """What D says about a batch of real and a batch of fake samples (chapters 02, 04).

    ``D`` returns logits ``(B, 1)``; its probabilities are ``sigmoid(logits)`` (for
    Wasserstein critics they mean little). Returns 0-dim tensors ``d_real_mean``,
    ``d_real_std``, ``d_fake_mean``, ``d_fake_std`` (population std) and ``accuracy``,
    the fraction of all ``B_real + B_fake`` samples D puts on the right side of 1/2;
    plus the per-sample probabilities ``d_real`` ``(B_real,)`` and ``d_fake`` ``(B_fake,)``
    for :func:`gancourse.plots.d_output_histogram`. For stacked seeds (inputs
    ``(S, B, ...)``, logits ``(S, B, 1)``) every statistic is ``(S,)`` and the
    probabilities ``(S, B)``.
    """
    d_real, d_fake = _probabilities(D, x_real, "x_real"), _probabilities(D, x_fake, "x_fake")
    correct = (d_real > 0.5).sum(-1) + (d_fake < 0.5).sum(-1)
    return {
        "d_real_mean": d_real.mean(-1), "d_real_std": d_real.std(-1, correction=0),
        "d_fake_mean": d_fake.mean(-1), "d_fake_std": d_fake.std(-1, correction=0),
        "accuracy": correct / (d_real.shape[-1] + d_fake.shape[-1]),
        "d_real": d_real, "d_fake": d_fake,
    }


def _probabilities(D: Callable[[Tensor], Tensor], x: Tensor, what: str) -> Tensor:
    """``sigmoid(D(x))`` without the trailing logit dim: ``(B,)``, or ``(S, B)`` for stacked seeds."""
    logits = D(x)
    lead = logits.shape[:-1]
    if logits.dim() < 2 or logits.shape[-1] != 1 or x.shape[: len(lead)] != lead or lead[-1] == 0:
        raise ValueError(f"D must return one logit per sample, (B, 1) or (S, B, 1) with B >= 1; got logits "
                         f"{tuple(logits.shape)} for {what} of shape {tuple(x.shape)}")
    return torch.sigmoid(logits).squeeze(-1)


def input_gradient_field(D: Callable[[Tensor], Tensor], points: Tensor,
                         loss: str | GANLoss = "non_saturating") -> Tensor:
    """Gradient of G's per-sample loss ``loss.g(D(x_i))`` w.r.t. each position ``x_i``, same shape as ``points``.

    A sample ``x_i = G(z_i)`` is pushed along *minus* this gradient: these are the
    arrows of :func:`gancourse.plots.decision_surface` on 2-D data ``(N, 2)``
    (chapters 01, 02, 03). Where D saturates, the saturating (``"minimax"``) field
    vanishes and the non-saturating one does not. D's ``.grad`` is not touched.
    D must treat samples independently (no batch norm in train mode). Stacked seeds:
    ``points`` ``(S, N, 2)`` for a stacked D.
    """
    if points.dim() < 2 or len(points) == 0:
        raise ValueError(f"points must be (N, ...) with N >= 1, e.g. (N, 2); got shape {tuple(points.shape)}")
    x = points.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = D(x)
        # the losses average over every logit; times their number gives each sample its own loss's gradient
        g_loss = _as_loss(loss).g(logits) * logits.numel()
        (grad,) = torch.autograd.grad(g_loss, x)
    return grad


def generator_motion(G: nn.Module, D: Callable[[Tensor], Tensor], z: Tensor,
                     loss: str | GANLoss = "non_saturating") -> Tensor:
    """How each sample ``G(z_i)`` moves when G takes a gradient step on its loss, per unit learning rate.

    Returns ``-J grad_theta L``, shape ``(N, ...)`` like ``G(z)``, where ``J = dG(z)/dtheta`` and
    ``L = loss.g(D(G(z)))``: a plain SGD step with learning rate ``lr`` moves ``G(z)`` by about
    ``lr`` times this. Unlike :func:`input_gradient_field`, which says where each sample would
    like to go, this is where G can take it: G's parameters are shared by all samples, so they
    move together (chapter 03, the "Helvetica scenario"). No ``.grad`` is touched; batch-norm
    statistics of G are left as they were.
    """
    params = {name: p for name, p in G.named_parameters() if p.requires_grad}
    buffers = {name: b.clone() for name, b in G.named_buffers()}  # batch norm would update them in place
    with torch.enable_grad():
        x_fake = torch.func.functional_call(G, (params, buffers), (z,))
        x = x_fake.detach().requires_grad_(True)
        (dl_dx,) = torch.autograd.grad(_as_loss(loss).g(D(x)), x)  # gradient of the mean loss
        # J^T dl_dx = dL/dtheta; then J v by the double-backward trick: J v = d/du <J^T u, v>
        grad_theta = torch.autograd.grad(x_fake, list(params.values()), dl_dx, retain_graph=True,
                                         allow_unused=True, materialize_grads=True)
        u = torch.zeros_like(x_fake, requires_grad=True)
        jt_u = torch.autograd.grad(x_fake, list(params.values()), u, create_graph=True,
                                   allow_unused=True, materialize_grads=True)
        used = [(a, g) for a, g in zip(jt_u, grad_theta, strict=True) if a.requires_grad]  # skip unused params
        (j_grad,) = torch.autograd.grad([a for a, _ in used], u, [g for _, g in used])
    return -j_grad


def mean_pairwise_distance(x: Tensor, batch_dims: int = 1) -> Tensor:
    """Mean Euclidean distance between distinct samples of a batch: a diversity measure (chapter 03).

    ``x`` is ``(B, ...)`` (returns a 0-dim tensor) or, with ``batch_dims=2``, stacked
    seeds ``(S, B, ...)`` (returns ``(S,)``). A collapsed G gives ~0; compare with the
    value on real data. Costs ``B^2`` distances, so keep ``B`` to a few hundred.
    """
    if batch_dims not in (1, 2):
        raise ValueError(f"batch_dims must be 1 (samples) or 2 (seeds, samples), got {batch_dims}")
    if x.dim() <= batch_dims or x.shape[batch_dims - 1] < 2:
        raise ValueError(f"x must be (B, ...) with B >= 2 (or (S, B, ...) with batch_dims=2), "
                         f"got shape {tuple(x.shape)}")
    flat = x.flatten(batch_dims)  # (B, F) or (S, B, F)
    n = flat.shape[-2]
    # exact differences (not the matmul expansion), so the diagonal is exactly zero
    distances = torch.cdist(flat, flat, compute_mode="donot_use_mm_for_euclid_dist")  # (..., B, B)
    return distances.sum(dim=(-2, -1)) / (n * (n - 1))
