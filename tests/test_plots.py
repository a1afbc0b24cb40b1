"""Every plot returns its Figure, draws on a given ax, leaves rcParams alone, and draws the right data."""

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from gancourse import datasets, plots  # noqa: E402
from gancourse.health import Symptom  # noqa: E402
from gancourse.history import History  # noqa: E402


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
    plt.close(fig)
    with pytest.raises(ValueError, match="K = 8 modes"):
        plots.mode_shares(torch.ones(2, 5), ring.centers)
