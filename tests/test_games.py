"""Tests of gancourse.theory.games (chapter 01) against hand-computed values, closed forms and naive code."""

import math

import matplotlib.pyplot as plt
import pytest
import torch
from torch.testing import assert_close

from gancourse.theory import games
from gancourse.theory import vector_fields as vf

F64 = torch.float64


def _grid(n: int = 401) -> torch.Tensor:
    return torch.linspace(-6, 6, n, dtype=F64)


# ---------------------------------------------------------------- vector fields


def test_fields_against_hand_computed_values():
    w = torch.tensor([[1.0, 2.0], [-0.5, 3.0]], dtype=F64)
    assert_close(games.bilinear_field(w), torch.tensor([[-2.0, 1.0], [-3.0, -0.5]], dtype=F64))

    # Dirac-GAN at (theta, psi) = (1, 2): f'(2) = sigmoid(-2) = 1 / (1 + e^2)
    f_prime = 1 / (1 + math.e**2)
    w = torch.tensor([1.0, 2.0], dtype=F64)
    assert_close(games.dirac_gan_field(w), torch.tensor([-2 * f_prime, 1 * f_prime], dtype=F64))
    # R1 with gamma = 0.5 adds -gamma * psi = -1 to D's component only
    assert_close(games.dirac_gan_field(w, gamma=0.5), torch.tensor([-2 * f_prime, f_prime - 1.0], dtype=F64))
    # at the equilibrium the field vanishes and D(x) = sigmoid(psi x) = 1/2 everywhere
    assert_close(games.dirac_gan_field(torch.zeros(2, dtype=F64), gamma=1.0), torch.zeros(2, dtype=F64))


