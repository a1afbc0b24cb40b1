"""The distances a GAN's losses stand for: Jensen-Shannon and Wasserstein-1, computed where we know them.

Chapter 07 puts the two side by side on the example that made the case for the Wasserstein
loss (Arjovsky et al. 2017, *Wasserstein GAN*, example 1): the **parallel lines**. With
``Z ~ U[0, 1]``, the data is the segment ``(0, Z)`` and the generator's distribution the segment
``(theta, Z)``. The two never overlap for ``theta != 0``, so

* ``JS = log 2`` for every ``theta != 0`` (and 0 at ``theta = 0``): flat, its gradient in ``theta`` is 0;
* ``W = |theta|``: it shrinks as the segments come closer, with slope 1;
* ``KL = inf`` and the total variation is 1 for every ``theta != 0``.

What is here:

* :func:`parallel_lines` draws the two samples, :func:`parallel_lines_closed_form` gives the
  four distances from the formulas above.
* :func:`parallel_lines_masses` discretises both densities on a grid of cells, so that
  :func:`gancourse.theory.games.js_divergence` computes JS from its definition, without the formula.
* :func:`js_from_d_loss`: JS from a trained minimax discriminator's loss (Goodfellow et al.
  2014, thm. 1: ``max_D V(D, G) = -log 4 + 2 JS``); a D short of optimal gives a lower bound.
* :func:`critic_gap`, :func:`coupling_cost`, :func:`w1_1d`: W from its two sides. For a
  1-Lipschitz ``f``, ``E f(x_real) - E f(x_fake) <= W`` (Kantorovich-Rubinstein duality, the
  critic's estimate); for any pairing of the samples the mean distance is ``>= W``; in one
  dimension sorting both samples gives the optimal pairing, so :func:`w1_1d` is exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from gancourse.theory.games import js_divergence


def _thetas(theta: float | Tensor) -> Tensor:
    theta = torch.as_tensor(theta, dtype=torch.float64 if not isinstance(theta, Tensor) else None)
    if not theta.is_floating_point():
        theta = theta.double()
    if not torch.isfinite(theta).all():
        raise ValueError("theta must be finite: the generated segment's x position")
    return theta


def parallel_lines(theta: float | Tensor, n: int, generator: torch.Generator | None = None,
                   device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """``n`` samples of the data ``(0, Z)`` and of the generator's ``(theta, Z)``, ``Z ~ U[0, 1]`` (chapter 07).

    ``theta`` a number gives ``(n, 2)`` each; ``theta`` a tensor ``(T,)`` gives ``(T, n, 2)``
    each, one pair of samples per ``theta`` (stacked, e.g. one critic per ``theta``). Real and
    fake ``Z`` are drawn independently, float32, from ``generator``.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    theta = _thetas(theta).float()
    device = device if device is not None else (generator.device if generator is not None else "cpu")
    shape = (*theta.shape, n, 1)
    z_real = torch.rand(shape, generator=generator, device=device)
    z_fake = torch.rand(shape, generator=generator, device=device)
    x_real = torch.cat([torch.zeros_like(z_real), z_real], dim=-1)
    x_fake = torch.cat([theta.to(device)[..., None, None].expand(shape), z_fake], dim=-1)
    return x_real, x_fake


def parallel_lines_closed_form(theta: float | Tensor) -> dict[str, Tensor]:
    """The WGAN paper's formulas for the parallel lines at each ``theta`` (any shape), float64 (chapter 07).

    Keys: ``wasserstein`` ``|theta|``; ``js`` ``log 2`` where ``theta != 0``, else 0; ``kl``
    ``inf`` where ``theta != 0``, else 0; ``total_variation`` 1 where ``theta != 0``, else 0.
    """
    theta = _thetas(theta).double()
    apart = (theta != 0).double()
    return {"wasserstein": theta.abs(), "js": math.log(2) * apart,
            "kl": torch.where(theta != 0, math.inf, 0.0).double(), "total_variation": apart}


