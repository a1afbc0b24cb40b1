"""Many seeds in one run: per-seed random streams, per-seed losses and gradient norms.

"One run is an anecdote" (COURSE.md): the chapters train ``S`` seeds of a 2-D GAN
side by side, as one stacked model (:mod:`gancourse.models.mlp`, ``n_models=S``) whose
tensors carry a leading seeds dimension, ``(S, B, ...)``. This module holds what the
training loop (:mod:`gancourse.training`) needs to treat those ``S`` GANs as ``S``
independent experiments:

* :class:`Randomness`: one ``torch.Generator`` per seed, so that seed ``s`` of a
  batched run draws exactly the batches, ``z`` and noise that a separate run with
  seed ``s`` draws (chapter 03 can re-run one collapsed seed alone and watch it).
* :func:`init_models`: builds a seed's ``G`` and ``D`` from that seed, as a separate
  run would, without touching the caller's global random state; :func:`stacked_models`
  stacks them for several seeds.
* :func:`per_seed_loss` and :func:`grad_norm`: values per seed, shape ``(S,)``.

For one model (``S == 1``) everything reduces to the ordinary single-run case.
Chapters 00, 03, 08, 09.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

SampleReal = Callable[[int, torch.Generator], Tensor]
"""A data source ``sample_real(n, generator) -> (n, ...)``, e.g. ``datasets.ring().sample``.

A sampler whose ``accepts_generator_list`` attribute is true (``Mixture.sample``) also takes a
list of ``S`` generators and returns ``(S, n, ...)``, slice ``s`` drawn from generator ``s``:
:class:`Randomness` then draws all seeds' batches in one call instead of ``S``."""


def n_models(G: nn.Module, D: nn.Module) -> int:
    """How many seeds ``G`` and ``D`` hold (their ``n_models``, 1 for ordinary modules); they must agree."""
    s_g, s_d = getattr(G, "n_models", 1), getattr(D, "n_models", 1)
    if s_g != s_d:
        raise ValueError(f"G holds {s_g} seeds but D holds {s_d}; stack both with the same number of models")
    return int(s_g)


def init_models(
    seed: int, make_G: Callable[[], nn.Module], make_D: Callable[[], nn.Module]
) -> tuple[nn.Module, nn.Module]:
    """``(make_G(), make_D())`` built right after ``torch.manual_seed(seed)``: the initial weights of seed ``seed``.

    The caller's global random state is saved and restored around it (``torch.random.fork_rng``),
    so building models here never changes what later code draws.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = make_G()
        D = make_D()
    return G, D


def stacked_models(
    seeds: Sequence[int], make_G: Callable[[], nn.Module], make_D: Callable[[], nn.Module]
) -> tuple[nn.Module, nn.Module]:
    """Seed ``s``'s ``G`` and ``D`` as a run of seed ``s`` alone builds them (:func:`init_models`), stacked.

    One seed gives the ordinary models; several give one stacked ``G`` and ``D``
    (``type(model).stack``, e.g. :class:`~gancourse.models.mlp.MLPGenerator`) whose slice ``i`` is seed
    ``seeds[i]``. :func:`~gancourse.training.train_seeds` and chapter 02's saturation runs
    start from these.
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct ints, got {seeds}")
    pairs = [init_models(s, make_G, make_D) for s in seeds]
    if len(seeds) == 1:
        return pairs[0]
    for model in pairs[0]:
        if not hasattr(type(model), "stack"):
            raise ValueError(f"{type(model).__name__} cannot be stacked; build models with a .stack classmethod "
                             f"(gancourse.models.mlp.MLPGenerator / MLPDiscriminator), or pass a single seed")
    return type(pairs[0][0]).stack([g for g, _ in pairs]), type(pairs[0][1]).stack([d for _, d in pairs])


