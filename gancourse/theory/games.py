"""Toy games that show what the GAN minimax game is: chapter 01.

Two kinds of toy, both pure torch, vectorised over a leading batch of
densities, starting points or step sizes, and kept on the input's device:

* **The value function on a 1-D grid.** Densities become probability masses
  on a grid, so that ``V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]`` is a
  finite sum. Its maximiser over ``D`` is found numerically
  (:func:`maximize_discriminator`) and compared with the formula
  ``D*(x) = p_data / (p_data + p_g)`` (:func:`optimal_discriminator`), and
  ``C(G) = max_D V`` with ``-log 4 + 2 JSD(p_data || p_g)`` (:func:`js_divergence`)
  (Goodfellow et al. 2014, Prop. 1 and Thm. 1).
* **Two-parameter games** ``min_{w0} max_{w1} L(w0, w1)``: the bilinear game
  ``L = x y`` and the Dirac-GAN of Mescheder et al. (2018). A state ``w`` has
  shape ``(..., 2)``: ``w[..., 0]`` is the minimising player (``x``, or the
  generator's ``theta``), ``w[..., 1]`` the maximising one (``y``, or the
  discriminator's ``psi``). A *vector field* ``v(w) = (-dL/dw0, +dL/dw1)`` is
  the direction gradient descent-ascent moves in; :func:`simultaneous_gda` and
  :func:`alternating_gda` follow it with step ``h``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from gancourse.training.threads import small_work

Field = Callable[[torch.Tensor], torch.Tensor]

# ---------------------------------------------------------------- the value function on a grid


def mixture_pdf(
    x: torch.Tensor,
    means: torch.Tensor | list[float],
    stds: torch.Tensor | list[float],
    weights: torch.Tensor | list[float] | None = None,
) -> torch.Tensor:
    """Density of a 1-D Gaussian mixture at the points ``x``.

    ``x`` is ``(N,)``; ``means``, ``stds``, ``weights`` are ``(..., K)`` (K components,
    any leading batch of mixtures; ``weights`` default to equal and must sum to 1).
    Returns ``(..., N)`` on ``x``'s device and dtype. Chapter 01.
    """
    if x.dim() != 1:
        raise ValueError(f"x must be a 1-D grid of shape (N,), got shape {tuple(x.shape)}")
    means = torch.as_tensor(means, dtype=x.dtype, device=x.device)
    stds = torch.as_tensor(stds, dtype=x.dtype, device=x.device)
    if means.shape != stds.shape:
        raise ValueError(f"means {tuple(means.shape)} and stds {tuple(stds.shape)} must have the same shape")
    if (stds <= 0).any():
        raise ValueError("every std must be > 0")
    if weights is None:
        weights = torch.full_like(means, 1.0 / means.shape[-1])
    weights = torch.as_tensor(weights, dtype=x.dtype, device=x.device)
    if weights.shape != means.shape or (weights < 0).any():
        raise ValueError(f"weights must be non-negative with the shape of means {tuple(means.shape)}")
    normal = torch.distributions.Normal(means.unsqueeze(-2), stds.unsqueeze(-2))  # (..., 1, K)
    log_p = normal.log_prob(x.unsqueeze(-1)) + weights.log().unsqueeze(-2)  # (..., N, K)
    return log_p.logsumexp(-1).exp()


def to_masses(pdf: torch.Tensor) -> torch.Tensor:
    """Probability masses on a uniform grid from density values there, shape ``(..., N)``.

    Each row is divided by its sum (the Riemann sum times ``1/dx``), so that the
    masses sum to exactly 1 and every identity below holds to rounding error,
    whatever the grid spacing. Chapter 01.
    """
    if (pdf < 0).any():
        raise ValueError("a density cannot be negative")
    total = pdf.sum(-1, keepdim=True)
    if (total <= 0).any():
        raise ValueError("a density is zero on the whole grid; widen the grid to cover its mass")
    return pdf / total


def _check_masses(p_data: torch.Tensor, p_g: torch.Tensor) -> None:
    if p_data.shape[-1] != p_g.shape[-1]:
        raise ValueError(
            f"p_data and p_g must live on the same grid (same last dim), got {tuple(p_data.shape)} "
            f"and {tuple(p_g.shape)}"
        )


def value_function(d_logit: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """``V(D, G) = sum_x p_data(x) log D(x) + p_g(x) log(1 - D(x))`` on a grid, in nats.

    ``D`` is given by its logit, ``D(x) = sigmoid(d_logit)`` (what a network
    outputs), so that ``log D`` and ``log(1 - D)`` stay exact where ``D`` rounds to
    0 or 1. ``p_data``, ``p_g`` are masses (see :func:`to_masses`); all broadcast
    to ``(..., N)``; returns ``(...)``. A point with zero mass adds 0. Chapter 01.
    """
    _check_masses(p_data, p_g)
    log_d = F.logsigmoid(d_logit)
    log_1m_d = log_d - d_logit  # log(1 - sigmoid(l)) = log sigmoid(l) - l
    zero = torch.zeros((), dtype=log_d.dtype, device=log_d.device)
    return (torch.where(p_data > 0, p_data * log_d, zero) + torch.where(p_g > 0, p_g * log_1m_d, zero)).sum(-1)


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """The formula ``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` (Goodfellow et al. 2014, Prop. 1).

    Shapes broadcast to ``(..., N)``. Where both densities vanish any ``D`` is
    optimal; 1/2 is returned there. Chapter 01.
    """
    _check_masses(p_data, p_g)
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(torch.finfo(total.dtype).tiny), 0.5)


@small_work
def maximize_discriminator(
    p_data: torch.Tensor, p_g: torch.Tensor, iters: int = 60, max_logit: float = 40.0
) -> torch.Tensor:
    """The logit of the ``D`` that maximises :func:`value_function`, found numerically, shape ``(..., N)``.

    ``V`` is a sum of one term per grid point, each depending on ``D`` at that
    point only, so maximising ``V`` over all functions ``D`` means maximising
    every term ``p_data log D + p_g log(1 - D)`` on its own. This does so by a
    golden-section search over the logit in ``[-max_logit, max_logit]`` (the
    term is concave in the logit): it only *evaluates* the terms, never uses the
    formula for ``D*``. Each iteration shrinks the interval by 0.618; ``D`` comes
    out right to about ``1e-8`` (near its maximum the term is too flat for
    float64 to tell closer logits apart). Chapter 01.
    """
    _check_masses(p_data, p_g)
    p_data, p_g = torch.broadcast_tensors(p_data, p_g)

    def term(logit: torch.Tensor) -> torch.Tensor:
        log_d = F.logsigmoid(logit)
        return p_data * log_d + p_g * (log_d - logit)

    ratio = (math.sqrt(5) - 1) / 2
    lo = torch.full_like(p_data, -max_logit)
    hi = torch.full_like(p_data, max_logit)
    left, right = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    f_left, f_right = term(left), term(right)
    for _ in range(iters):
        go_left = f_left >= f_right  # the maximum lies in [lo, right]: drop (right, hi]
        hi = torch.where(go_left, right, hi)
        lo = torch.where(go_left, lo, left)
        # the surviving inner point is reused; one new point per iteration
        kept, f_kept = torch.where(go_left, left, right), torch.where(go_left, f_left, f_right)
        new = torch.where(go_left, hi - ratio * (hi - lo), lo + ratio * (hi - lo))
        f_new = term(new)
        left, f_left = torch.where(go_left, new, kept), torch.where(go_left, f_new, f_kept)
        right, f_right = torch.where(go_left, kept, new), torch.where(go_left, f_kept, f_new)
    return (lo + hi) / 2


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``KL(p || q) = sum p log(p / q)`` in nats for masses of shape ``(..., N)``; returns ``(...)``. Chapter 01."""
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(-1)


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence ``KL(p || m)/2 + KL(q || m)/2``, ``m = (p + q)/2``, in nats.

    Masses of shape ``(..., N)``; returns ``(...)``, between 0 (``p = q``) and
    ``log 2`` (disjoint supports). Computed from the definition, independently
    of ``V`` and ``D``. Chapter 01.
    """
    _check_masses(p, q)
    m = (p + q) / 2
    return (kl_divergence(p, m) + kl_divergence(q, m)) / 2


# ---------------------------------------------------------------- two-parameter games


def _check_state(w: torch.Tensor) -> None:
    if w.dim() == 0 or w.shape[-1] != 2:
        raise ValueError(f"a game state must have shape (..., 2) = (min player, max player), got {tuple(w.shape)}")


def bilinear_value(w: torch.Tensor) -> torch.Tensor:
    """``L(x, y) = x y`` for states ``(..., 2)``; returns ``(...)``. Chapter 01."""
    _check_state(w)
    return w[..., 0] * w[..., 1]


def _check_gamma(gamma: float | torch.Tensor) -> None:
    bad = (gamma < 0).any() if isinstance(gamma, torch.Tensor) else not gamma >= 0
    if bad:
        raise ValueError(f"the penalty weight gamma must be >= 0 (0 = no penalty), got {gamma}")


def bilinear_field(w: torch.Tensor, gamma: float | torch.Tensor = 0.0) -> torch.Tensor:
    """Descent-ascent field of ``min_x max_y x y``: ``v = (-y, x - gamma y)``, shape ``(..., 2)``. Chapter 01.

    With ``gamma = 0`` it turns every state by 90 degrees: it is tangent to circles around
    the equilibrium ``(0, 0)``, so following it exactly (the ODE) circles for ever. ``gamma``
    penalises the max player as R1 does in the Dirac-GAN: y maximises ``x y - gamma/2 y^2``
    (the widget of chapter 01 moves it); the eigenvalues at ``(0, 0)`` become
    ``(-gamma +- sqrt(gamma^2 - 4)) / 2``. Float or tensor broadcasting to ``w.shape[:-1]``.
    """
    _check_state(w)
    _check_gamma(gamma)
    x, y = w[..., 0], w[..., 1]
    return torch.stack([-y, x - gamma * y], dim=-1)


def dirac_gan_value(w: torch.Tensor) -> torch.Tensor:
    """Dirac-GAN objective ``L(theta, psi) = f(psi theta) + f(0)``, ``f(t) = -log(1 + e^{-t})``.

    Mescheder et al. (2018), Sec. 2.2: G is a point mass at ``theta``, D has
    logit ``psi x``, the data is a point mass at 0. (Their D's logit scores
    "fake", so ``psi`` has the opposite sign of a D that scores "real".) State
    ``(..., 2) = (theta, psi)``, returns ``(...)``. Chapter 01.
    """
    _check_state(w)
    return F.logsigmoid(w[..., 0] * w[..., 1]) - math.log(2.0)


def dirac_gan_field(w: torch.Tensor, gamma: float | torch.Tensor = 0.0) -> torch.Tensor:
    """Dirac-GAN field ``v = (-psi f'(psi theta), theta f'(psi theta) - gamma psi)``, shape ``(..., 2)``.

    ``f'(t) = sigmoid(-t)``. ``gamma`` is the R1 weight: the penalty
    ``gamma/2 E_data |grad_x D|^2 = gamma psi^2 / 2`` on D adds ``-gamma psi`` to
    D's component (Mescheder et al. 2018, Sec. 4.1); ``gamma = 0`` is the
    unregularised game. ``gamma`` is a float or a tensor broadcasting to
    ``w.shape[:-1]`` (one weight per state, to sweep weights in one batch). Chapter 01.
    """
    _check_state(w)
    _check_gamma(gamma)
    theta, psi = w[..., 0], w[..., 1]
    f_prime = torch.sigmoid(-psi * theta)
    return torch.stack([-psi * f_prime, theta * f_prime - gamma * psi], dim=-1)


def descent_ascent_field(value: Callable[[torch.Tensor], torch.Tensor], w: torch.Tensor) -> torch.Tensor:
    """``v = (-dL/dw0, +dL/dw1)`` of any scalar game ``value(w)`` by autograd, at states ``(..., 2)``.

    The reference the hand-written fields are checked against (tests, chapter 01).
    ``value`` maps one state of shape ``(2,)`` to a scalar.
    """
    _check_state(w)
    grad = torch.func.vmap(torch.func.grad(value))(w.reshape(-1, 2)).reshape(w.shape)
    return grad * torch.tensor([-1.0, 1.0], dtype=w.dtype, device=w.device)


def _step_size(h: float | torch.Tensor, w0: torch.Tensor) -> torch.Tensor:
    h = torch.as_tensor(h, dtype=w0.dtype, device=w0.device)
    if not (torch.isfinite(h) & (h > 0)).all():
        raise ValueError(f"step size h must be a finite number > 0 (e.g. 0.1), got {h.tolist()}")
    try:
        torch.broadcast_shapes(h.shape, w0.shape[:-1])
    except RuntimeError as error:
        raise ValueError(
            f"step size h must be a float or broadcast to the batch shape {tuple(w0.shape[:-1])}, "
            f"got shape {tuple(h.shape)}"
        ) from error
    return h.unsqueeze(-1)  # (..., 1): one step per state, the same for both players


def _check_run(w0: torch.Tensor, steps: int) -> None:
    _check_state(w0)
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")


@small_work
def simultaneous_gda(field: Field, w0: torch.Tensor, h: float | torch.Tensor, steps: int) -> torch.Tensor:
    """Simultaneous gradient descent-ascent ``w <- w + h v(w)``: both players step from the same state.

    ``w0`` is ``(..., 2)`` (a batch of starts), ``h`` a float or a tensor of
    shape ``w0.shape[:-1]`` (a batch of step sizes). Returns the path,
    ``(steps + 1, ..., 2)``, starting with ``w0``. Chapter 01.
    """
    _check_run(w0, steps)
    h = _step_size(h, w0)
    path = [w0]
    for _ in range(steps):
        path.append(path[-1] + h * field(path[-1]))
    return torch.stack(path)


@small_work
def alternating_gda(field: Field, w0: torch.Tensor, h: float | torch.Tensor, steps: int) -> torch.Tensor:
    """Alternating gradient descent-ascent: the max player (D) steps first, then the min player (G)
    steps from the updated state, as in a GAN training loop.

    Shapes as in :func:`simultaneous_gda`; returns ``(steps + 1, ..., 2)``. Chapter 01.
    """
    _check_run(w0, steps)
    h = _step_size(h, w0)
    path = [w0]
    for _ in range(steps):
        w = path[-1]
        psi = w[..., 1] + h[..., 0] * field(w)[..., 1]  # (1) update D
        w = torch.stack([w[..., 0], psi], dim=-1)
        theta = w[..., 0] + h[..., 0] * field(w)[..., 0]  # (2) update G against the new D
        path.append(torch.stack([theta, psi], dim=-1))
    return torch.stack(path)


SCHEMES = ("simultaneous", "alternating")
"""How the two players step: from the same state, or D first and then G against the new D."""


def step_growth(field: Field, h: float, scheme: str = "simultaneous",
                equilibrium: tuple[float, float] = (0.0, 0.0)) -> float:
    """Spectral radius of one linearised step at ``equilibrium``: how much a small error grows per step.

    One step of :func:`simultaneous_gda` or :func:`alternating_gda` maps a state near the
    equilibrium ``w*`` to ``w* + M (w - w*)`` to first order; this returns the largest ``|eigenvalue|``
    of ``M`` (autograd Jacobian, float64). Above 1 the iterates spiral out, at 1 they cycle, below
    1 they converge. On ``x y``: ``sqrt(1 + h^2)`` simultaneous, 1 alternating (``h < 2``).
    Chapter 01's widget shows it beside the measured distance.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    w_star = torch.tensor(equilibrium, dtype=torch.float64)
    run = simultaneous_gda if scheme == "simultaneous" else alternating_gda
    jacobian = torch.func.jacrev(lambda w: run(field, w, h, 1)[-1])(w_star)  # (2, 2)
    return torch.linalg.eigvals(jacobian).abs().max().item()


def bilinear_simultaneous_radius(
    r0: float | torch.Tensor, h: float | torch.Tensor, t: float | torch.Tensor
) -> torch.Tensor:
    """Closed form ``r_t = r0 (1 + h^2)^(t/2)`` of simultaneous GDA on ``x y``.

    One step multiplies the state by ``[[1, -h], [h, 1]]``, which is ``sqrt(1 + h^2)``
    times a rotation. Broadcasts; float64 unless a tensor argument is floating. Chapter 01.
    """
    tensors = [v for v in (r0, h, t) if isinstance(v, torch.Tensor)]
    like = tensors[0] if tensors else torch.zeros((), dtype=torch.float64)
    dtype = like.dtype if like.is_floating_point() else torch.float64
    r0, h, t = (torch.as_tensor(v, dtype=dtype, device=like.device) for v in (r0, h, t))
    return r0 * (1 + h**2) ** (t / 2)


def bilinear_alternating_invariant(w: torch.Tensor, h: float | torch.Tensor) -> torch.Tensor:
    """``Q = x^2 + y^2 + h x y``, conserved exactly by :func:`alternating_gda` on ``x y``.

    For ``h < 2`` ``Q`` is positive definite, so the iterates stay on an ellipse:
    ``(1 - h/2) r^2 <= Q <= (1 + h/2) r^2``. States ``(..., 2)``, returns ``(...)``. Chapter 01.
    """
    _check_state(w)
    x, y = w[..., 0], w[..., 1]
    return x**2 + y**2 + torch.as_tensor(h, dtype=w.dtype, device=w.device) * x * y


def circle_starts(
    n: int, radius: float = 1.0, device: torch.device | str | None = None, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """``n`` starting states spread evenly on a circle around ``(0, 0)``, shape ``(n, 2)``. Chapter 01."""
    if n < 1 or radius <= 0:
        raise ValueError(f"need n >= 1 and radius > 0, got n={n}, radius={radius}")
    angle = 2 * math.pi * torch.arange(n, device=device, dtype=dtype) / n + math.pi / 4
    return radius * torch.stack([angle.cos(), angle.sin()], dim=-1)