def parallel_lines_masses(theta: float | Tensor, cell: float = 0.01, half_width: float = 2.0,
                          ) -> tuple[Tensor, Tensor]:
    """Both densities of the parallel lines integrated over square cells of side ``cell``: masses ``(..., N)``.

    The cells tile ``[-half_width, half_width] x [0, 1]``, columns centred so that ``x = 0`` lies
    in the middle of one; a segment ``(a, Z)`` puts all its mass in the column holding ``a``,
    ``cell`` per cell along ``Z`` (its density is 1 on ``[0, 1]``). Returns ``(p_data, p_g)``,
    each ``(*theta.shape, n_columns * n_rows)`` float64 summing to 1: pass them to
    :func:`gancourse.theory.games.js_divergence`. Two segments closer than one cell share a column and
    look identical at this resolution (chapter 07 shows JS's jump sharpen as ``cell`` shrinks).
    """
    theta = _thetas(theta).double()
    if not 0 < cell <= 1 or abs(1 / cell - round(1 / cell)) > 1e-6:
        raise ValueError(f"cell must be in (0, 1] and divide 1 (e.g. 0.01), got {cell}")
    n_side = round(half_width / cell - 0.5)
    if n_side < 1:
        raise ValueError(f"half_width {half_width} must exceed 1.5 cells of {cell}")
    if (theta.abs() > (n_side + 0.5) * cell).any():
        raise ValueError(f"theta must lie within the grid, |theta| <= {(n_side + 0.5) * cell:g}; "
                         f"raise half_width (got max |theta| = {float(theta.abs().max()):g})")
    n_columns, n_rows = 2 * n_side + 1, round(1 / cell)
    rows = torch.full((n_rows,), 1.0 / n_rows, dtype=torch.float64)  # mass of [0, 1] per row of cells

    def masses(a: Tensor) -> Tensor:
        column = torch.floor(a / cell + 0.5).long() + n_side  # which column holds x = a
        onehot = torch.nn.functional.one_hot(column, n_columns).double()  # (..., n_columns)
        return (onehot[..., :, None] * rows).flatten(-2)  # (..., n_columns * n_rows)

    return masses(torch.zeros_like(theta)), masses(theta)


def parallel_lines_js(theta: float | Tensor, cell: float = 0.01, half_width: float = 2.0) -> Tensor:
    """JS between the parallel lines at each ``theta``, from the discretised densities (nats, float64; chapter 07)."""
    p_data, p_g = parallel_lines_masses(theta, cell, half_width)
    return js_divergence(p_data, p_g)


def js_from_d_loss(d_loss: float | Tensor) -> Tensor:
    """JS estimated from D's minimax loss ``-[E log D(x) + E log(1 - D(G(z)))]``: ``log 2 - d_loss / 2``.

    Exact for the optimal D (``max_D V = -log 4 + 2 JS``, Goodfellow et al. 2014); for a trained,
    not quite optimal D, a lower bound. Chapters 01, 07.
    """
    return math.log(2) - torch.as_tensor(d_loss, dtype=torch.float64) / 2


def critic_gap(f: Callable[[Tensor], Tensor], x_real: Tensor, x_fake: Tensor) -> Tensor:
    """``E f(x_real) - E f(x_fake)``: the critic's estimate of W, a lower bound on W if ``f`` is 1-Lipschitz.

    Samples ``(n, d)``, or ``(S, n, d)`` for a stacked ``f`` (then one value per model, ``(S,)``).
    It is ``-d_loss`` of the Wasserstein loss. Chapter 07.
    """
    if x_real.dim() not in (2, 3) or x_real.dim() != x_fake.dim():
        raise ValueError(f"x_real and x_fake must both be (n, d) or (S, n, d), got {tuple(x_real.shape)} "
                         f"and {tuple(x_fake.shape)}")
    with torch.no_grad():
        real, fake = f(x_real), f(x_fake)  # (n, 1) or (S, n, 1)
    return real.flatten(-2).mean(-1) - fake.flatten(-2).mean(-1)


def coupling_cost(x: Tensor, y: Tensor) -> Tensor:
    """Mean distance ``E ||x_i - y_i||`` of the pairing ``x_i <-> y_i``: an upper bound on W1 (chapter 07).

    ``x``, ``y``: ``(..., n, d)`` of the same shape; returns ``(...)``.
    """
    if x.shape != y.shape or x.dim() < 2:
        raise ValueError(f"x and y must have the same shape (..., n, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    return (x - y).norm(dim=-1).mean(-1)


def w1_1d(x: Tensor, y: Tensor) -> Tensor:
    """Wasserstein-1 between two 1-D samples of equal size, exactly: ``mean |sort(x) - sort(y)|``.

    ``x``, ``y``: ``(..., n)``; returns ``(...)``. In one dimension the monotone pairing is optimal,
    so this is W1 between the two empirical distributions. Chapter 07.
    """
    if x.shape != y.shape or x.dim() < 1 or x.shape[-1] < 1:
        raise ValueError(f"x and y must have the same shape (..., n) with n >= 1, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    return (x.sort(dim=-1).values - y.sort(dim=-1).values).abs().mean(-1)
