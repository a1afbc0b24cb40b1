"""The procedural datasets of chapter 05: each passes its own check, perturbed copies fail it,
the renderer projects vertices where a hand computation puts them."""

import math

import pytest
import torch
from torch.testing import assert_close

from gancourse.procedural import counting, faces, render, views

# ---------------------------------------------------------------- counting


@pytest.mark.parametrize("k", [3, [1, 2, 4, 6]])
def test_counting_images_hold_exactly_k_objects(k):
    images, counts = counting.counting_images(300, k, seed=4)
    assert images.shape == (300, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert (counting.count_errors(images, counts) == 0).all()
    expected = {k} if isinstance(k, int) else set(k)
    assert set(counts.tolist()) == expected  # every count of the set is drawn, no other


def test_counting_is_deterministic_and_seeded():
    a, _ = counting.counting_images(50, 3, seed=1)
    b, _ = counting.counting_images(50, 3, seed=1)
    c, _ = counting.counting_images(50, 3, seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_objects_keep_their_gap_and_stay_inside():
    gen = torch.Generator().manual_seed(0)
    obj = counting.sample_objects(200, 5, 28, gap=2.0, generator=gen)
    extent = torch.where(obj.square, obj.radius * math.sqrt(2), obj.radius)
    d = (obj.centers[:, :, None] - obj.centers[:, None]).norm(dim=-1)
    need = extent[:, :, None] + extent[:, None] + 2.0
    off_diagonal = ~torch.eye(5, dtype=torch.bool)
    assert (d[:, off_diagonal] >= need[:, off_diagonal]).all()
    assert ((obj.centers - extent[..., None]) >= 1).all() and ((obj.centers + extent[..., None]) <= 27).all()


def test_perturbed_counting_images_fail():
    images, counts = counting.counting_images(100, 3, seed=5)
    extra = images.clone()
    extra[:, :, 0, 0] = 1.0  # one more object: a lit corner pixel (objects stay a pixel from the border)
    assert (counting.count_errors(extra, counts) == 1).all()
    # two objects joined by a bright bar: one
    objs = counting.sample_objects(100, 2, 28, generator=torch.Generator().manual_seed(5))
    joined = counting.render_objects(objs)
    a, b = objs.centers[:, 0], objs.centers[:, 1]
    for t in torch.linspace(0, 1, 60):  # paint the segment between the first two centres
        p = (a + t * (b - a)).long().clamp(0, 27)
        joined[torch.arange(100), 0, p[:, 1], p[:, 0]] = 1.0
    assert (counting.count_errors(joined, 2) == -1).all()


def test_counting_bad_input():
    with pytest.raises(ValueError, match="do not fit"):
        counting.counting_images(4, 3, size=8)
    with pytest.raises(ValueError, match="shapes"):
        counting.counting_images(4, 3, shapes=("triangle",))
    with pytest.raises(ValueError, match="k must be"):
        counting.counting_images(4, -1)


# ---------------------------------------------------------------- faces


def _face_params(n=200, seed=0):
    return faces.sample_faces(n, 28, torch.Generator().manual_seed(seed))


def test_faces_pass_their_own_check():
    images = faces.toy_faces(500, seed=3)
    assert images.shape == (500, 3, 28, 28) and images.min() >= -1 and images.max() <= 1
    report = faces.check_faces(images)
    assert report.ok.all()
    assert (report.n_eyes == 2).all() and (report.n_mouths == 1).all()
    assert report.rates()["any failure"] == 0.0 and (report.n_violations == 0).all()
    assert torch.equal(images, faces.toy_faces(500, seed=3))


def test_an_extra_eye_fails():
    p = _face_params()
    three = faces.with_third_eye(p)
    report = faces.check_faces(faces.render_faces(three))
    assert (report.n_eyes == 3).all() and not report.ok.any()
    assert report.inside.all() and report.mouth_below.all()  # the third eye is the only fault
    two = faces.check_faces(faces.render_faces(three.replace(eyes=three.eyes[:, :2])))
    assert two.ok.all()  # the smaller eyes alone are fine
    one = faces.check_faces(faces.render_faces(p.replace(eyes=p.eyes[:, :1])))
    assert (one.n_eyes == 1).all() and not one.ok.any()


def test_captions_and_violations_say_what_is_wrong():
    p = _face_params(3)
    images = torch.cat([faces.render_faces(p), faces.render_faces(faces.with_third_eye(p)),
                        faces.render_faces(faces.with_mouth_above(p))])
    report = faces.check_faces(images)
    assert report.captions() == ["ok"] * 3 + ["3 eyes"] * 3 + ["mouth above"] * 3
    assert report.n_violations.tolist() == [0] * 3 + [1] * 3 + [1] * 3


def test_mouth_above_the_eyes_fails():
    p = _face_params()
    report = faces.check_faces(faces.render_faces(faces.with_mouth_above(p)))
    assert report.mouth_above.all() and not report.mouth_below.any() and not report.ok.any()
    assert (report.n_eyes == 2).all() and (report.n_mouths == 1).all() and report.inside.all()
    # by hand: a mouth straight above the eyes' midpoint has a smaller image row
    q = p.replace(tilt=torch.zeros(200))
    mouth_up = faces.with_mouth_above(q)
    assert (mouth_up.mouth[:, 1] < q.eyes[:, :, 1].min(dim=1).values).all()


def test_an_eye_outside_the_head_fails():
    p = _face_params()
    eyes = p.eyes.clone()
    eyes[:, 1, 0] = p.axes[:, 0] + 0.5  # the right eye's centre just beyond the head's outline
    report = faces.check_faces(faces.render_faces(p.replace(eyes=eyes)))
    assert not report.inside.any() and not report.ok.any()


def test_specks_and_smudges_inside_the_head_are_ignored():
    images = faces.toy_faces(50, seed=8)
    specked = images.clone()
    specked[:, :, 0, 0] = torch.tensor(faces.EYE)  # a one-pixel blue "eye" in the corner
    assert faces.check_faces(specked).ok.all()
    assert not faces.check_faces(specked, min_pixels=1).ok.any()  # counted, it is a third eye, outside
    # a black pixel right above each mouth's top-left pixel: dark, touching the mouth, but inside the head
    _, mouth, _ = faces.face_masks(images)
    first = mouth.flatten(1).float().argmax(dim=1)  # the first mouth pixel in raster order
    row, col = first // 28, first % 28
    smudged = images.clone()
    smudged[torch.arange(50), :, row - 1, col] = -1.0
    assert faces.check_faces(smudged).inside.all()
    # the same pixel connected to the background by a black line is outside
    cut = smudged.clone()
    for i in range(50):
        cut[i, :, : row[i], col[i]] = -1.0
    assert not faces.check_faces(cut).inside.any()


def test_face_check_bad_input():
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        faces.check_faces(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="at least 20x20"):
        faces.sample_faces(2, 16)


# ---------------------------------------------------------------- renderer


def test_projection_matches_hand_computed_vertices():
    # camera at azimuth 0, elevation 0, distance 4: at (4, 0, 0), looking down -x; right = +y, up = +z
    points = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.5, 0.5], [1.0, -0.5, 0.0], [-1.0, 0.0, -1.0]])
    pixels, depth = render.project(points, torch.tensor([0.0]), torch.tensor([0.0]), 4.0, 10.0, 28)
    # x = 14 + 10 * y / (4 - x_world), y_pix = 14 - 10 * z / (4 - x_world)
    expected = torch.tensor([[14.0, 14.0], [14 + 10 * 0.5 / 4, 14 - 10 * 0.5 / 4],
                             [14 - 10 * 0.5 / 3, 14.0], [14.0, 14 + 10 * 1 / 5]])
    assert_close(pixels[0], expected)
    assert_close(depth[0], torch.tensor([4.0, 4.0, 3.0, 5.0]))
    # azimuth 90 degrees: camera at (0, 4, 0) looking down -y; its right is -x
    pixels, depth = render.project(points, torch.tensor([math.pi / 2]), torch.tensor([0.0]), 4.0, 10.0, 28)
    assert_close(pixels[0, 2], torch.tensor([14 - 10 * 1.0 / 4.5, 14.0]))
    assert_close(depth[0, 2], torch.tensor(4.5))
    # elevation 45 degrees: camera at c = (4s, 0, 4s), s = 1/sqrt(2); up = (-s, 0, s), forward = (-s, 0, -s)
    point = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    pixels, depth = render.project(point, torch.tensor([0.0]), torch.tensor([math.pi / 4]), 4.0, 10.0, 28)
    s = 1 / math.sqrt(2)
    # (0, 0, 1) - c = (-4s, 0, 1 - 4s): up . that = 4s^2 + s - 4s^2 = s; forward . that = 4s^2 - s + 4s^2 = 4 - s
    assert_close(pixels[0], torch.tensor([[14.0, 14 - 10 * s / (4 - s)], [14.0, 14.0]]))
    assert_close(depth[0], torch.tensor([4 - s, 4.0]))


