"""Several generators as one G: sample ``j`` of every batch comes from generator ``j mod k`` (chapter 08).

"Training multiple models for different modes": MAD-GAN (Ghosh et al. 2018, *Multi-agent
diverse generative adversarial networks*) trains ``k`` generators against one D with
``k + 1`` outputs, which must say *which* generator made a sample, or that it is real
(loss ``"mad_gan"`` in :mod:`gancourse.losses`, D built with ``out_dim = k + 1``). Two
generators that make the same samples cannot be told apart, so D's classification pushes
them towards different modes; each generator only wants D to call its samples real.

The generators share a body (every layer but the last, as the authors' code does) or
are separate nets. The generator of a sample follows from its position, ``j mod k``
(:func:`generator_index`), so the G of the training loop is an ordinary module
``z (B, z_dim) -> x (B, ...)`` and MAD-GAN's loss reads the labels from the batch order:
the mixture with equal weights ``1/k``, each batch split evenly. ``B`` need not be a multiple
of ``k`` (the batch is padded inside and cut back).

* :class:`MultiMLPGenerator`: for 2-D data, with ``S`` seeds stacked (``n_models=S``): the
  ``S * k`` generators are one stacked MLP, one ``bmm`` per layer.
* :class:`MultiGenerator`: any ``k`` generator modules, or a body and ``k`` heads, one model
  (the DCGAN: :func:`multi_dcgan_generator`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gancourse.models.dcgan import DCGANGenerator
from gancourse.models.mlp import StackedBatchNorm1d, StackedLinear, make_activation


def generator_index(n: int, k: int, device: torch.device | str | None = None) -> Tensor:
    """Which of ``k`` generators makes each of ``n`` samples of a batch: ``(n,)`` int64, ``j mod k``."""
    if k < 1 or n < 0:
        raise ValueError(f"need k >= 1 generators and n >= 0 samples, got k={k}, n={n}")
    return torch.arange(n, device=device) % k


def _pad(z: Tensor, k: int, batch_dim: int) -> tuple[Tensor, int]:
    """``z`` with rows repeated at the end of ``batch_dim`` up to a multiple of ``k``; the original length."""
    B = z.shape[batch_dim]
    extra = (-B) % k
    if extra == 0:
        return z, B
    if B == 0:
        raise ValueError("G needs at least one z")
    filler = z.narrow(batch_dim, 0, 1).expand(*z.shape[:batch_dim], extra, *z.shape[batch_dim + 1:])
    return torch.cat([z, filler], dim=batch_dim), B


def _split(x: Tensor, k: int) -> Tensor:
    """``(S, B, F) -> (S * k, B / k, F)``: row ``s * k + i`` holds seed ``s``'s samples ``i, i + k, ...``."""
    S, B, F = x.shape
    return x.view(S, B // k, k, F).transpose(1, 2).reshape(S * k, B // k, F)


def _merge(x: Tensor, S: int, k: int) -> Tensor:
    """The inverse of :func:`_split`: ``(S * k, B / k, F) -> (S, B, F)`` in sample order."""
    _, n, F = x.shape
    return x.view(S, k, n, F).transpose(1, 2).reshape(S, n * k, F)


class MultiMLPGenerator(nn.Module):
    """``k`` MLP generators for 2-D data: ``z (B, z_dim) -> x (B, out_dim)``, stacked ``(S, B, .) -> (S, B, .)``.

    Each generator is :class:`~gancourse.models.mlp.MLPGenerator`'s net (``depth`` hidden layers of
    ``width`` units, Linear -> [BatchNorm] -> activation, then a linear output). With
    ``shared_body`` the ``k`` generators share the hidden layers and differ in their output
    layer (MAD-GAN's sharing); otherwise they share nothing. Sample ``j`` comes from generator
    ``j mod k``. ``n_models=S`` holds ``S`` seeds; :meth:`stack` and :meth:`unstack` work as for
    :class:`~gancourse.models.mlp.MLPGenerator`, so :func:`gancourse.training.train_seeds` takes it.
    Internally every layer is stacked (over ``S`` seeds for the body, ``S * k`` generators for
    the rest), seed-major, so per-seed gradient norms and stacking need no special case. Chapter 08.
    """

    def __init__(self, n_generators: int = 4, shared_body: bool = True, z_dim: int = 2, out_dim: int = 2,
                 width: int = 128, depth: int = 3, activation: str = "relu", norm: str = "none",
                 n_models: int = 1, stacked: bool | None = None) -> None:
        super().__init__()
        for name, value, low in (("n_generators", n_generators, 1), ("z_dim", z_dim, 1), ("out_dim", out_dim, 1),
                                 ("width", width, 1), ("depth", depth, 0), ("n_models", n_models, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"MultiMLPGenerator: {name} must be an int >= {low}, got {value!r}")
        if norm not in ("none", "batch"):
            raise ValueError(f"unknown norm {norm!r} for MultiMLPGenerator; use 'none' or 'batch'")
        if shared_body and depth == 0:
            raise ValueError("shared_body needs depth >= 1 hidden layer to share; use shared_body=False")
        make_activation(activation)
        self.stacked = n_models > 1 if stacked is None else bool(stacked)
        if n_models > 1 and not self.stacked:
            raise ValueError("n_models > 1 needs stacked=True (or leave stacked unset)")
        self.n_models, self.n_generators, self.z_dim, self.out_dim = n_models, n_generators, z_dim, out_dim
        self.config = dict(n_generators=n_generators, shared_body=shared_body, z_dim=z_dim, out_dim=out_dim,
                           width=width, depth=depth, activation=activation, norm=norm)
        k = n_generators

        def hidden(fan_in: int, n_nets: int) -> list[nn.Module]:
            layers = [StackedLinear(fan_in, width, n_nets)]
            if norm == "batch":
                layers.append(StackedBatchNorm1d(width, n_nets))
            return layers + [make_activation(activation)]

        # the shared body runs once per seed (S nets); everything after it once per generator (S * k nets)
        body: list[nn.Module] = []
        fan_in = z_dim
        n_own = depth
        if shared_body:
            for _ in range(depth):
                body += hidden(fan_in, n_models)
                fan_in = width
            n_own = 0
        own: list[nn.Module] = []
        for _ in range(n_own):
            own += hidden(fan_in, n_models * k)
            fan_in = width
        own.append(StackedLinear(fan_in, out_dim, n_models * k))
        self.body = nn.Sequential(*body)
        self.heads = nn.Sequential(*own)

    def forward(self, z: Tensor) -> Tensor:
        S, k = self.n_models, self.n_generators
        expected = f"(S, B, {self.z_dim}) with S={S}" if self.stacked else f"(B, {self.z_dim})"
        if z.dim() != (3 if self.stacked else 2) or z.shape[-1] != self.z_dim or (self.stacked and z.shape[0] != S):
            raise ValueError(f"MultiMLPGenerator expects z of shape {expected}, got {tuple(z.shape)}")
        z3 = z if self.stacked else z.unsqueeze(0)  # (S, B, z_dim)
        z3, B = _pad(z3, k, batch_dim=1)
        h = self.body(z3)  # (S, B', width) or z itself
        x = _merge(self.heads(_split(h, k)), S, k)[:, :B]  # (S, B, out_dim)
        return x if self.stacked else x.squeeze(0)

    @classmethod
    def stack(cls, models: Sequence[MultiMLPGenerator]) -> MultiMLPGenerator:
        """One stacked module whose seed ``s`` computes exactly what ``models[s]`` (ordinary, equal settings) does."""
        models = list(models)
        if not models or any(type(m) is not cls or m.stacked for m in models):
            raise ValueError(f"stack needs ordinary {cls.__name__} instances")
        if any(m.config != models[0].config for m in models):
            raise ValueError(f"cannot stack models with different settings: {[m.config for m in models]}")
        like = next(models[0].parameters())
        stacked = cls(**models[0].config, n_models=len(models), stacked=True).to(like.device, like.dtype)
        states = [m.state_dict() for m in models]
        with torch.no_grad():
            for key, target in stacked.state_dict().items():
                parts = [state[key] for state in states]
                # every tensor is seed-major along dim 0, so stacking seeds is concatenating; counters are shared
                target.copy_(parts[0] if target.dim() == 0 else torch.cat(parts))
        return stacked.train(models[0].training)

    def unstack(self, i: int) -> MultiMLPGenerator:
        """Seed ``i`` of a stacked module as an ordinary module (a copy)."""
        if not self.stacked:
            raise ValueError("unstack needs a stacked MultiMLPGenerator (n_models > 1)")
        if not 0 <= i < self.n_models:
            raise ValueError(f"seed index {i} out of range for n_models={self.n_models}")
        like = next(self.parameters())
        single = type(self)(**self.config).to(like.device, like.dtype)
        state = self.state_dict()
        with torch.no_grad():
            for key, target in single.state_dict().items():
                source = state[key]
                if source.dim() == 0:
                    target.copy_(source)
                else:
                    n = source.shape[0] // self.n_models  # this seed's block of rows
                    target.copy_(source[i * n:(i + 1) * n])
        return single.train(self.training)


class _Trunk(nn.Module):
    """The DCGAN generator's layers up to its last one, on ``z (B, z_dim)`` (reshaped to ``(B, z_dim, 1, 1)``)."""

    def __init__(self, layers: nn.Sequential) -> None:
        super().__init__()
        self.layers = layers

    def forward(self, z: Tensor) -> Tensor:
        return self.layers(z[:, :, None, None])


class MultiGenerator(nn.Module):
    """``k`` generators as one: ``heads[i](body(z))`` makes the samples ``j`` with ``j mod k = i`` (one model).

    ``heads`` are ``k`` modules (whole generators when ``body`` is None); ``body`` is a shared
    trunk. ``z_dim`` is the length of ``z``. Chapter 08 builds the DCGAN version with
    :func:`multi_dcgan_generator`; 2-D runs over stacked seeds use :class:`MultiMLPGenerator`.
    """

    def __init__(self, heads: Sequence[nn.Module], z_dim: int, body: nn.Module | None = None) -> None:
        super().__init__()
        if len(heads) < 1:
            raise ValueError("MultiGenerator needs at least one generator (head)")
        self.heads = nn.ModuleList(heads)
        self.body = body
        self.n_generators, self.z_dim, self.n_models = len(heads), z_dim, 1

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"MultiGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        k = self.n_generators
        z, B = _pad(z, k, batch_dim=0)
        h = self.body(z) if self.body is not None else z
        parts = [head(h[i::k]) for i, head in enumerate(self.heads)]  # each (B' / k, ...)
        # (B'/k, k, ...) -> (B', ...): row q * k + i is head i's q-th sample
        x = torch.stack(parts, dim=1).flatten(0, 1)
        return x[:B]


def multi_dcgan_generator(n_generators: int = 4, shared_body: bool = True, **dcgan_options) -> MultiGenerator:
    """``k`` DCGAN generators (:class:`~gancourse.models.dcgan.DCGANGenerator`, ``dcgan_options``) as one G. Chapter 08.

    With ``shared_body`` they share every layer but the last transposed conv (and its tanh),
    as MAD-GAN's authors share all but the last layer; otherwise they are ``k`` whole nets.
    Pair it with ``DCGANDiscriminator(out_dim=n_generators + 1)`` and ``loss="mad_gan"``.
    """
    if isinstance(n_generators, bool) or not isinstance(n_generators, int) or n_generators < 1:
        raise ValueError(f"n_generators must be an int >= 1, got {n_generators!r}")
    gens = [DCGANGenerator(**dcgan_options) for _ in range(n_generators)]
    z_dim = gens[0].z_dim
    if not shared_body:
        return MultiGenerator(gens, z_dim)
    heads = [g.net[-2:] for g in gens]  # the last transposed conv and its tanh, one per generator
    return MultiGenerator(heads, z_dim, body=_Trunk(gens[0].net[:-2]))
