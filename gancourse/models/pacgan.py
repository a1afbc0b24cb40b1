"""PacGAN's 2-D networks (Lin et al. 2018, table 1), one model or ``S`` seeds stacked, as their code builds them.

Read from the published code (``fjxmlzn/PacGAN``, ``synthetic_data_experiments/``, the
``2DRing_GAN&PacGAN`` and ``2DGrid_GAN&PacGAN`` folders, whose ``pacgan_task.py`` files are
identical and whose ``config.py`` files differ only in the mixture):

* **G** (:class:`PacGANGenerator`): ``z`` 2-D standard normal; 4 hidden layers of 400 units,
  each ``Linear`` without bias -> batch norm -> ReLU; a linear output layer with bias. Batch
  norm is Blocks' brick: scale 1 and shift 0 at the start, ``epsilon = 1e-4`` added to the
  biased batch variance, and population statistics (mean and *standard deviation*, not
  variance) kept as a moving average with weight 0.05 on the new batch, used to sample.
  For PacGAN-m, G is applied to ``m`` separate batches of 100 ``z`` per step (one per
  position in the pack), each normalised over its own 100 samples, and the population
  update averages the ``m`` batches' statistics: :class:`PackedBatchNorm` does exactly that.
* **D** (:class:`PacGANDiscriminator`): the ``m`` packed samples concatenated (``2m``
  inputs); 3 hidden :class:`~gancourse.models.maxout.Maxout` layers of 200 units with 5 pieces;
  a linear output (one logit). No batch norm, no dropout (``with_dropout=False``).
* Every weight ``N(0, 0.02)``, every bias 0 (:meth:`reset_parameters`).

What training does with them is :func:`gancourse.lab.setups.pacgan_setup` (run by
``benchmarks/pacgan_table1.py``); :func:`gancourse.training.train` with ``simultaneous=True``
is their update rule. Chapter 09.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gancourse.models.maxout import Maxout

INIT_STD = 0.02
"""Std of the Gaussian every weight starts from (``IsotropicGaussian(0.02)`` in their config)."""
BN_EPSILON = 1e-4
"""Added to the batch variance before the square root (Blocks' ``BatchNormalization`` default)."""
BN_MOMENTUM = 0.05
"""Weight of the new batch in the population statistics (``m * 0.05 + p * 0.95`` in their code)."""


class _Linear(nn.Module):
    """``x W (+ b)``, ``W (in, out)``; stacked ``(S, B, in) -> (S, B, out)``, ``W (S, in, out)``, ``b (S, 1, out)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool, n_models: int | None) -> None:
        super().__init__()
        self.in_features, self.out_features, self.n_models = in_features, out_features, n_models
        lead = () if n_models is None else (n_models,)
        self.weight = nn.Parameter(torch.zeros(*lead, in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(*lead, *(() if n_models is None else (1,)), out_features)) \
            if bias else None

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def forward(self, x: Tensor) -> Tensor:
        y = x @ self.weight
        return y if self.bias is None else y + self.bias


class PackedBatchNorm(nn.Module):
    """Blocks' batch norm for ``(B, F)`` or stacked ``(S, B, F)``, statistics per pack position.

    In train mode the batch is read as ``B / groups`` rows of ``groups`` samples (sample ``i``
    belongs to group ``i mod groups``, the position :func:`gancourse.models.minibatch.pack` gives it in
    D's input) and each group is normalised with its own mean and biased variance plus
    ``eps``: what PacGAN's code computes when it runs G once per pack position. The
    population mean and standard deviation move towards the groups' average by ``momentum``.
    In eval mode the population statistics are used. Parameters and statistics are ``(F,)``,
    stacked ``(S, 1, F)``.
    """

    def __init__(self, features: int, groups: int = 1, n_models: int | None = None, eps: float = BN_EPSILON,
                 momentum: float = BN_MOMENTUM) -> None:
        super().__init__()
        self.features, self.groups, self.n_models, self.eps, self.momentum = features, groups, n_models, eps, momentum
        shape = (features,) if n_models is None else (n_models, 1, features)
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape))
        self.register_buffer("running_mean", torch.zeros(shape))
        self.register_buffer("running_std", torch.ones(shape))

    def extra_repr(self) -> str:
        return f"features={self.features}, groups={self.groups}, eps={self.eps}, momentum={self.momentum}"

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return (x - self.running_mean) / self.running_std * self.weight + self.bias
        B, m = x.shape[-2], self.groups
        if B % m:
            raise ValueError(f"a batch of {B} samples cannot be split into the {m} pack positions that G's batch "
                             f"norm normalises separately; use a multiple of pack={m}")
        rows = x.unflatten(-2, (B // m, m))  # (..., B/m, m, F): group j = pack position j
        mean = rows.mean(dim=-3, keepdim=True)  # (..., 1, m, F)
        std = (rows - mean).square().mean(dim=-3, keepdim=True).add(self.eps).sqrt()
        y = ((rows - mean) / std).flatten(-3, -2) * self.weight + self.bias
        with torch.no_grad():  # the population statistics: the average over the m groups, as their code merges them
            shape = self.running_mean.shape
            self.running_mean.lerp_(mean.detach().mean(dim=-2).reshape(shape), self.momentum)
            self.running_std.lerp_(std.detach().mean(dim=-2).reshape(shape), self.momentum)
        return y


class _SeedStack(nn.Module):
    """Stacking and unstacking for modules whose every tensor holds seed ``s`` in slice ``s`` of dim 0.

    A stacked tensor viewed as ``(S, -1)`` has row ``s`` equal to the flattened tensor of the
    ordinary model of seed ``s`` (same names, same element order): weights ``(in, out)`` vs
    ``(S, in, out)``, biases and batch-norm tensors ``(F,)`` vs ``(S, 1, F)``.
    """

    config: dict
    n_models: int

    @property
    def stacked(self) -> bool:
        return self.n_models > 1

    @classmethod
    def stack(cls, models: list[_SeedStack]) -> _SeedStack:
        """One stacked module whose seed ``s`` computes exactly what ``models[s]`` computes (parameters copied)."""
        models = list(models)
        if not models or any(type(m) is not cls or m.stacked for m in models):
            raise ValueError(f"stack needs a list of ordinary {cls.__name__} instances")
        if any(m.config != models[0].config for m in models):
            raise ValueError(f"cannot stack {cls.__name__}s with different settings")
        like = next(models[0].parameters())
        stacked = cls(**models[0].config, n_models=len(models)).to(like.device, like.dtype)
        with torch.no_grad():
            for s, model in enumerate(models):
                _copy(model, stacked, s, to_stack=True)
        return stacked.train(models[0].training)

    def unstack(self, i: int) -> _SeedStack:
        """Seed ``i`` as an ordinary module (a copy)."""
        if not self.stacked or not 0 <= i < self.n_models:
            raise ValueError(f"unstack needs a stacked module and 0 <= i < n_models={self.n_models}, got {i}")
        like = next(self.parameters())
        model = type(self)(**self.config).to(like.device, like.dtype)
        with torch.no_grad():
            _copy(model, self, i, to_stack=False)
        return model.train(self.training)

    @torch.no_grad()
    def reset_parameters(self, std: float = INIT_STD) -> None:
        """Every weight ``N(0, std)``, every bias 0; batch norm scale 1, shift 0 (their initialisation)."""
        for module in self.modules():
            if isinstance(module, (_Linear, Maxout)):
                module.weight.normal_(0.0, std)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, PackedBatchNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()

    def _layer_models(self) -> int | None:
        return None if self.n_models == 1 else self.n_models

    def _check(self, x: Tensor, what: str) -> None:
        stacked = self.stacked
        if x.dim() != (3 if stacked else 2) or x.shape[-1] != self.in_features or (
                stacked and x.shape[0] != self.n_models):
            expected = f"(S, B, {self.in_features}) with S={self.n_models}" if stacked else f"(B, {self.in_features})"
            raise ValueError(f"{type(self).__name__} expects {what} of shape {expected}, got {tuple(x.shape)}")


def _copy(single: nn.Module, stacked: nn.Module, s: int, to_stack: bool) -> None:
    tensors = dict(stacked.named_parameters()) | dict(stacked.named_buffers())
    for name, t in (*single.named_parameters(), *single.named_buffers()):
        row = tensors[name].view(stacked.n_models, -1)[s]
        if to_stack:
            row.copy_(t.flatten())
        else:
            t.copy_(row.view_as(t))


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "depth" else 1):
            raise ValueError(f"{name} must be an int >= {0 if name == 'depth' else 1}, got {value!r}")


class PacGANGenerator(_SeedStack):
    """PacGAN's G: ``z (B, 2) -> x (B, 2)``, stacked ``(S, B, 2) -> (S, B, 2)``.

    ``depth`` hidden layers of ``width`` units (4 and 400 in the paper), each a bias-free
    linear map, :class:`PackedBatchNorm` over ``pack`` groups, ReLU; a linear output with
    bias. ``pack`` must be the run's ``TrainConfig.pack``. Chapter 09.
    """

    def __init__(self, z_dim: int = 2, out_dim: int = 2, width: int = 400, depth: int = 4, pack: int = 1,
                 n_models: int = 1) -> None:
        super().__init__()
        _check_sizes(z_dim=z_dim, out_dim=out_dim, width=width, depth=depth, pack=pack, n_models=n_models)
        self.config = dict(z_dim=z_dim, out_dim=out_dim, width=width, depth=depth, pack=pack)
        self.z_dim = self.in_features = z_dim
        self.n_models = n_models
        S = self._layer_models()
        layers: list[nn.Module] = []
        fan_in = z_dim
        for _ in range(depth):
            layers += [_Linear(fan_in, width, bias=False, n_models=S), PackedBatchNorm(width, pack, S), nn.ReLU()]
            fan_in = width
        layers.append(_Linear(fan_in, out_dim, bias=True, n_models=S))
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

    def forward(self, z: Tensor) -> Tensor:
        self._check(z, "z")
        return self.net(z)


class PacGANDiscriminator(_SeedStack):
    """PacGAN's D: ``x`` packed by ``pack`` ``(B/m, m*2) -> logits (B/m, 1)``, stacked ``(S, ., .)``.

    ``depth`` :class:`~gancourse.models.maxout.Maxout` layers of ``width`` units with ``pieces``
    pieces (3, 200 and 5 in the paper), then a linear layer to one raw logit. Chapter 09.
    """

    def __init__(self, in_dim: int = 2, width: int = 200, depth: int = 3, pieces: int = 5, pack: int = 1,
                 n_models: int = 1) -> None:
        super().__init__()
        _check_sizes(in_dim=in_dim, width=width, depth=depth, pieces=pieces, pack=pack, n_models=n_models)
        self.config = dict(in_dim=in_dim, width=width, depth=depth, pieces=pieces, pack=pack)
        self.in_dim, self.pack, self.n_models = in_dim, pack, n_models
        self.in_features = pack * in_dim
        S = self._layer_models()
        layers: list[nn.Module] = []
        fan_in = self.in_features
        for _ in range(depth):
            layers.append(Maxout(fan_in, width, pieces, n_models=S))
            fan_in = width
        layers.append(_Linear(fan_in, 1, bias=True, n_models=S))
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        self._check(x, "x" if self.pack == 1 else f"x packed by pack(x, {self.pack})")
        return self.net(x)


def n_parameters(model: nn.Module) -> int:
    """Parameters of one seed of ``model`` (what PacGAN's code prints for D and G)."""
    return sum(p.numel() for p in model.parameters()) // getattr(model, "n_models", 1)


__all__ = ["BN_EPSILON", "BN_MOMENTUM", "INIT_STD", "PacGANDiscriminator", "PacGANGenerator", "PackedBatchNorm",
           "n_parameters"]
