"""Every plot returns its Figure, draws on a given ax, leaves rcParams alone, and draws the right data."""

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from gancourse import datasets, plots  # noqa: E402
from gancourse.diagnostics.health import Symptom  # noqa: E402
from gancourse.training.history import History  # noqa: E402


def _linear_d(w=(3.0, 0.0), b=0.0):
    D = nn.Linear(2, 1)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([w]))
        D.bias.fill_(b)
    return D


def _history(n_seeds=None, steps=100):
    gen = torch.Generator().manual_seed(0)
    shape = (steps,) if n_seeds is None else (steps, n_seeds)
    return History.from_dict({"d_loss": 1.3 + 0.1 * torch.randn(shape, generator=gen),
                              "g_loss": 0.8 + 0.1 * torch.randn(shape, generator=gen),
                              "step": torch.arange(steps) * 10})


def _cases():
    ring = datasets.ring()
    x_real = ring.sample(200, torch.Generator().manual_seed(1))
    x_fake = 0.3 * torch.randn(100, 2, generator=torch.Generator().manual_seed(2))
    images = torch.rand(10, 1, 8, 8, generator=torch.Generator().manual_seed(3)) * 2 - 1
    return {
        "sample_grid": lambda ax: plots.sample_grid(images, nrow=5, ax=ax, title="samples"),
        "points_2d": lambda ax: plots.points_2d(x_real, x_fake, ax=ax, centers=ring.centers),
        "decision_surface": lambda ax: plots.decision_surface(_linear_d(), x_real, x_fake, ax=ax),
        "loss_curves": lambda ax: plots.loss_curves(_history(), ax=ax, quality=([0, 500, 990], [80.0, 40.0, 30.0])),
        "grad_norm_bars": lambda ax: plots.grad_norm_bars({"net.0": torch.tensor(1e-4), "net.2": torch.tensor(0.1)},
                                                          ax=ax),
        "d_output_histogram": lambda ax: plots.d_output_histogram(torch.rand(50), torch.rand(50) * 0.1, ax=ax),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_returns_figure_draws_on_given_ax_and_keeps_rcparams(name):
    draw = _cases()[name]
    rc_before = dict(matplotlib.rcParams)
    fig = draw(None)
    assert isinstance(fig, matplotlib.figure.Figure) and fig.axes
    fig_given, ax = plt.subplots()
    assert draw(ax) is fig_given is ax.figure
    assert ax.has_data() or ax.images
    assert dict(matplotlib.rcParams) == rc_before
    plt.close(fig)
    plt.close(fig_given)


def test_sample_grid_shows_the_images_in_their_places():
    images = -torch.ones(4, 1, 3, 3)
    images[1] = 1.0  # the second image is white, the others black
    fig = plots.sample_grid(images, nrow=2)
    shown = fig.axes[0].images[0].get_array()  # (H', W', 3) in [0, 1]
    assert shown.shape == (2 * 3 + 3 * 2, 2 * 3 + 3 * 2, 3)  # 2x2 images of 3 px and 2 px padding
    np.testing.assert_allclose(shown[2:5, 2:5], 0.0)  # image 0: -1 -> black
    np.testing.assert_allclose(shown[2:5, 7:10], 1.0)  # image 1: +1 -> white
    np.testing.assert_allclose(shown[0, :], 1.0)  # white padding
    plt.close(fig)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        plots.sample_grid(torch.zeros(2, 5, 8, 8))


def test_points_2d_plots_the_given_points():
    x_real, x_fake = torch.tensor([[0.0, 1.0], [2.0, 3.0]]), torch.tensor([[5.0, 5.0]])
    fig = plots.points_2d(x_real, x_fake)
    offsets = [c.get_offsets() for c in fig.axes[0].collections]
    np.testing.assert_allclose(offsets[0], x_real.numpy())
    np.testing.assert_allclose(offsets[1], x_fake.numpy())
    plt.close(fig)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plots.points_2d(torch.zeros(3, 3), None)


def test_decision_surface_arrows_follow_minus_the_loss_gradient():
    # D(x) = sigmoid(3 x_0): G's samples are pushed towards +x_0, and harder where D rejects them
    D = _linear_d()
    x_fake = torch.tensor([[-1.0, 0.0], [0.0, 0.5], [1.0, -0.5]])
    fig = plots.decision_surface(D, torch.tensor([[2.0, 0.0]]), x_fake, extent=(-2, 3, -2, 2))
    quiver = next(c for c in fig.axes[0].collections if isinstance(c, matplotlib.quiver.Quiver))
    expected_u = 3.0 * (1.0 - torch.sigmoid(3.0 * x_fake[:, 0]))  # -d/dx_0 softplus(-3 x_0)
    np.testing.assert_allclose(quiver.U, expected_u.numpy(), rtol=1e-5)
    np.testing.assert_allclose(quiver.V, 0.0, atol=1e-7)
    assert fig.axes[0].get_xlim() == (-2, 3)
    plt.close(fig)
    # saturating loss: arrows vanish where D confidently rejects (chapter 02)
    fig = plots.decision_surface(D, torch.tensor([[2.0, 0.0]]), x_fake, loss="minimax")
    quiver = next(c for c in fig.axes[0].collections if isinstance(c, matplotlib.quiver.Quiver))
    np.testing.assert_allclose(quiver.U, (3.0 * torch.sigmoid(3.0 * x_fake[:, 0])).numpy(), rtol=1e-5)
    assert quiver.U[0] < 0.1 * quiver.U[2]
    plt.close(fig)


def test_decision_surface_with_g_draws_g_of_z_and_its_motion():
    torch.manual_seed(0)
    G, z = nn.Linear(2, 2), torch.randn(20, 2)
    fig = plots.decision_surface(_linear_d(), torch.zeros(5, 2), G=G, z=z, max_arrows=7)
    quiver = next(c for c in fig.axes[0].collections if isinstance(c, matplotlib.quiver.Quiver))
    assert quiver.N == 7
    plt.close(fig)
    with pytest.raises(ValueError, match="not both"):
        plots.decision_surface(_linear_d(), torch.zeros(5, 2), torch.zeros(3, 2), G=G, z=z)


def test_loss_curves_draw_the_records_the_quality_axis_and_seed_bands():
    history = _history(n_seeds=3)
    fig = plots.loss_curves(history, quality=([0, 500, 990], [80.0, 40.0, 30.0]),
                            symptoms=[Symptom("oscillation", 500, "...", "04")])
    ax, twin = fig.axes
    d_line = ax.get_lines()[0]
    np.testing.assert_allclose(d_line.get_xdata(), history.steps.numpy())
    np.testing.assert_allclose(d_line.get_ydata(), history["d_loss"].mean(1).numpy(), rtol=1e-6)
    assert len(ax.collections) == 2  # one min-max band per loss
    np.testing.assert_allclose(twin.get_lines()[0].get_ydata(), [80.0, 40.0, 30.0])
    assert twin.get_ylabel() == "FID"
    (marker,) = [line for line in ax.get_lines() if line.get_linestyle() == ":"]  # the symptom, at its step
    assert list(marker.get_xdata()) == [500, 500]
    assert matplotlib.colors.to_hex(marker.get_color()) == matplotlib.colors.to_hex("grey")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "D loss (mean of 3 seeds)", "G loss (mean of 3 seeds)", "FID"]
    plt.close(fig)
    n_figures = len(plt.get_fignums())
    with pytest.raises(ValueError, match="equal length"):
        plots.loss_curves(history, quality=([0, 1], [1.0]))
    assert len(plt.get_fignums()) == n_figures  # bad input leaves no half-drawn figure behind