class Randomness:
    """Every random number of a training run: one ``torch.Generator`` per seed, on the run's device.

    ``S == 1``: one generator seeded with ``seeds[0]``; draws have shape ``(n, ...)``.
    ``S > 1``: generator ``s`` is seeded with ``seeds[s]`` and draws seed ``s``'s slice of
    ``(S, n, ...)`` in the same order a separate run would, so seed ``s`` of a batched run
    sees the same data, ``z``, instance noise and WGAN-GP interpolation weights as a run of
    seed ``s`` alone.

    The loop over seeds here only launches ``S`` random-number kernels per draw; all the
    arithmetic on the stacked tensors stays batched.
    """

    def __init__(self, seeds: Sequence[int], device: torch.device | str) -> None:
        seeds = list(seeds)
        if not seeds or any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in seeds):
            raise ValueError(f"seeds must be a non-empty list of non-negative ints, got {seeds!r}")
        self.seeds = seeds
        self.device = torch.device(device)
        self.generators = [torch.Generator(device=self.device).manual_seed(s) for s in seeds]

    @property
    def n_models(self) -> int:
        return len(self.seeds)

    def _draw(self, fn: Callable[[torch.Generator], Tensor]) -> Tensor:
        if len(self.generators) == 1:
            return fn(self.generators[0])
        return torch.stack([fn(g) for g in self.generators])  # (S, n, ...)

    def _fill(self, draw: Callable[..., Tensor], shape: tuple[int, ...], dtype: torch.dtype | None = None) -> Tensor:
        """``draw(shape, generator=g, ...)`` per seed, each written into its slice: ``shape`` or ``(S, *shape)``."""
        if len(self.generators) == 1:
            return draw(shape, generator=self.generators[0], device=self.device, dtype=dtype)
        out = torch.empty((len(self.generators), *shape), device=self.device, dtype=dtype)
        for s, g in enumerate(self.generators):  # in place: no stack of S draws
            draw(shape, generator=g, out=out[s])
        return out

    def real(self, data: Tensor | SampleReal, n: int) -> Tensor:
        """``n`` real samples per seed: rows of ``data`` at random indices, or ``data(n, generator)``."""
        if isinstance(data, Tensor):
            # indices per seed, then one gather for all seeds: (n,) or (S, n) -> (n, ...) or (S, n, ...)
            return data[self._fill(lambda shape, **kw: torch.randint(len(data), shape, **kw), (n,), torch.long)]
        if len(self.generators) > 1 and getattr(data, "accepts_generator_list", False):
            return data(n, self.generators).to(self.device)
        return self._draw(lambda g: data(n, g).to(self.device))

    def z(self, n: int, z_dim: int) -> Tensor:
        """Latent noise ``(n, z_dim)`` or ``(S, n, z_dim)``, standard normal."""
        return self._fill(torch.randn, (n, z_dim))

    def uniform(self, shape: tuple[int, ...], dtype: torch.dtype | None = None) -> Tensor:
        """``U[0, 1)`` of one seed's ``shape``: ``shape`` or ``(S, *shape)``, e.g. WGAN-GP's ``eps``."""
        return self._fill(torch.rand, tuple(shape), dtype)

    def add_noise(self, x: Tensor, std: float) -> Tensor:
        """``x + std * N(0, 1)`` (instance noise), each seed's noise from its own generator."""
        if std == 0:
            return x
        shape = x.shape if len(self.seeds) == 1 else x.shape[1:]  # one seed's slice
        return x + std * self._fill(torch.randn, tuple(shape), x.dtype)

    def state_dict(self) -> dict:
        """Generator states as CPU byte tensors, for checkpoints."""
        return {"seeds": list(self.seeds), "generators": [g.get_state() for g in self.generators]}

    def load_state_dict(self, state: dict) -> None:
        if list(state["seeds"]) != self.seeds:
            raise ValueError(f"checkpoint was made with seeds {list(state['seeds'])}, this run has {self.seeds}")
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s.cpu())  # states must be CPU byte tensors, whatever map_location did


def per_seed_loss(loss_fn: Callable[..., Tensor], n_seeds: int, *logits: Tensor, **kwargs) -> Tensor:
    """``loss_fn(*logits, **kwargs)`` per seed: a scalar for ``n_seeds == 1``, else ``(S,)``.

    ``loss_fn`` is one of :mod:`gancourse.losses`, which average over every entry, or with
    ``per_seed=True`` over each seed's own batch of ``(S, B, 1)`` logits: one reduction per
    seed, no Python loop: 5-10x cheaper than ``torch.vmap`` over the seeds (16 seeds, batch 64, CPU:
    D's loss 170 -> 35 us, G's 146 -> 15 us).
    """
    if n_seeds == 1:
        return loss_fn(*logits, **kwargs)
    return loss_fn(*logits, per_seed=True, **kwargs)


def per_seed_mean(x: Tensor, n_seeds: int) -> Tensor:
    """Mean of ``x`` over everything but the seeds dimension: a scalar, or ``(S,)`` for stacked seeds."""
    return x.mean() if n_seeds == 1 else x.reshape(n_seeds, -1).mean(dim=1)


def grad_norm(params: Sequence[nn.Parameter], n_seeds: int = 1) -> Tensor:
    """Total L2 norm of the gradients of ``params``: a 0-dim tensor, or ``(S,)`` per seed (no host sync).

    For stacked seeds every parameter holds seed ``s`` in slice ``s`` of its first dim
    (``(S, ...)``, or ``(S*F,)`` seed-major for stacked batch norm), so the per-seed norm is
    taken over those slices. Parameters without a gradient count as zero.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        device = next(iter(params)).device if len(params) else None
        return torch.zeros(() if n_seeds == 1 else (n_seeds,), device=device)
    if n_seeds == 1:
        return torch.nn.utils.get_total_norm(grads, norm_type=2.0)  # foreach kernels, stays on the device
    for g in grads:
        if g.numel() % n_seeds:
            raise ValueError(f"a gradient of shape {tuple(g.shape)} cannot be split into {n_seeds} seeds; "
                             f"stacked models need every parameter laid out seed-major")
    # one (S, total params per seed) matrix, one norm kernel, instead of a few kernels per parameter
    return torch.linalg.vector_norm(torch.cat([g.reshape(n_seeds, -1) for g in grads], dim=1), dim=1,
                                    dtype=torch.float32)
