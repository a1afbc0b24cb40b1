"""Maxout units (Goodfellow et al. 2013): the hidden layers of PacGAN's discriminator.

A maxout layer with ``k`` pieces computes ``k`` affine maps of its input for every output
unit and keeps the largest: ``h_j(x) = max_{p < k} (x W + b)_{j k + p}``. The pieces of
unit ``j`` are the ``k`` consecutive columns ``j k, ..., j k + k - 1``, as in the Blocks
``LinearMaxout`` brick that PacGAN's code builds its D from (a ``Linear`` to
``out_features * k`` columns, reshaped to ``(..., out_features, k)``, max over the last axis).

With ``n_models=S`` one layer holds ``S`` independent maxout layers (stacked seeds,
chapters 08 and 09): ``(S, B, in) -> (S, B, out)``, weight ``(S, in, out*k)``, bias
``(S, 1, out*k)``; seed ``s`` only touches slice ``s``. Used by :mod:`gancourse.models.pacgan`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class Maxout(nn.Module):
    """``x (B, in) -> (B, out)``: per output unit, the largest of ``pieces`` affine maps of ``x``.

    ``weight`` is ``(in, out * pieces)`` (stacked: ``(S, in, out * pieces)``), ``bias``
    ``(out * pieces,)`` (stacked: ``(S, 1, out * pieces)``), initialised like ``nn.Linear``
    (``U(-1/sqrt(in), 1/sqrt(in))``); PacGAN re-initialises them with N(0, 0.02) and zeros.
    Chapter 09 (PacGAN's table 1).
    """

    def __init__(self, in_features: int, out_features: int, pieces: int = 5, n_models: int | None = None) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features), ("pieces", pieces)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Maxout's {name} must be an int >= 1, got {value!r}")
        if n_models is not None and (not isinstance(n_models, int) or n_models < 1):
            raise ValueError(f"n_models must be None (one layer) or an int >= 1, got {n_models!r}")
        self.in_features, self.out_features, self.pieces, self.n_models = in_features, out_features, pieces, n_models
        lead = () if n_models is None else (n_models,)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(*lead, in_features, out_features * pieces).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(*lead, *(() if n_models is None else (1,)), out_features * pieces)
                                 .uniform_(-bound, bound))

    @property
    def stacked(self) -> bool:
        return self.n_models is not None

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, pieces={self.pieces}, "
                f"n_models={self.n_models}")

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features or x.dim() != (3 if self.stacked else 2) or (
                self.stacked and x.shape[0] != self.n_models):
            expected = f"(S, B, {self.in_features}) with S={self.n_models}" if self.stacked else \
                f"(B, {self.in_features})"
            raise ValueError(f"Maxout expects input of shape {expected}, got {tuple(x.shape)}")
        pre = torch.baddbmm(self.bias, x, self.weight) if self.stacked else torch.addmm(self.bias, x, self.weight)
        # (..., B, out * k) -> (..., B, out, k): unit j's pieces are columns j*k .. j*k + k - 1
        return pre.unflatten(-1, (self.out_features, self.pieces)).amax(dim=-1)