def test_fields_are_the_descent_ascent_gradients_of_their_values():
    w = torch.randn(5, 3, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    assert_close(games.bilinear_field(w), games.descent_ascent_field(games.bilinear_value, w))
    assert_close(games.dirac_gan_field(w), games.descent_ascent_field(games.dirac_gan_value, w))
    r1 = lambda s: games.dirac_gan_value(s) - 0.7 / 2 * s[1] ** 2  # D maximises L - gamma/2 psi^2
    assert_close(games.dirac_gan_field(w, gamma=0.7), games.descent_ascent_field(r1, w))


def test_gamma_tensor_gives_one_weight_per_state():
    w = torch.tensor([[1.0, 2.0], [1.0, 2.0]], dtype=F64)
    batched = games.dirac_gan_field(w, gamma=torch.tensor([0.0, 0.5], dtype=F64))
    assert_close(batched[0], games.dirac_gan_field(w[0]))
    assert_close(batched[1], games.dirac_gan_field(w[1], gamma=0.5))


# ---------------------------------------------------------------- bilinear game


def test_simultaneous_radius_follows_closed_form_for_a_batch_of_step_sizes():
    h = torch.tensor([0.01, 0.1, 0.3, 0.5], dtype=F64)
    w0 = torch.tensor([[1.0, 0.0], [0.3, -0.4], [-2.0, 1.0], [0.0, 0.1]], dtype=F64)
    path = games.simultaneous_gda(games.bilinear_field, w0, h, steps=100)  # (101, 4, 2)
    t = torch.arange(101, dtype=F64).unsqueeze(1)
    expected = games.bilinear_simultaneous_radius(w0.norm(dim=-1), h, t)
    assert_close(path.norm(dim=-1), expected, rtol=1e-12, atol=0)
    # it spirals out: every step grows the radius, by sqrt(1 + h^2)
    assert (path.norm(dim=-1).diff(dim=0) > 0).all()


def test_alternating_conserves_its_invariant_and_stays_bounded():
    h = torch.tensor([0.05, 0.2, 0.5, 1.0], dtype=F64)
    w0 = games.circle_starts(4)
    path = games.alternating_gda(games.bilinear_field, w0, h, steps=2000)
    q = games.bilinear_alternating_invariant(path, h)
    assert_close(q, q[0].expand_as(q), rtol=1e-10, atol=0)
    r2 = path.norm(dim=-1) ** 2
    assert (r2 <= (1 + h / 2) / (1 - h / 2) * 1.0 + 1e-9).all()  # both sides of the ellipse bound
    assert (r2 >= (1 - h / 2) / (1 + h / 2) * 1.0 - 1e-9).all()  # ... so it never converges either


def test_alternating_matches_a_naive_loop():
    h, w = 0.3, [0.8, -0.2]
    path = games.alternating_gda(games.bilinear_field, torch.tensor(w, dtype=F64), h, steps=5)
    x, y = w
    for t in range(1, 6):
        y = y + h * x  # D (max player) first
        x = x - h * y  # then G, against the new D
        assert_close(path[t], torch.tensor([x, y], dtype=F64))


def test_dirac_gan_oscillates_without_r1_and_converges_with_it():
    w0 = games.circle_starts(16)
    plain = games.alternating_gda(games.dirac_gan_field, w0, 0.1, steps=500).norm(dim=-1)
    spiral = games.simultaneous_gda(games.dirac_gan_field, w0, 0.1, steps=500).norm(dim=-1)
    r1 = games.simultaneous_gda(lambda w: games.dirac_gan_field(w, 0.3), w0, 0.1, steps=500).norm(dim=-1)
    assert plain.min() > 0.9 and plain.max() < 1.1  # cycles at the distance it started
    assert (spiral[-1] > 1.3).all()
    assert (r1[-1] < 1e-2).all() and (r1[-1] > 0).all()


# ---------------------------------------------------------------- value function, D* and JSD


def _two_densities(n: int = 401) -> tuple[torch.Tensor, torch.Tensor]:
    x = _grid(n)
    p_data = games.to_masses(games.mixture_pdf(x, [-1.0, 2.0], [0.5, 0.8], [0.3, 0.7]))
    p_g = games.to_masses(games.mixture_pdf(x, [0.5], [1.5]))
    return p_data, p_g


def test_mixture_pdf_matches_the_gaussian_formula():
    x = _grid(7)
    pdf = games.mixture_pdf(x, [-1.0, 2.0], [0.5, 0.8], [0.3, 0.7])
    naive = [
        0.3 * math.exp(-((v + 1) ** 2) / (2 * 0.25)) / math.sqrt(2 * math.pi * 0.25)
        + 0.7 * math.exp(-((v - 2) ** 2) / (2 * 0.64)) / math.sqrt(2 * math.pi * 0.64)
        for v in x.tolist()
    ]
    assert_close(pdf, torch.tensor(naive, dtype=F64))


def test_value_function_matches_the_formula_in_d():
    p_data, p_g = _two_densities(51)
    logit = torch.linspace(-3, 3, 51, dtype=F64)
    d = torch.sigmoid(logit)
    naive = (p_data * d.log() + p_g * (1 - d).log()).sum()
    assert_close(games.value_function(logit, p_data, p_g), naive)


def test_numerical_maximiser_of_v_is_the_optimal_discriminator():
    p_data, p_g = _two_densities()
    d_num = torch.sigmoid(games.maximize_discriminator(p_data, p_g))
    d_star = games.optimal_discriminator(p_data, p_g)
    assert (d_num - d_star).abs().max() < 1e-6
    # and no nearby D does better: V at D* beats V at D* with its logit nudged either way
    logit = torch.logit(d_star)
    best = games.value_function(logit, p_data, p_g)
    for nudge in (-1e-3, 1e-3):
        assert games.value_function(logit + nudge, p_data, p_g) < best


def test_optimal_discriminator_is_half_where_no_mass_and_at_equilibrium():
    p = torch.tensor([0.0, 0.25, 0.75], dtype=F64)
    assert_close(games.optimal_discriminator(p, p), torch.full((3,), 0.5, dtype=F64))
    assert_close(torch.sigmoid(games.maximize_discriminator(p, p))[1:], torch.full((2,), 0.5, dtype=F64))


def test_js_divergence_against_a_naive_loop_and_its_bounds():
    p = torch.tensor([0.1, 0.4, 0.5, 0.0], dtype=F64)
    q = torch.tensor([0.3, 0.3, 0.2, 0.2], dtype=F64)
    naive = 0.0
    for pi, qi in zip(p.tolist(), q.tolist(), strict=True):
        m = (pi + qi) / 2
        naive += 0.5 * (pi * math.log(pi / m) if pi > 0 else 0.0) + 0.5 * (qi * math.log(qi / m) if qi > 0 else 0.0)
    assert_close(games.js_divergence(p, q), torch.tensor(naive, dtype=F64))
    assert_close(games.js_divergence(p, p), torch.tensor(0.0, dtype=F64))
    disjoint = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=F64)
    assert_close(games.js_divergence(disjoint, disjoint.flip(0)), torch.tensor(math.log(2), dtype=F64))


