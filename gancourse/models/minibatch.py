"""Discriminator pieces that look at the whole minibatch, so D can see a collapsed G (chapter 08).

A collapsed ``G`` produces near-identical samples; a ``D`` that judges each sample
alone cannot tell, a ``D`` that sees statistics of the minibatch can.

* :class:`MinibatchDiscrimination` (Salimans et al. 2016): closeness of each
  sample to the others, through a learned tensor ``T``.
* :class:`MinibatchStdDev` (Karras et al. 2018, ProGAN): the spread of features
  over a small group of samples, appended as one extra feature.
* :func:`pack` (PacGAN, Lin et al. 2018): D judges ``m`` samples at once.

Shapes: one model sees ``(B, F)`` or images ``(B, C, H, W)``; ``S`` stacked seeds
see ``(S, B, F)`` (``batch_dims=2``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination of Salimans et al. (2016), exactly as in COURSE.md.

    For features ``f(x_i) in R^A`` and a learned ``T in R^{A x B x C}`` (``B = n_kernels``,
    ``C = kernel_dim``): ``M_i = f(x_i) T in R^{B x C}``,
    ``c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1)`` and ``o(x_i)_b = sum_j c_b(x_i, x_j)``;
    the output is ``cat([f(x_i), o(x_i)])``, shape ``(N, A + B)``.

    The sum runs over all ``j`` including ``j = i``, as the paper writes it; the
    reference code (openai/improved-gan) masks ``j = i`` out and adds a learned bias
    initialised at -1 instead. The self term is the constant ``c_b(x_i, x_i) = 1``, so
    the two differ by a constant that D's next layer absorbs into its bias; pass
    ``include_self=False`` for the reference code's version. Real and fake minibatches
    must be passed separately (otherwise D can tell them apart by mixing).

    With ``n_models=S`` the layer holds ``S`` independent tensors ``T`` (shape
    ``(S, A, B, C)``) and maps ``(S, N, A) -> (S, N, A + B)``. Memory grows as
    ``S * B * N^2`` (one distance matrix per kernel): 100 kernels and N = 256 take
    about 26 MB per seed. Chapter 08.
    """

    def __init__(
        self,
        in_features: int,
        n_kernels: int = 100,
        kernel_dim: int = 5,
        n_models: int | None = None,
        include_self: bool = True,
        init_std: float = 0.05,
    ) -> None:
        super().__init__()
        if min(in_features, n_kernels, kernel_dim) < 1:
            raise ValueError(
                f"in_features, n_kernels and kernel_dim must be >= 1, got {in_features}, {n_kernels}, {kernel_dim}"
            )
        if n_models is not None and n_models < 1:
            raise ValueError(f"n_models must be None (one model) or >= 1, got {n_models}")
        self.in_features, self.n_kernels, self.kernel_dim = in_features, n_kernels, kernel_dim
        self.n_models = n_models
        self.include_self = include_self
        lead = () if n_models is None else (n_models,)
        # N(0, 0.05) as the reference code's theta (which it then weight-normalises from data)
        self.T = nn.Parameter(torch.randn(*lead, in_features, n_kernels, kernel_dim) * init_std)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, n_kernels={self.n_kernels}, kernel_dim={self.kernel_dim}, "
            f"n_models={self.n_models}, include_self={self.include_self}"
        )

    def forward(self, f: Tensor) -> Tensor:
        stacked = self.n_models is not None
        expected = "(S, N, A)" if stacked else "(N, A)"
        if f.dim() != (3 if stacked else 2) or f.shape[-1] != self.in_features or (
            stacked and f.shape[0] != self.n_models
        ):
            raise ValueError(
                f"MinibatchDiscrimination expects features of shape {expected} with A={self.in_features}"
                + (f", S={self.n_models}" if stacked else "")
                + f", got {tuple(f.shape)}"
            )
        f3 = f if stacked else f.unsqueeze(0)  # (S, N, A)
        T = self.T if stacked else self.T.unsqueeze(0)  # (S, A, B, C)
        S, N, _ = f3.shape
        M = torch.bmm(f3, T.flatten(2)).view(S, N, self.n_kernels, self.kernel_dim)  # (S, N, B, C)
        # one L1 distance matrix per (seed, kernel): (S*B, N, C) -> (S*B, N, N); cdist avoids the
        # (N, N, B, C) intermediate of the broadcast form. At least float32, so that autocast's
        # half precision cannot round the distances away.
        M = M.permute(0, 2, 1, 3).reshape(S * self.n_kernels, N, self.kernel_dim)
        M = M.to(torch.promote_types(M.dtype, torch.float32))
        c = torch.exp(-torch.cdist(M, M, p=1.0))  # (S*B, N, N)
        o = c.sum(dim=-1)  # (S*B, N)
        if not self.include_self:
            o = o - 1.0  # c_b(x_i, x_i) = exp(0) = 1 exactly
        o = o.view(S, self.n_kernels, N).transpose(1, 2).to(f.dtype)  # (S, N, B)
        out = torch.cat([f3, o], dim=-1)
        return out if stacked else out.squeeze(0)


