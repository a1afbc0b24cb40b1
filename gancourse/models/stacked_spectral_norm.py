"""Spectral normalisation (Miyato et al. 2018) for stacked-seed layers: ``S`` weights, ``S`` power iterations.

``torch.nn.utils.parametrizations.spectral_norm`` divides a layer's weight by an estimate
of its largest singular value, refined by one step of power iteration on every forward pass
in train mode. It expects one 2-D weight; a stacked layer (:class:`gancourse.models.mlp.StackedLinear`)
holds ``S`` of them as ``(S, in, out)``. :class:`StackedSpectralNorm` does the same per seed,
batched: seed ``s``'s vectors ``u[s]``, ``v[s]`` and its ``sigma[s]`` follow exactly the
updates torch's parametrization makes for seed ``s``'s ``(out, in)`` weight, so a stacked D
with spectral norm trains as ``S`` separate ones (chapter 08 compares spectral norm with the
other fixes over stacked seeds). :func:`gancourse.regularizers.spectral_norm` applies it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

N_INIT_ITERATIONS = 15
"""Power iterations at creation, as torch's spectral norm does before the first forward pass."""


class StackedSpectralNorm(nn.Module):
    """The parametrization ``W[s] -> W[s] / sigma_s`` of a ``(S, in, out)`` stacked weight (seed ``s``'s ``x W[s]``).

    Seed ``s``'s matrix in torch's layout is ``A_s = W[s]^T`` ``(out, in)``; ``_u`` ``(S, out)`` and
    ``_v`` ``(S, in)`` hold torch's ``u`` and ``v`` for every seed. In train mode each call makes
    ``n_power_iterations`` steps ``u <- normalize(A v)``, ``v <- normalize(A^T u)`` (no gradient
    through them, as in torch), then ``sigma = u . A v``.
    """

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, eps: float = 1e-12) -> None:
        super().__init__()
        if weight.dim() != 3:
            raise ValueError(f"StackedSpectralNorm needs a stacked weight (S, in, out), got {tuple(weight.shape)}")
        if n_power_iterations < 1:
            raise ValueError(f"n_power_iterations must be >= 1, got {n_power_iterations}")
        self.n_power_iterations, self.eps = n_power_iterations, eps
        S, n_in, n_out = weight.shape
        # torch draws u then v from N(0, 1) and normalises them
        u = F.normalize(weight.new_empty(S, n_out).normal_(0, 1), dim=1, eps=eps)
        v = F.normalize(weight.new_empty(S, n_in).normal_(0, 1), dim=1, eps=eps)
        self.register_buffer("_u", u)
        self.register_buffer("_v", v)
        self._power_method(weight.detach(), N_INIT_ITERATIONS)

    @torch.no_grad()
    def _power_method(self, weight: Tensor, n: int) -> None:
        for _ in range(n):
            # A v = v^T W (per seed): (S, 1, in) @ (S, in, out) -> (S, out); A^T u = W u: (S, in)
            # in place, as torch does, so that copies sharing the buffers see the update
            F.normalize(torch.bmm(self._v.unsqueeze(1), weight).squeeze(1), dim=1, eps=self.eps, out=self._u)
            F.normalize(torch.bmm(weight, self._u.unsqueeze(2)).squeeze(2), dim=1, eps=self.eps, out=self._v)

    def forward(self, weight: Tensor) -> Tensor:
        if self.training:
            self._power_method(weight.detach(), self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()  # constants for autograd, as torch's clone
        sigma = torch.einsum("si,sio,so->s", v, weight, u)  # u . A v, per seed: (S,)
        return weight / sigma.view(-1, 1, 1)


def stacked_spectral_norm(module: nn.Module, name: str = "weight") -> nn.Module:
    """Register :class:`StackedSpectralNorm` on ``module.<name>`` (a ``(S, in, out)`` weight); returns ``module``."""
    parametrize.register_parametrization(module, name, StackedSpectralNorm(getattr(module, name)))
    return module