def test_max_of_v_is_minus_log4_plus_twice_jsd_for_a_batch_of_generators():
    x = _grid()
    p_data = games.to_masses(games.mixture_pdf(x, [-1.0, 1.0], [0.5, 0.5]))
    mu = torch.linspace(-3, 3, 13, dtype=F64)  # generators: the data shifted by mu
    p_g = games.to_masses(games.mixture_pdf(x, torch.stack([mu - 1, mu + 1], -1), torch.full((13, 2), 0.5, dtype=F64)))
    c = games.value_function(games.maximize_discriminator(p_data, p_g), p_data, p_g)
    assert_close(c, -math.log(4) + 2 * games.js_divergence(p_data, p_g), rtol=0, atol=1e-12)
    assert_close(c[6], torch.tensor(-math.log(4), dtype=F64), rtol=0, atol=1e-12)  # mu = 0: p_g = p_data
    assert (c[mu.abs() > 0.1] > -math.log(4) + 1e-3).all()


# ---------------------------------------------------------------- bad input and plots


def test_bad_input_raises_with_a_helpful_message():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        games.bilinear_field(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="same grid"):
        games.optimal_discriminator(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="batch shape"):
        games.simultaneous_gda(games.bilinear_field, torch.zeros(4, 2), torch.ones(3), steps=2)
    with pytest.raises(ValueError, match="steps"):
        games.alternating_gda(games.bilinear_field, torch.zeros(4, 2), 0.1, steps=-1)
    with pytest.raises(ValueError, match="widen the grid"):
        games.to_masses(torch.zeros(5))
    with pytest.raises(ValueError, match="step size h must be a finite number > 0"):
        games.simultaneous_gda(games.bilinear_field, torch.zeros(4, 2), -0.1, steps=2)
    with pytest.raises(ValueError, match="step size h"):
        games.alternating_gda(games.bilinear_field, torch.zeros(2, 2), torch.tensor([0.1, float("nan")]), steps=2)
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        games.dirac_gan_field(torch.zeros(2), gamma=-1.0)
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        games.bilinear_field(torch.zeros(2, 2), gamma=torch.tensor([0.5, -0.5]))


def test_penalised_bilinear_field_is_the_gradient_of_its_value_and_damps_at_the_predicted_rate():
    w = torch.randn(4, 2, dtype=F64, generator=torch.Generator().manual_seed(1))
    penalised = lambda s: games.bilinear_value(s) - 0.6 / 2 * s[1] ** 2  # y maximises x y - gamma/2 y^2
    assert_close(games.bilinear_field(w, gamma=0.6), games.descent_ascent_field(penalised, w))
    assert_close(games.bilinear_field(w, gamma=0.0), games.bilinear_field(w))
    # the Jacobian [[0, -1], [1, -gamma]] has eigenvalues (-gamma +- sqrt(gamma^2 - 4)) / 2
    for gamma in (0.5, 1.0, 3.0):
        jac = torch.func.jacrev(games.bilinear_field)(torch.zeros(2, dtype=F64), gamma)
        eig = torch.linalg.eigvals(jac)
        root = torch.sqrt(torch.tensor(gamma**2 - 4, dtype=torch.complex128))
        expected = torch.stack([(-gamma + root) / 2, (-gamma - root) / 2])
        assert_close(sorted(eig.tolist(), key=lambda z: (z.real, z.imag)),
                     sorted(expected.tolist(), key=lambda z: (z.real, z.imag)))
    # small steps follow the damped flow: the distance falls like exp(-gamma t h / 2) for gamma < 2
    path = games.simultaneous_gda(lambda s: games.bilinear_field(s, 1.0), torch.tensor([1.0, 0.0], dtype=F64),
                                  1e-3, steps=4000)
    assert 0.7 < path[-1].norm().item() / math.exp(-0.5 * 4.0) < 1.5  # measured: 1.19 (the rotation adds a wobble)


def test_plots_draw_the_given_paths():
    path = games.simultaneous_gda(games.bilinear_field, games.circle_starts(3), 0.2, steps=10)
    fig = vf.plot_game(games.bilinear_field, path)
    ax = fig.axes[0]
    drawn = [line.get_xydata() for line in ax.get_lines() if len(line.get_xydata()) == 11]
    assert len(drawn) == 3
    assert_close(torch.tensor(drawn[0], dtype=F64), path[:, 0])
    fig2 = vf.plot_curves(torch.arange(11), {"radius": path.norm(dim=-1)}, logy=True)
    assert fig2.axes[0].get_yscale() == "log"
    plt.close("all")