class MinibatchStdDev(nn.Module):
    """ProGAN's minibatch standard deviation (Karras et al. 2018), chapter 08.

    Splits the batch into groups of ``group_size`` samples (sample ``b`` joins group
    ``b mod (B / group_size)``, as in the reference code), takes each feature's std
    over its group (biased, with 1e-8 inside the square root), averages it over all
    features, and appends that one number to every sample: as one extra channel
    ``(B, C, H, W) -> (B, C + 1, H, W)``, or one extra feature ``(B, F) -> (B, F + 1)``.
    ``batch_dims=2`` does it per seed for stacked ``(S, B, F)``. The group shrinks to
    ``B`` if ``B < group_size``; otherwise ``B`` must be a multiple of it.
    """

    def __init__(self, group_size: int = 4, batch_dims: int = 1) -> None:
        super().__init__()
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        if batch_dims not in (1, 2):
            raise ValueError(f"batch_dims must be 1 (samples) or 2 (seeds, samples), got {batch_dims}")
        self.group_size, self.batch_dims = group_size, batch_dims

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, batch_dims={self.batch_dims}"

    def forward(self, x: Tensor) -> Tensor:
        bd = self.batch_dims
        if x.dim() <= bd:
            raise ValueError(f"MinibatchStdDev expects (B, F) or (B, C, H, W) after {bd - 1} seed dims, "
                             f"got {tuple(x.shape)}")
        lead, B, feat = x.shape[: bd - 1], x.shape[bd - 1], x.shape[bd:]
        G = min(self.group_size, B)
        if B % G != 0:
            raise ValueError(f"batch size {B} must be a multiple of group_size={G}; change one of them")
        L = math.prod(lead)
        y = x.reshape(L, G, B // G, -1)  # (L, G, M, F'), group members along dim 1
        y = y.to(torch.promote_types(y.dtype, torch.float32))  # no half-precision variance
        std = (y.var(dim=1, unbiased=False) + 1e-8).sqrt()  # (L, M, F')
        stat = std.mean(dim=-1)  # (L, M)
        stat = stat.unsqueeze(1).expand(L, G, B // G).reshape(*lead, B)  # back to sample order
        stat = stat.view(*lead, B, 1, *(1,) * (len(feat) - 1)).expand(*lead, B, 1, *feat[1:])
        return torch.cat([x, stat.to(x.dtype)], dim=bd)


def pack(x: Tensor, m: int, batch_dims: int = 1) -> Tensor:
    """PacGAN packing: ``m`` consecutive samples become one input of D (chapter 08).

    ``(B, F) -> (B/m, m*F)``, images ``(B, C, H, W) -> (B/m, m*C, H, W)`` (samples
    concatenated along channels), stacked ``(S, B, F) -> (S, B/m, m*F)`` with
    ``batch_dims=2``. Row ``k`` holds samples ``k*m, ..., k*m + m - 1``.
    """
    if m < 1:
        raise ValueError(f"pack size m must be >= 1, got {m}")
    if batch_dims not in (1, 2):
        raise ValueError(f"batch_dims must be 1 (samples) or 2 (seeds, samples), got {batch_dims}")
    if x.dim() <= batch_dims:
        raise ValueError(f"pack expects (B, F) or (B, C, H, W) after {batch_dims - 1} seed dims, "
                         f"got {tuple(x.shape)}")
    lead, B, feat = x.shape[: batch_dims - 1], x.shape[batch_dims - 1], x.shape[batch_dims:]
    if B % m != 0:
        raise ValueError(f"batch size {B} is not divisible by the pack size m={m}; use a multiple of {m}")
    # (.., B, C, ...) -> (.., B/m, m, C, ...) -> (.., B/m, m*C, ...): merging adjacent dims keeps order
    return x.reshape(*lead, B // m, m * feat[0], *feat[1:])
