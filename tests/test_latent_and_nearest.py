"""Latent interpolation and directions, and nearest training images, against direct formulas and loops."""

import math

import pytest
import torch

from gancourse.diagnostics.latent import class_direction, expected_norm, interpolate, lerp, random_direction_like, slerp
from gancourse.metrics.nearest import memorization_ratio, nearest_neighbours


def test_lerp_is_the_straight_line():
    z0, z1 = torch.tensor([1.0, 0.0, 2.0]), torch.tensor([3.0, -2.0, 2.0])
    torch.testing.assert_close(lerp(z0, z1, torch.tensor([0.0, 0.25, 1.0])),
                               torch.tensor([[1.0, 0.0, 2.0], [1.5, -0.5, 2.0], [3.0, -2.0, 2.0]]))


def test_slerp_follows_the_great_circle():
    # in the plane: from (1, 0) to (0, 1) the point at t is (cos(t pi/2), sin(t pi/2))
    t = torch.tensor([0.0, 1 / 3, 0.5, 1.0])
    expected = torch.stack([torch.cos(t * math.pi / 2), torch.sin(t * math.pi / 2)], dim=1)
    torch.testing.assert_close(slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), t), expected)
    # equal norms are kept along the path; the straight line dips towards the origin
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(64, generator=g), torch.randn(64, generator=g)
    z1 = z1 * z0.norm() / z1.norm()
    path = slerp(z0, z1, 9)
    torch.testing.assert_close(path.norm(dim=1), z0.norm().expand(9))
    torch.testing.assert_close(path[[0, -1]], torch.stack([z0, z1]))
    assert lerp(z0, z1, 9)[4].norm() < 0.8 * z0.norm()  # nearly orthogonal in 64-d: the midpoint is ~0.71 |z|


def test_slerp_of_parallel_vectors_falls_back_to_the_line():
    z0 = torch.tensor([1.0, 2.0])
    torch.testing.assert_close(slerp(z0, 3 * z0, 3), lerp(z0, 3 * z0, 3))


def test_interpolate_picks_by_name_and_refuses_bad_input():
    z0, z1 = torch.randn(4), torch.randn(4)
    torch.testing.assert_close(interpolate(z0, z1, 5, "linear"), lerp(z0, z1, 5))
    torch.testing.assert_close(interpolate(z0, z1, 5), slerp(z0, z1, 5))
    with pytest.raises(ValueError, match="linear, spherical"):
        interpolate(z0, z1, 5, "cubic")
    with pytest.raises(ValueError, match="same shape"):
        lerp(z0, torch.randn(5), 3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        slerp(z0, z1, torch.tensor([1.5]))
    with pytest.raises(ValueError, match="at least 2"):
        slerp(z0, z1, 1)


def test_class_direction_is_the_difference_of_class_means():
    z = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [0.0, 6.0], [9.0, 9.0]])
    classes = torch.tensor([1, 1, 3, 3, 5])
    torch.testing.assert_close(class_direction(z, classes, source=1, target=3), torch.tensor([-1.0, 5.0]))
    with pytest.raises(ValueError, match="no sample of class 7"):
        class_direction(z, classes, 1, 7)


def test_random_direction_keeps_the_norm_and_expected_norm_is_right():
    v = torch.tensor([3.0, 4.0, 0.0])
    r = random_direction_like(v, torch.Generator().manual_seed(1))
    assert r.norm().item() == pytest.approx(5.0) and not torch.allclose(r, v)
    z = torch.randn(20000, 64, generator=torch.Generator().manual_seed(2))
    assert expected_norm(64) == pytest.approx(z.norm(dim=1).mean().item(), rel=0.01)
    assert expected_norm(1) == pytest.approx(math.sqrt(2 / math.pi))  # E|N(0, 1)|


def test_nearest_neighbours_match_a_loop():
    g = torch.Generator().manual_seed(3)
    data = torch.rand(50, 1, 4, 4, generator=g)
    x = torch.cat([data[[7, 21]] + 1e-4, torch.rand(3, 1, 4, 4, generator=g)])  # two near-copies, three new
    distances, index = nearest_neighbours(x, data, chunk=16)  # chunks of 16: the best may sit in any chunk
    for n in range(len(x)):
        d = torch.stack([(x[n] - data[m]).norm() for m in range(len(data))])
        assert index[n] == d.argmin() and distances[n].item() == pytest.approx(d.min().item(), rel=1e-5)
    assert index[:2].tolist() == [7, 21] and (distances[:2] < 1e-3).all()
    with pytest.raises(ValueError, match="one shape"):
        nearest_neighbours(torch.zeros(2, 1, 4, 4), torch.zeros(5, 1, 5, 5))


def test_memorization_ratio_separates_copies_from_new_images():
    g = torch.Generator().manual_seed(4)
    train, held_out = torch.rand(200, 1, 6, 6, generator=g), torch.rand(40, 1, 6, 6, generator=g)
    copies = train[:40] + 0.01 * torch.randn(40, 1, 6, 6, generator=g)
    new = torch.rand(40, 1, 6, 6, generator=g)
    assert memorization_ratio(copies, held_out, train) < 0.1
    assert 0.8 < memorization_ratio(new, held_out, train) < 1.25