def test_plot_curves_draws_median_and_min_max_band_and_every_reference_column():
    x = torch.arange(5, dtype=F64)
    runs = torch.stack([x, 2 * x, 4 * x], dim=1)  # (T, B) = (5, 3): median 2x, band [x, 4x]
    references = {"closed form": torch.stack([x + 1, x + 2], dim=1), "bound": 3 * x}
    fig = vf.plot_curves(x, {"runs": runs, "single": x.square()}, references=references, xlabel="t", ylabel="r",
                         title="radius")
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert_close(torch.tensor(lines[0].get_ydata()), 2 * x)  # the median over the batch
    assert_close(torch.tensor(lines[1].get_ydata()), x.square())
    (band,) = ax.collections  # one band: only the batched curve has one
    vertices = torch.tensor(band.get_paths()[0].vertices)
    assert_close(vertices[:, 1].min(), torch.tensor(0.0, dtype=F64))
    assert_close(vertices[:, 1].max(), 4 * x.max())
    inside = vertices[(vertices[:, 0] == 2.0)][:, 1]  # at x = 2 the band spans [2, 8]
    assert_close(torch.stack([inside.min(), inside.max()]), torch.tensor([2.0, 8.0], dtype=F64))
    dashed = [line for line in lines if line.get_linestyle() == "--"]
    dotted = [line for line in lines if line.get_linestyle() == ":"]
    assert [line.get_ydata().tolist() for line in dashed] == [(x + 1).tolist(), (x + 2).tolist()]
    assert [line.get_ydata().tolist() for line in dotted] == [(3 * x).tolist()]
    assert all(line.get_color() == "black" for line in dashed + dotted)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["runs", "single", "closed form", "bound"]  # each reference named once
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title(), ax.get_yscale()) == ("t", "r", "radius", "linear")
    with pytest.raises(ValueError, match="'runs' has 4 points but x has 5"):
        vf.plot_curves(x, {"runs": runs[:4]})
    plt.close("all")


def test_plot_discriminator_1d_draws_both_densities_d_star_and_the_numeric_maximiser_every_k_points():
    x = torch.linspace(-2, 2, 9, dtype=F64)
    pdf_data, pdf_g = torch.exp(-(x - 1).square()), torch.exp(-(x + 1).square())
    d_star = pdf_data / (pdf_data + pdf_g)
    fig = vf.plot_discriminator_1d(x, pdf_data, pdf_g, d_star, d_numeric=d_star + 0.01, marker_every=4, title="D*")
    density_ax, d_ax = fig.axes
    fills = density_ax.collections
    assert len(fills) == 2
    for fill, pdf in zip(fills, (pdf_data, pdf_g), strict=True):  # the top edge of each filled area is its pdf
        top = torch.tensor(fill.get_paths()[0].vertices)
        for xi, p in zip(x.tolist(), pdf.tolist(), strict=True):
            assert top[top[:, 0] == xi][:, 1].max().item() == pytest.approx(p)
    curve, dots, half = d_ax.get_lines()
    assert_close(torch.tensor(curve.get_ydata()), d_star)
    assert_close(torch.tensor(dots.get_xdata()), x[::4])  # x = -2, 0, 2
    assert_close(torch.tensor(dots.get_ydata()), d_star[::4] + 0.01)
    assert dots.get_marker() == "o" and dots.get_linestyle() == "None"
    assert list(half.get_ydata()) == [0.5, 0.5]
    assert d_ax.get_ylim() == (-0.02, 1.02) and density_ax.get_title() == "D*"
    assert len(d_ax.get_legend().get_texts()) == 4  # p_data, p_g, D*, numerical max
    fig = vf.plot_discriminator_1d(x, pdf_data, pdf_g, d_star)
    assert len(fig.axes[1].get_lines()) == 2  # no dots without d_numeric
    plt.close("all")


def test_step_growth_is_the_closed_form_on_the_bilinear_game():
    for h in (0.05, 0.3, 1.0):
        assert games.step_growth(games.bilinear_field, h) == pytest.approx(math.sqrt(1 + h**2), rel=1e-12)
        assert games.step_growth(games.bilinear_field, h, "alternating") == pytest.approx(1.0, rel=1e-12)
    # Dirac-GAN: near (0, 0) the field is the bilinear one at half speed (f'(0) = 1/2)
    assert games.step_growth(games.dirac_gan_field, 0.2) == pytest.approx(math.sqrt(1 + 0.1**2), rel=1e-12)
    # with R1 (gamma = 1) the simultaneous step matrix I + hJ, J = [[0, -1/2], [1/2, -1]], has a double eigenvalue
    assert games.step_growth(lambda w: games.dirac_gan_field(w, 1.0), 0.1) == pytest.approx(1 - 0.05, rel=1e-6)
    with pytest.raises(ValueError, match="scheme"):
        games.step_growth(games.bilinear_field, 0.1, "extragradient")
