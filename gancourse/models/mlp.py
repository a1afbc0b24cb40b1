"""Multilayer perceptrons for 2-D data, one model or ``S`` seeds stacked into one module.

Chapters 00-03 and 08 train G and D on 2-D mixtures (:mod:`gancourse.datasets`).
One run is an anecdote, so the course trains ``S`` seeds side by side: with
``n_models=S`` a module holds ``S`` independent MLPs as stacked weights
(``(S, in, out)`` and ``(S, 1, out)``) and maps ``(S, B, in) -> (S, B, out)`` with one
``torch.baddbmm`` per layer. Seed ``s`` only touches slice ``s`` of every parameter,
so summing the seeds' losses keeps their gradients independent.

Build a stack from separately initialised ordinary modules with
``MLPGenerator.stack(models)`` (or :func:`stack_models`), get seed ``i`` back as an
ordinary module with ``.unstack(i)``. Spectral norm is not supported for stacked
modules (``torch``'s parametrization expects 2-D weights); use ordinary modules.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gancourse.models.minibatch import MinibatchDiscrimination, MinibatchStdDev
from gancourse.regularizers import spectral_norm as apply_spectral_norm

ACTIVATIONS = ("relu", "leaky_relu", "prelu", "tanh", "sigmoid")
NORMS = ("none", "batch")
LEAKY_SLOPE = 0.2
"""Negative slope of the course's LeakyReLU (DCGAN's value)."""
PRELU_INIT = 0.25
"""Initial negative slope of PReLU, learned from there (He et al. 2015, ``nn.PReLU``'s default)."""


def make_activation(name: str, n_models: int | None = None) -> nn.Module:
    """The activation layer called ``name`` (one of ``ACTIVATIONS``). Chapter 02.

    LeakyReLU has slope ``LEAKY_SLOPE`` (0.2); PReLU learns its slope, one per model, from
    ``PRELU_INIT`` (0.25). For ``n_models`` stacked seeds PReLU gets one slope per seed
    (:class:`StackedPReLU`), so that the seeds stay independent; the other activations have
    no parameters and are the same for one model or many.
    """
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    if name == "prelu":
        return nn.PReLU(init=PRELU_INIT) if n_models is None else StackedPReLU(n_models)
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    raise ValueError(f"unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)}")


def negative_slope(name: str) -> float | None:
    """The slope a rectifier starts with on negative inputs (0 for ReLU), or None for sigmoid and tanh.

    What Kaiming initialisation needs: gain ``sqrt(2 / (1 + a^2))`` for slope ``a`` (He et al. 2015).
    """
    make_activation(name)  # validates the name
    return {"relu": 0.0, "leaky_relu": LEAKY_SLOPE, "prelu": PRELU_INIT}.get(name)


class StackedPReLU(nn.Module):
    """PReLU for ``S`` stacked seeds ``(S, B, F)``: ``max(0, x) + a_s min(0, x)`` with one learned slope per seed.

    ``weight`` is ``(S, 1, 1)``, initialised to ``PRELU_INIT`` like ``nn.PReLU()``; seed ``s`` computes
    what ``nn.PReLU`` with weight ``weight[s]`` computes (:meth:`_MLP.stack` copies it).
    """

    stacked = True

    def __init__(self, n_models: int) -> None:
        super().__init__()
        self.n_models = n_models
        self.weight = nn.Parameter(torch.full((n_models, 1, 1), PRELU_INIT))

    def extra_repr(self) -> str:
        return f"n_models={self.n_models}"

    def forward(self, x: Tensor) -> Tensor:
        return torch.where(x >= 0, x, self.weight * x)


class StackedLinear(nn.Module):
    """``S`` independent linear layers: ``(S, B, in) -> (S, B, out)``, ``y_s = x_s W_s + b_s``.

    ``weight`` is ``(S, in, out)`` (the transpose of ``nn.Linear``'s, so the product is a
    plain ``bmm``), ``bias`` is ``(S, 1, out)``. Each slice is initialised like ``nn.Linear``.
    """

    stacked = True  # tells regularizers.spectral_norm to refuse it

    def __init__(self, in_features: int, out_features: int, n_models: int) -> None:
        super().__init__()
        self.in_features, self.out_features, self.n_models = in_features, out_features, n_models
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in))
        self.weight = nn.Parameter(torch.empty(n_models, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_models, 1, out_features).uniform_(-bound, bound))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, n_models={self.n_models}"

    def forward(self, x: Tensor) -> Tensor:
        if self.out_features == 1:
            # D's output layer: one dot product per sample. A bmm with one output column runs at a
            # fraction of the CPU's speed; multiply-and-sum takes half the time, forward and backward.
            return (x * self.weight.mT).sum(dim=-1, keepdim=True) + self.bias
        return torch.baddbmm(self.bias, x, self.weight)