def test_grad_norm_bars_heights_and_seed_spread():
    fig = plots.grad_norm_bars({"a": torch.tensor(1e-3), "b": torch.tensor(2.0)})
    ax = fig.axes[0]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], [1e-3, 2.0])
    assert ax.get_yscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    plt.close(fig)
    fig = plots.grad_norm_bars({"a": torch.tensor([1.0, 3.0]), "b": torch.tensor([2.0, 2.0])}, log=False)
    np.testing.assert_allclose([p.get_height() for p in fig.axes[0].patches], [2.0, 2.0])
    assert fig.axes[0].get_yscale() == "linear"
    plt.close(fig)


def test_d_output_histogram_counts_and_rejects_logits():
    fig = plots.d_output_histogram(torch.tensor([0.95, 0.97, 0.99]), torch.tensor([0.01, 0.6]), bins=10)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert fig.axes[0].get_xlim() == (0, 1)  # probabilities: the whole [0, 1], no margin
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("D's output (probability of real)", "samples")
    assert heights[:10] == [0] * 9 + [3]  # the real samples all fall in the last bin
    assert heights[10:] == [1, 0, 0, 0, 0, 0, 1, 0, 0, 0]
    plt.close(fig)
    with pytest.raises(ValueError, match="probabilities"):
        plots.d_output_histogram(torch.tensor([2.0]), torch.tensor([0.1]))


