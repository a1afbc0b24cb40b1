"""Connected-component counts against a naive flood fill, and the count scores against hand values."""

from collections import deque

import pytest
import torch

from gancourse.metrics import count_accuracy, count_histogram_distance, count_objects

NEIGHBOURS = {
    4: [(-1, 0), (1, 0), (0, -1), (0, 1)],
    8: [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)],
}


def flood_fill_count(mask: list[list[bool]], connectivity: int) -> int:
    """Reference: breadth-first flood fill from every unvisited foreground pixel."""
    h, w = len(mask), len(mask[0])
    seen = [[False] * w for _ in range(h)]
    components = 0
    for y in range(h):
        for x in range(w):
            if not mask[y][x] or seen[y][x]:
                continue
            components += 1
            seen[y][x] = True
            queue = deque([(y, x)])
            while queue:
                cy, cx = queue.popleft()
                for dy, dx in NEIGHBOURS[connectivity]:
                    ny, nx = cy + dy, cx + dx
                    if 0 <= ny < h and 0 <= nx < w and mask[ny][nx] and not seen[ny][nx]:
                        seen[ny][nx] = True
                        queue.append((ny, nx))
    return components


def blob_images(n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 1, size, size) images in [-1, 1]: a few Gaussian blobs of random width on a dark background."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    centers = torch.rand(n, 5, 2, generator=generator) * size
    widths = 0.5 + 1.5 * torch.rand(n, 5, 1, 1, generator=generator)
    d2 = (yy - centers[..., 0, None, None]) ** 2 + (xx - centers[..., 1, None, None]) ** 2  # (n, 5, size, size)
    return (torch.exp(-d2 / (2 * widths**2)).amax(dim=1, keepdim=True) * 2 - 1).float()


@pytest.mark.parametrize("connectivity", [4, 8])
def test_matches_flood_fill_on_random_images(connectivity):
    gen = torch.Generator().manual_seed(0)
    noise = torch.rand(40, 1, 12, 12, generator=gen) * 2 - 1  # salt and pepper: many corner contacts
    blobs = blob_images(40, 20, gen)
    for images, threshold in ((noise, 0.2), (blobs, 0.0)):
        counts = count_objects(images, threshold, connectivity)
        reference = [flood_fill_count((image[0] > threshold).tolist(), connectivity) for image in images]
        assert counts.dtype == torch.int64
        assert counts.tolist() == reference
    assert len(set(reference)) > 2  # the blob images do have varied counts


def test_diagonal_touch_pins_down_connectivity():
    image = -torch.ones(1, 5, 5)
    image[0, 1, 1] = image[0, 2, 2] = image[0, 3, 3] = 1.0  # a diagonal line of three pixels
    image[0, 0, 4] = 1.0  # an isolated corner pixel
    assert count_objects(image, connectivity=8).tolist() == [2]
    assert count_objects(image, connectivity=4).tolist() == [4]


def test_long_serpentine_is_one_object():
    # rows 0, 2, 4, ... filled, joined alternately at the right and left ends: a path of ~200 pixels
    image = -torch.ones(1, 1, 21, 21)
    image[0, 0, ::2, :] = 1.0
    for row in range(1, 21, 2):
        image[0, 0, row, 20 if row % 4 == 1 else 0] = 1.0
    assert count_objects(image, connectivity=4).tolist() == [1]
    image[0, 0, 1, 20] = -1.0  # cut the first joint: the top row splits off
    assert count_objects(image, connectivity=4).tolist() == [2]


def test_empty_and_full_images():
    images = torch.stack([-torch.ones(8, 8), torch.ones(8, 8)])  # (2, 8, 8) also accepted
    assert count_objects(images).tolist() == [0, 1]


def test_count_accuracy_by_hand():
    counts = torch.tensor([3, 2, 3, 4])
    assert count_accuracy(counts, 3) == pytest.approx(0.5)
    assert count_accuracy(counts, torch.tensor([3, 2, 0, 0])) == pytest.approx(0.5)


def test_histogram_distance_by_hand():
    a = torch.tensor([0, 1, 1, 2])  # P_a = {0: 1/4, 1: 1/2, 2: 1/4}
    b = torch.tensor([1, 1, 1, 3, 1, 1, 3, 1])  # P_b = {1: 3/4, 3: 1/4}
    assert count_histogram_distance(a, b) == pytest.approx(0.5 * (0.25 + 0.25 + 0.25 + 0.25))
    assert count_histogram_distance(a, a.flip(0)) == pytest.approx(0.0)
    assert count_histogram_distance(a, a + 5) == pytest.approx(1.0)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="connectivity must be 4 or 8"):
        count_objects(torch.zeros(1, 4, 4), connectivity=6)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        count_objects(torch.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="integer counts"):
        count_histogram_distance(torch.tensor([1.0]), torch.tensor([1]))
    with pytest.raises(ValueError, match=">= 0"):
        count_histogram_distance(torch.tensor([-1]), torch.tensor([1]))


def test_histogram_distance_names_the_bad_argument():
    with pytest.raises(ValueError, match="counts_a must be a non-empty 1-D tensor"):
        count_histogram_distance(torch.zeros(0, dtype=torch.long), torch.tensor([1]))
    with pytest.raises(ValueError, match="counts_b must hold integer counts"):
        count_histogram_distance(torch.tensor([1]), torch.tensor([1.0]))


def test_min_pixels_drops_small_components_only():
    gen = torch.Generator().manual_seed(3)
    images = blob_images(30, 20, gen)
    for min_pixels in (1, 3, 12):
        counts = count_objects(images, 0.0, 8, min_pixels=min_pixels)
        reference = []
        for image in images:  # naive: flood fill, then keep components of at least min_pixels pixels
            mask = (image[0] > 0).tolist()
            sizes = component_sizes(mask)
            reference.append(sum(size >= min_pixels for size in sizes))
        assert counts.tolist() == reference
    image = -torch.ones(1, 1, 6, 6)
    image[0, 0, 0, 0] = 1.0  # one pixel
    image[0, 0, 3:5, 3:5] = 1.0  # four pixels
    assert [count_objects(image, min_pixels=m).item() for m in (1, 2, 4, 5)] == [2, 1, 1, 0]
    with pytest.raises(ValueError, match="min_pixels"):
        count_objects(image, min_pixels=0)


def component_sizes(mask: list[list[bool]]) -> list[int]:
    """Reference: the pixel count of each 8-connected component, by flood fill."""
    h, w = len(mask), len(mask[0])
    seen = [[False] * w for _ in range(h)]
    sizes = []
    for y in range(h):
        for x in range(w):
            if not mask[y][x] or seen[y][x]:
                continue
            seen[y][x] = True
            queue, size = deque([(y, x)]), 0
            while queue:
                cy, cx = queue.popleft()
                size += 1
                for dy, dx in NEIGHBOURS[8]:
                    ny, nx = cy + dy, cx + dx
                    if 0 <= ny < h and 0 <= nx < w and mask[ny][nx] and not seen[ny][nx]:
                        seen[ny][nx] = True
                        queue.append((ny, nx))
            sizes.append(size)
    return sizes