class ScalarLinear(nn.Linear):
    """``nn.Linear(in_features, 1)``, D's output layer, as one dot product per sample.

    Same parameters, initialisation and state dict as ``nn.Linear``; the logit is computed
    as a multiply-and-sum, as :class:`StackedLinear` does for one output, so that a seed
    of a stacked D and the same seed alone round alike (and both skip the slow one-column
    matmul on a CPU).
    """

    def __init__(self, in_features: int) -> None:
        super().__init__(in_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        return (x * self.weight).sum(dim=-1, keepdim=True) + self.bias


class StackedBatchNorm1d(nn.BatchNorm1d):
    """Batch norm for ``(S, B, F)``: statistics and affine parameters per seed and feature.

    Viewed as ``(B, S*F)``, per-seed batch norm is ordinary ``BatchNorm1d(S*F)``.
    """

    stacked = True

    def __init__(self, num_features: int, n_models: int) -> None:
        super().__init__(n_models * num_features)
        self.n_models, self.features_per_model = n_models, num_features

    def forward(self, x: Tensor) -> Tensor:
        S, B, F = x.shape
        y = super().forward(x.transpose(0, 1).reshape(B, S * F))
        return y.view(B, S, F).transpose(0, 1)


class Scale(nn.Module):
    """``x -> factor * x``, no parameters: D's input scaling of Metz et al. 2017 (inputs scaled by 1/4)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = float(factor)

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"

    def forward(self, x: Tensor) -> Tensor:
        return x * self.factor


class _MLP(nn.Module):
    """What MLPGenerator and MLPDiscriminator share: stacking, unstacking, input checks."""

    in_features: int
    config: dict

    def _init_stacking(self, n_models: int, stacked: bool | None) -> None:
        if not isinstance(n_models, int) or n_models < 1:
            raise ValueError(f"n_models must be an int >= 1, got {n_models!r}")
        self.n_models = n_models
        self.stacked = n_models > 1 if stacked is None else bool(stacked)
        if n_models > 1 and not self.stacked:
            raise ValueError("n_models > 1 needs stacked=True (or leave stacked unset)")

    def _activation(self, name: str) -> nn.Module:
        return make_activation(name, self.n_models if self.stacked else None)

    def _norm(self, norm: str, features: int) -> list[nn.Module]:
        if norm == "none":
            return []
        return [StackedBatchNorm1d(features, self.n_models) if self.stacked else nn.BatchNorm1d(features)]

    def _linear(self, in_features: int, out_features: int) -> nn.Module:
        if self.stacked:
            return StackedLinear(in_features, out_features, self.n_models)
        return ScalarLinear(in_features) if out_features == 1 else nn.Linear(in_features, out_features)

    def _check_input(self, x: Tensor, what: str) -> None:
        if self.stacked:
            ok = x.dim() == 3 and x.shape[0] == self.n_models and x.shape[-1] == self.in_features
            expected = f"(S, B, {self.in_features}) with S={self.n_models}"
        else:
            ok = x.dim() == 2 and x.shape[-1] == self.in_features
            expected = f"(B, {self.in_features})"
        if not ok:
            raise ValueError(f"{type(self).__name__} expects {what} of shape {expected}, got {tuple(x.shape)}")

    @classmethod
    def stack(cls, models: list[_MLP]) -> _MLP:
        """One stacked module whose seed ``s`` computes exactly what ``models[s]`` computes.

        The models must be ordinary (unstacked) instances of this class with equal settings;
        their parameters (and batch-norm statistics) are copied.
        """
        models = list(models)
        if not models:
            raise ValueError("stack needs at least one model")
        for model in models:
            if type(model) is not cls or model.stacked:
                raise ValueError(f"stack needs ordinary {cls.__name__} instances, got {type(model).__name__}"
                                 f"{' (stacked)' if getattr(model, 'stacked', False) else ''}")
            if model.config != models[0].config:
                raise ValueError(f"cannot stack models with different settings: {model.config} vs "
                                 f"{models[0].config}")
        like = next(models[0].parameters())
        stacked = cls(**models[0].config, n_models=len(models), stacked=True).to(like.device, like.dtype)
        with torch.no_grad():
            for s, model in enumerate(models):
                _copy_seed(model, stacked, s, to_stack=True)
        return stacked.train(models[0].training)

    def unstack(self, i: int) -> _MLP:
        """Seed ``i`` of a stacked module as an ordinary module (a copy), e.g. to plot one seed."""
        if not self.stacked:
            raise ValueError(f"unstack needs a stacked {type(self).__name__} (n_models > 1)")
        if not 0 <= i < self.n_models:
            raise ValueError(f"seed index {i} out of range for n_models={self.n_models}")
        like = next(self.parameters())
        model = type(self)(**self.config).to(like.device, like.dtype)
        with torch.no_grad():
            _copy_seed(model, self, i, to_stack=False)
        return model.train(self.training)


def _weight(module: nn.Module) -> Tensor:
    """A layer's own weight tensor: under spectral norm the raw one the parametrization normalises."""
    if nn.utils.parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return module.weight


def _copy_seed(single: nn.Module, stacked: nn.Module, s: int, to_stack: bool) -> None:
    """Copy the parameters of ``single`` into seed ``s`` of ``stacked`` (or back, ``to_stack=False``)."""
    # both were built by the same constructor code, so their modules pair up in order
    for a, b in zip(single.modules(), stacked.modules(), strict=True):
        if isinstance(a, nn.Linear):
            tensors = [(_weight(a), _weight(b)[s].T), (a.bias, b.bias[s, 0])]
            if nn.utils.parametrize.is_parametrized(a, "weight"):  # spectral norm's power-iteration vectors
                sn_a, sn_b = a.parametrizations.weight[0], b.parametrizations.weight[0]
                tensors += [(sn_a._u, sn_b._u[s]), (sn_a._v, sn_b._v[s])]
        elif isinstance(a, nn.BatchNorm1d):
            F = a.num_features
            tensors = [(getattr(a, n), getattr(b, n).view(-1, F)[s])
                       for n in ("weight", "bias", "running_mean", "running_var")]
            tensors.append((a.num_batches_tracked, b.num_batches_tracked))
        elif isinstance(a, MinibatchDiscrimination):
            tensors = [(a.T, b.T[s])]
        elif isinstance(a, nn.PReLU):
            tensors = [(a.weight, b.weight[s].view(-1))]
        else:
            continue  # containers, activations, MinibatchStdDev: no state of their own
        for single_t, stacked_t in tensors:
            if to_stack:
                stacked_t.copy_(single_t)
            else:
                single_t.copy_(stacked_t)


class MLPGenerator(_MLP):
    """G for 2-D data: ``z (B, z_dim) -> x_fake (B, out_dim)``; stacked ``(S, B, z_dim) -> (S, B, out_dim)``.

    ``depth`` hidden layers of ``width`` units, each Linear -> [BatchNorm] -> activation,
    then a linear output layer (no squashing: the data are unbounded). ``activation`` is
    one of ``ACTIVATIONS``, ``norm`` one of ``NORMS``. Chapters 00-03, 08.
    """

    def __init__(
        self,
        z_dim: int = 2,
        out_dim: int = 2,
        width: int = 128,
        depth: int = 3,
        activation: str = "relu",
        norm: str = "none",
        n_models: int = 1,
        stacked: bool | None = None,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r} for MLPGenerator; use one of {', '.join(NORMS)}")
        if min(z_dim, out_dim, width) < 1 or depth < 0:
            raise ValueError(f"need z_dim, out_dim, width >= 1 and depth >= 0, got {z_dim}, {out_dim}, "
                             f"{width}, {depth}")
        make_activation(activation)  # validate the name before building
        self._init_stacking(n_models, stacked)
        self.config = dict(z_dim=z_dim, out_dim=out_dim, width=width, depth=depth, activation=activation,
                           norm=norm)
        self.in_features = self.z_dim = z_dim
        layers: list[nn.Module] = []
        fan_in = z_dim
        for _ in range(depth):
            layers += [self._linear(fan_in, width), *self._norm(norm, width), self._activation(activation)]
            fan_in = width
        layers.append(self._linear(fan_in, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        self._check_input(z, "z")
        return self.net(z)


class MLPDiscriminator(_MLP):
    """D for 2-D data: ``x (B, pack*in_dim) -> logits (B, 1)``; stacked ``(S, B, .) -> (S, B, 1)``.

    ``depth`` hidden layers of ``width`` units, each Linear -> [BatchNorm] -> ``activation``
    (``norm`` one of ``NORMS``: chapter 02 rescues a deep sigmoid D with batch norm), then a
    linear layer to one raw logit. With ``pack=m`` the input is already packed by
    :func:`gancourse.models.minibatch.pack`. ``minibatch_discrimination`` (100 kernels of
    dimension 5, as the reference code) and ``minibatch_stddev`` (group of
    ``stddev_group`` samples) are inserted just before the last layer. ``input_scale`` multiplies
    the input first (Metz et al. 2017 scale the radius-2 ring by 1/4 for D; chapter 03). Chapters 00-03, 08.

    Chapter 08's options: ``out_dim`` logits instead of one (``k + 1`` for MAD-GAN's
    ``k`` generators, loss ``"mad_gan"``), ``spectral_norm`` on every linear layer (per seed
    when stacked), and :meth:`features` for feature matching.
    """

    def __init__(
        self,
        in_dim: int = 2,
        width: int = 128,
        depth: int = 3,
        activation: str = "leaky_relu",
        minibatch_discrimination: bool = False,
        pack: int = 1,
        n_models: int = 1,
        stacked: bool | None = None,
        minibatch_stddev: bool = False,
        n_kernels: int = 100,
        kernel_dim: int = 5,
        stddev_group: int = 4,
        input_scale: float = 1.0,
        norm: str = "none",
        out_dim: int = 1,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        if not (isinstance(input_scale, (int, float)) and 0 < input_scale < float("inf")):
            raise ValueError(f"input_scale must be a number > 0 (e.g. 0.25), got {input_scale!r}")
        if min(in_dim, width, pack, out_dim) < 1 or depth < 0:
            raise ValueError(f"need in_dim, width, pack, out_dim >= 1 and depth >= 0, got {in_dim}, {width}, "
                             f"{pack}, {out_dim}, {depth}")
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r} for MLPDiscriminator; use one of {', '.join(NORMS)}")
        make_activation(activation)
        self._init_stacking(n_models, stacked)
        self.config = dict(in_dim=in_dim, width=width, depth=depth, activation=activation,
                           minibatch_discrimination=minibatch_discrimination, pack=pack,
                           minibatch_stddev=minibatch_stddev, n_kernels=n_kernels, kernel_dim=kernel_dim,
                           stddev_group=stddev_group, input_scale=input_scale, norm=norm, out_dim=out_dim,
                           spectral_norm=spectral_norm)
        self.in_dim, self.pack = in_dim, pack
        self.in_features = pack * in_dim
        layers: list[nn.Module] = [] if input_scale == 1 else [Scale(input_scale)]
        fan_in = self.in_features
        for _ in range(depth):
            layers += [self._linear(fan_in, width), *self._norm(norm, width), self._activation(activation)]
            fan_in = width
        self._n_hidden = len(layers)  # net[:_n_hidden] is the last hidden layer: D.features
        if minibatch_discrimination:
            layers.append(MinibatchDiscrimination(fan_in, n_kernels, kernel_dim,
                                                  n_models=n_models if self.stacked else None))
            fan_in += n_kernels
        if minibatch_stddev:
            layers.append(MinibatchStdDev(stddev_group, batch_dims=2 if self.stacked else 1))
            fan_in += 1
        layers.append(self._linear(fan_in, out_dim))
        self.net = nn.Sequential(*layers)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x, "x" if self.pack == 1 else f"x packed by pack(x, {self.pack})")
        return self.net(x)

    def features(self, x: Tensor) -> Tensor:
        """D's last hidden layer, before any minibatch layer: ``(B, width)``, stacked ``(S, B, width)``.

        The inner layer that feature matching compares (:mod:`gancourse.feature_matching`, chapter 08).
        """
        self._check_input(x, "x" if self.pack == 1 else f"x packed by pack(x, {self.pack})")
        return self.net[: self._n_hidden](x)


def stack_models(models: list[MLPGenerator] | list[MLPDiscriminator]) -> _MLP:
    """Stack separately initialised MLPs of one class into one module (see ``MLPGenerator.stack``)."""
    models = list(models)
    if not models:
        raise ValueError("stack_models needs at least one model")
    return type(models[0]).stack(models)
