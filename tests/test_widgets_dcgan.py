"""Chapter 06's widgets, driven from Python: the checkpoint slider and the latent walk."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from gancourse.metrics import load_classifier  # noqa: E402
from gancourse.models.dcgan import DCGANGenerator  # noqa: E402
from gancourse.widgets.checkpoints import CheckpointSlider  # noqa: E402
from gancourse.widgets.latent import LatentWalk  # noqa: E402


def _scores(T=4):
    g = torch.Generator().manual_seed(0)
    return {"step": torch.arange(T) * 100, "fid": torch.tensor([300.0, 120.0, 80.0, 60.0])[:T],
            "grid": torch.rand(T, 8, 1, 28, 28, generator=g) * 2 - 1}


def test_slider_shows_the_chosen_checkpoint():
    slider = CheckpointSlider(_scores(), images_per_step=64, nrow=4)
    assert slider.index == 3 and slider.view.n_draws == 1  # starts at the last checkpoint
    first_png = slider.view.png
    slider.slider.value = 1  # as a learner drags it
    assert slider.index == 1 and slider.view.n_draws == 2 and slider.view.png != first_png
    slider.select(2)
    assert slider.slider.value == 2 and slider.view.n_draws == 3  # one redraw, not two
    fig = slider.figure(0)
    assert "step 0" in fig.axes[0].get_title() and "300.0" in fig.axes[1].get_legend().get_texts()[1].get_text()


def test_slider_reports_a_bad_checkpoint_in_the_widget():
    slider = CheckpointSlider(_scores())
    slider.message.guard(slider.select)(9)
    assert "checkpoint index must be an int in [0, 3]" in slider.message.text and slider.index == 3
    with pytest.raises(ValueError, match="'step', 'fid' and 'grid'"):
        CheckpointSlider({"step": torch.arange(3)})
    bad = _scores()
    bad["fid"] = bad["fid"][:2]
    with pytest.raises(ValueError, match="one step, FID and grid per checkpoint"):
        CheckpointSlider(bad)


@pytest.fixture(scope="module")
def walk():
    torch.manual_seed(0)
    return LatentWalk(DCGANGenerator(z_dim=16, width=8), classifier=load_classifier(), n_points=5, seed=3)


def test_walk_moves_along_the_path(walk):
    draws, png = walk.view.n_draws, walk.view.png
    walk.t_slider.value = 1.0
    assert walk.view.n_draws == draws + 1 and walk.view.png != png
    x, norms, probs = walk.images()
    assert x.shape == (6, 1, 28, 28) and probs.shape == (6, 10)
    torch.testing.assert_close(x[-1], x[4])  # the image at t = 1 is the end of the strip
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(6))
    assert walk.G.training  # the walk puts G back in the mode it found it in


def test_walk_paths_spherical_keeps_norms_linear_dips(walk):
    walk.kind_choice.value = "linear"
    _, norms_linear, _ = walk.images()
    walk.kind_choice.value = "spherical"
    _, norms_spherical, _ = walk.images()
    # at t = 1/2 the spherical point is the linear one divided by cos(w / 2), w the angle between z0 and z1
    cos_w = walk.z0 @ walk.z1 / (walk.z0.norm() * walk.z1.norm())
    half = torch.cos(torch.arccos(cos_w) / 2)
    torch.testing.assert_close(norms_spherical[2], norms_linear[2] / half)
    assert norms_linear[2] < norms_spherical[2]


def test_new_end_points_and_errors(walk):
    z0, z1, draws = walk.z0.clone(), walk.z1.clone(), walk.view.n_draws
    walk.new_end.click()
    assert torch.equal(walk.z0, z0) and not torch.equal(walk.z1, z1) and walk.view.n_draws == draws + 1
    walk.new_start.click()
    assert not torch.equal(walk.z0, z0)
    walk.points_box.value = 7
    assert walk.images()[0].shape[0] == 8
    walk.message.guard(walk.redraw_end)(5)
    assert "which must be 0 (start) or 1 (end)" in walk.message.text
    walk.t_slider.value = 0.25  # the next good redraw clears the message
    assert walk.message.text == ""
    with pytest.raises(ValueError, match="z_dim"):
        LatentWalk(torch.nn.Linear(3, 3))