def test_seeds_points_draws_one_panel_per_seed_shown():
    ring = datasets.ring()
    fakes = torch.stack([ring.sample(50, torch.Generator().manual_seed(s)) for s in range(5)])  # (S, N, 2)
    fig = plots.seeds_points(ring.sample(100, torch.Generator().manual_seed(9)), fakes, centers=ring.centers,
                             titles=[f"s{s}" for s in range(5)], n_show=3)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["s0", "s1", "s2"]
    assert np.allclose(shown[2].collections[1].get_offsets(), fakes[2].numpy())  # seed 2's samples in panel 2
    plt.close(fig)
    with pytest.raises(ValueError, match=r"\(S, N, 2\)"):
        plots.seeds_points(None, fakes[0])


def test_mode_shares_bars_for_the_ring_and_a_map_with_crosses_for_the_grid():
    ring, grid = datasets.ring(), datasets.grid()
    counts = torch.zeros(2, 8)
    counts[0, :4], counts[1] = 5, 1  # seed 0 on half the modes, seed 1 even
    fig = plots.mode_shares(counts, ring.centers)
    heights = [patch.get_height() for patch in fig.axes[0].patches]
    assert np.allclose(heights, [0.25] * 4 + [0.0] * 4)
    assert fig.axes[0].get_shared_y_axes().joined(fig.axes[0], fig.axes[1])  # bars of the seeds on one scale
    plt.close(fig)
    counts = torch.ones(1, 25)
    counts[0, 7] = 0  # mode 7 of the grid is missed
    fig = plots.mode_shares(counts, grid.centers)
    ax = fig.axes[0]
    (cross,) = ax.lines
    assert np.allclose(np.c_[cross.get_xdata(), cross.get_ydata()], grid.centers[7:8].numpy())
    image = ax.images[0].get_array()
    row, col = (grid.centers[7, 1] / 2 + 2).int(), (grid.centers[7, 0] / 2 + 2).int()
    assert image[row, col] == 0 and np.isclose(image.sum(), 1.0)  # the missed mode's cell is blank, shares sum to 1
    # the grid's modes sit at -4, -2, ..., 4: each cell is 2 wide, centred on its mode
    assert ax.images[0].get_extent() == [-5.0, 5.0, -5.0, 5.0]
    assert fig.axes[-1].get_ylabel() == "share of high-quality samples"  # the colour bar says what colour means
    plt.close(fig)
    with pytest.raises(ValueError, match="K = 8 modes"):
        plots.mode_shares(torch.ones(2, 5), ring.centers)


def _spy_on_contourf(monkeypatch) -> dict:
    """Record the (X, Y, Z) arrays that decision_surface hands to contourf: the colour surface as drawn."""
    drawn = {}
    contourf = matplotlib.axes.Axes.contourf

    def spy(self, X, Y, Z, *args, **kwargs):
        drawn.update(X=np.asarray(X, dtype=float), Y=np.asarray(Y, dtype=float), Z=np.asarray(Z, dtype=float))
        return contourf(self, X, Y, Z, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "contourf", spy)
    return drawn


def test_decision_surface_colours_are_sigmoid_of_D_at_each_drawn_point(monkeypatch):
    # D's logit 2 x - 3 y + 0.5 is not symmetric in x and y, and the box is not square: a grid whose
    # x and y are swapped when D is evaluated paints another function
    drawn = _spy_on_contourf(monkeypatch)
    extent, resolution = (-2.0, 3.0, -1.0, 1.0), 6
    fig = plots.decision_surface(_linear_d(w=(2.0, -3.0), b=0.5), torch.tensor([[2.0, 0.0]]),
                                 torch.tensor([[-1.0, 0.5]]), extent=extent, resolution=resolution, arrows=False)
    X, Y, Z = drawn["X"], drawn["Y"], drawn["Z"]
    assert X.shape == Y.shape == Z.shape == (resolution, resolution)
    # contourf colours the point (X[i, j], Y[i, j]) with Z[i, j]: D by hand at every drawn point
    by_hand = 1.0 / (1.0 + np.exp(-(2.0 * X - 3.0 * Y + 0.5)))
    np.testing.assert_allclose(Z, by_hand, rtol=1e-5)
    # the grid covers the box, evenly, both axes
    np.testing.assert_allclose(np.unique(X), np.linspace(-2.0, 3.0, resolution), rtol=1e-6)
    np.testing.assert_allclose(np.unique(Y), np.linspace(-1.0, 1.0, resolution), rtol=1e-6)
    # corners, read off by hand: top-left (-2, 1) is fake-looking, bottom-right (3, -1) real-looking
    top_left = Z[(X == X.min()) & (Y == Y.max())].item()
    bottom_right = Z[(X == X.max()) & (Y == Y.min())].item()
    assert top_left == pytest.approx(1 / (1 + np.exp(6.5)), rel=1e-4)
    assert bottom_right == pytest.approx(1 / (1 + np.exp(-9.5)), rel=1e-4)
    plt.close(fig)


