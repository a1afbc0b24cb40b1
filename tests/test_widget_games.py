"""Chapter 01's widget, pressed from Python: the runs it shows against the closed forms of gancourse.theory.games."""

import math

import pytest
import torch

from gancourse.theory import games
from gancourse.widgets.games import GameExplorer


def test_explorer_shows_the_bilinear_spiral_and_its_closed_form():
    explorer = GameExplorer(h=0.2, steps=200)
    assert explorer.view.n_draws == 1 and explorer.view.png is not None
    assert explorer.path.shape == (201, 2)
    assert explorer.path[-1].norm().item() == pytest.approx((1 + 0.2**2) ** 100, rel=1e-12)
    assert explorer.growth == pytest.approx(math.sqrt(1.04), rel=1e-12)
    assert "spirals out" in explorer.message.text
    first = explorer.view.png
    explorer.scheme.value = "alternating"  # a change redraws
    assert explorer.view.n_draws == 2 and explorer.view.png != first
    assert explorer.growth == pytest.approx(1.0, rel=1e-12) and "cycles" in explorer.message.text
    radius = explorer.path.norm(dim=-1)
    q = games.bilinear_alternating_invariant(explorer.path, 0.2)
    torch.testing.assert_close(q, q[0].expand_as(q))  # on its ellipse, as chapter 01 checks
    assert 0.8 < radius.min() and radius.max() < 1.25


def test_r1_gamma_makes_the_dirac_gan_converge_and_the_iteration_slider_extends_the_run():
    explorer = GameExplorer(game="Dirac-GAN", h=0.2, gamma=0.0, steps=100)
    assert explorer.path[-1].norm().item() > 0.99  # no damping: it does not get closer
    explorer.gamma.value = 1.0
    assert explorer.growth == pytest.approx(0.9, rel=1e-6) and "converges" in explorer.message.text
    assert explorer.path[-1].norm().item() < 1e-3
    explorer.steps.value = 300
    assert explorer.path.shape == (301, 2) and explorer.path[-1].norm().item() < 1e-10


def test_a_bad_value_shows_the_message_and_the_widget_keeps_working():
    explorer = GameExplorer()
    draws, png = explorer.view.n_draws, explorer.view.png
    explorer.h.value = -0.5
    assert "step size h must be a finite number > 0" in explorer.message.text
    assert explorer.view.n_draws == draws and explorer.view.png == png  # the last picture stays
    explorer.gamma.value = -1.0
    assert "gamma must be >= 0" in explorer.message.text
    explorer.gamma.value = 0.5
    explorer.h.value = 0.1
    assert explorer.view.n_draws == draws + 1 and "converges" in explorer.message.text
    explorer.gamma.value = 0.0
    explorer.h.value = 5.0
    explorer.steps.value = 1000  # (1 + 25)^500 would overflow float64
    assert "passed distance" in explorer.message.text and explorer.path.norm(dim=-1).max() < 1e12
    with pytest.raises(ValueError, match="unknown game"):
        GameExplorer(game="rock paper scissors")