def test_rasterizer_fills_a_square_and_keeps_the_nearest_face():
    # a unit square facing the camera at azimuth 0, in front of a larger dark one
    near = [(0.0, -0.5, -0.5), (0.0, 0.5, -0.5), (0.0, 0.5, 0.5), (0.0, -0.5, 0.5)]
    far = [(-1.0, -1.0, -1.0), (-1.0, 1.0, -1.0), (-1.0, 1.0, 1.0), (-1.0, -1.0, 1.0)]
    vertices = torch.tensor(near + far)
    triangles = torch.tensor([[4, 5, 6], [4, 6, 7], [0, 1, 2], [0, 2, 3]])  # far listed first: order must not matter
    mesh = render.Mesh(vertices, triangles, torch.tensor([0.2, 0.2, 1.0, 1.0]))
    image = render.render(mesh, torch.tensor([0.0]), torch.tensor([0.0]), size=28, distance=4.0, focal=16.0,
                          supersample=1)[0, 0]
    # near square: half-side 16 * 0.5 / 4 = 2 px around the centre 14; far one: 16 * 1 / 5 = 3.2 px
    assert (image[12:16, 12:16] == 1.0).all()  # white where the near square is
    assert image[11, 14] == pytest.approx(0.2 * 2 - 1) and image[14, 11] == pytest.approx(0.2 * 2 - 1)
    assert (image[:10] == -1).all() and (image[18:] == -1).all()  # black outside both
    assert int((image == 1.0).sum()) == 16 and int((image > -1).sum()) == 36  # 4x4 near, 6x6 in all