def test_decision_surface_arrows_are_how_a_gradient_step_of_G_moves_each_sample():
    # G(z) = A z + c and D's logit w.x + b: G's non-saturating loss is L = mean_i softplus(-(w.x_i + b)).
    # A plain gradient step of size lr changes A by -lr dL/dA and c by -lr dL/dc, so sample k moves by
    # lr * sum_i s_i (z_i.z_k + 1) w / N with s_i = sigmoid(-(w.x_i + b)): along w, towards "real"
    torch.manual_seed(0)
    G, z = nn.Linear(2, 2), torch.randn(6, 2)
    w, b = torch.tensor([1.5, -0.5]), 0.2
    fig = plots.decision_surface(_linear_d(w=tuple(w.tolist()), b=b), torch.zeros(3, 2), G=G, z=z)
    quiver = next(c for c in fig.axes[0].collections if isinstance(c, matplotlib.quiver.Quiver))
    with torch.no_grad():
        x = z @ G.weight.T + G.bias
        s = torch.sigmoid(-(x @ w + b))  # (N,)
        expected = (s[:, None] * (z @ z.T + 1.0)).sum(0)[:, None] * w / len(z)  # (N, 2)
    np.testing.assert_allclose(quiver.get_offsets(), x.numpy(), rtol=1e-5, atol=1e-6)  # arrows start at G(z)
    np.testing.assert_allclose(np.c_[quiver.U, quiver.V], expected.numpy(), rtol=1e-4, atol=1e-7)
    assert (np.c_[quiver.U, quiver.V] @ w.numpy() > 0).all()  # every arrow points the way D calls real
    plt.close(fig)


def test_decision_surface_default_box_is_the_points_with_a_fifth_of_their_spread_around():
    x_real, x_fake = torch.tensor([[0.0, 0.0], [4.0, 1.0]]), torch.tensor([[1.0, 2.0]])
    fig = plots.decision_surface(_linear_d(), x_real, x_fake, arrows=False, resolution=4)
    ax = fig.axes[0]
    # by hand: x in [0, 4], y in [0, 2]; the larger spread is 4, so 0.8 on each side of both axes
    np.testing.assert_allclose(ax.get_xlim(), (-0.8, 4.8), rtol=1e-6)
    np.testing.assert_allclose(ax.get_ylim(), (-0.8, 2.8), rtol=1e-6)
    assert fig.axes[1].get_ylabel() == "D(x): probability of real"  # the colour bar
    plt.close(fig)
    with pytest.raises(ValueError, match=r"x_fake must be 2-D points"):
        plots.decision_surface(_linear_d(), x_real, torch.zeros(3, 3))


def test_loss_curves_axis_labels():
    fig = plots.loss_curves(_history())
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("step", "loss")
    plt.close(fig)


def test_d_output_histogram_real_is_blue_and_fake_orange_even_on_a_busy_ax():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])  # the ax's colour cycle has moved on: colours must be set, not inherited
    plots.d_output_histogram(torch.tensor([0.9]), torch.tensor([0.1]), ax=ax, bins=2)
    real, fake = ax.patches[:2], ax.patches[2:]
    assert all(np.allclose(p.get_facecolor()[:3], matplotlib.colors.to_rgb("tab:blue")) for p in real)
    assert all(np.allclose(p.get_facecolor()[:3], matplotlib.colors.to_rgb("tab:orange")) for p in fake)
    plt.close(fig)