def test_render_refuses_bad_cameras():
    mesh = views.house()
    with pytest.raises(ValueError, match="elevation"):
        render.render(mesh, torch.tensor([0.0]), torch.tensor([math.pi / 2]))
    with pytest.raises(ValueError, match="behind the camera"):
        render.render(mesh, torch.tensor([0.0]), torch.tensor([0.1]), distance=0.5)


# ---------------------------------------------------------------- views


@pytest.fixture(scope="module")
def bank():
    bank = views.ViewBank(azimuth_step=6.0, elevation_step=6.0)
    bank.calibrate(views.house_views(400, seed=11)[0], quantile=0.99)
    return bank


def test_real_renders_are_possible(bank):
    images, angles = views.house_views(400, seed=12)
    report = bank.check(images)
    assert report.impossible.float().mean() <= 0.03  # the threshold is the 99% quantile of other renders
    assert not report.mixture.any()
    # the nearest view is near the true viewpoint (the bank's grid is 6 degrees)
    gap = views.azimuth_gap(bank.angles[report.nearest, 0], angles[:, 0])
    assert gap.median() < math.radians(6)


def test_front_and_back_halves_pasted_together_are_impossible(bank):
    azimuth = torch.tensor([0.0, math.pi, 0.5, 0.5 + math.pi])
    elevation = torch.full((4,), 0.3)
    real = render.render(views.house(), azimuth, elevation, 28, views.DISTANCE)
    pasted = torch.cat([real[:1, ..., :14], real[1:2, ..., 14:]], dim=-1)  # left of the front, right of the back
    pasted2 = torch.cat([real[3:4, ..., :14], real[2:3, ..., 14:]], dim=-1)
    report = bank.check(torch.cat([real, pasted, pasted2]))
    assert not report.impossible[:4].any()
    assert report.impossible[4:].all() and report.mixture[4:].all()
    # the left half of the first paste is explained by a view of the front, its right half by one of the back
    assert bank.shows_front[report.left[4]] and bank.shows_back[report.right[4]]
    assert bank.shows_back[report.left[5]] and bank.shows_front[report.right[5]]


def test_view_bank_needs_calibration():
    bank = views.ViewBank(azimuth_step=30.0, elevation_step=15.0)
    with pytest.raises(ValueError, match="calibrate"):
        bank.check(bank.images[:2])
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        bank.nearest(torch.zeros(2, 3, 28, 28))


def test_calibration_with_a_tolerance_leaves_out_nearby_views(bank):
    images, angles = views.house_views(20, seed=13)
    strict = bank.calibrate(images, quantile=0.5)
    tolerant = bank.calibrate(images, angles, tolerance=20.0, quantile=0.5)
    # naive: one render and one bank view at a time
    blurred_bank = views.blur(bank.images)
    nearest = []
    for image, (azimuth, _) in zip(views.blur(images), angles, strict=True):
        d = [((image - view) ** 2).mean().sqrt() for view, (a, _) in zip(blurred_bank, bank.angles, strict=True)
             if views.azimuth_gap(a, azimuth) >= math.radians(20)]
        nearest.append(min(d))
    assert tolerant == pytest.approx(float(torch.tensor(nearest).quantile(0.5)), rel=1e-4)
    assert tolerant > 2 * strict  # turning the camera by 20 degrees changes the picture more than the grid's spacing
    with pytest.raises(ValueError, match="real_angles"):
        bank.calibrate(images, tolerance=20.0)
    bank.calibrate(views.house_views(400, seed=11)[0], quantile=0.99)  # leave the shared fixture as it was


def test_blur_is_a_normalised_gaussian_on_black():
    image = -torch.ones(1, 1, 9, 9)
    image[0, 0, 4, 4] = 1.0  # one white pixel: 2 above the black background
    blurred = views.blur(image, sigma=1.0)
    k = torch.exp(-torch.arange(-2.0, 3.0) ** 2 / 2)
    k = k / k.sum()  # the 1-D kernel, radius 2 sigma
    expected = -torch.ones(9, 9)
    expected[2:7, 2:7] += 2 * k[:, None] * k[None, :]
    assert_close(blurred[0, 0], expected)
    assert_close(views.blur(-torch.ones(2, 1, 5, 5)), -torch.ones(2, 1, 5, 5))  # black stays black at the border
