"""Mode hopping: shares over time, modes held, the dominant mode and its hops, against hand-made snapshots;
and the snapshot recorder that feeds them."""

from __future__ import annotations

import math

import pytest
import torch
from torch.testing import assert_close

from gancourse import datasets
from gancourse.diagnostics.snapshots import Snapshots
from gancourse.metrics import hopping, mode_coverage_batched
from gancourse.models import mlp
from gancourse.training import TrainConfig, train
from gancourse.training.seeds import stacked_models

RING = datasets.ring(radius=2.0, std=0.02)


def at_modes(modes: list[int], n: int, offset: float = 0.0) -> torch.Tensor:
    """``n`` points split evenly over ``modes``, each ``offset`` away from its mode (radially outwards)."""
    index = torch.tensor(modes).repeat_interleave(n // len(modes))
    centers = RING.centers[index]
    return centers * (1 + offset / centers.norm(dim=1, keepdim=True))


def test_shares_count_high_quality_samples_per_mode_over_all_samples():
    near, far = at_modes([2], 60, offset=0.05), at_modes([5], 40, offset=0.3)  # 2.5 std vs 15 std from the mode
    snapshot = torch.cat([near, far])  # (100, 2)
    shares = hopping.mode_shares_over_time(snapshot[None], RING.centers, RING.std)  # (1, 8)
    expected = torch.zeros(1, 8)
    expected[0, 2] = 0.6  # the far points are not high quality: they count for no mode, and in the denominator
    assert_close(shares, expected)
    # the same numbers as the protocol's counts, divided by N
    assert_close(shares[0], mode_coverage_batched(snapshot[None], RING.centers, RING.std).counts[0] / 100.0)
    # within=None: every sample counts for its nearest mode
    anywhere = hopping.mode_shares_over_time(snapshot[None], RING.centers, RING.std, within=None)
    expected[0, 5] = 0.4
    assert_close(anywhere, expected)
    # within=20 std takes the far points in, within=10 does not
    assert_close(hopping.mode_shares_over_time(snapshot[None], RING.centers, RING.std, within=20.0), expected)
    assert hopping.mode_shares_over_time(snapshot[None], RING.centers, RING.std, within=10.0)[0, 5] == 0


def test_stacked_snapshots_keep_their_seed_axis():
    x = torch.stack([torch.stack([at_modes([t % 8], 40), at_modes([0, 4], 40)]) for t in range(3)])  # (3, 2, 40, 2)
    shares = hopping.mode_shares_over_time(x, RING.centers, RING.std)
    assert shares.shape == (3, 2, 8)
    assert_close(shares[:, 0].argmax(dim=1), torch.tensor([0, 1, 2]))
    assert_close(shares[:, 1, 0], torch.full((3,), 0.5))


def test_dominant_mode_hops_and_modes_held_on_a_hand_made_film():
    # one seed hopping 0 -> 0 -> (spread) -> 3 -> 3 -> 6 -> (spread) -> 6; one seed spread all the time
    film = [[0], [0], list(range(8)), [3], [3], [6], [1, 2, 5, 7], [6]]
    hopper = torch.stack([hopping.mode_shares_over_time(at_modes(m, 80)[None], RING.centers, RING.std)[0]
                          for m in film])  # (T, 8)
    spread = hopping.mode_shares_over_time(at_modes(list(range(8)), 80)[None].expand(len(film), -1, -1),
                                           RING.centers, RING.std)
    shares = torch.stack([hopper, spread], dim=1)  # (T, 2, 8)
    dominant = hopping.dominant_mode(shares)
    assert dominant[:, 0].tolist() == [0, 0, -1, 3, 3, 6, -1, 6]
    assert (dominant[:, 1] == hopping.NO_MODE).all()
    assert hopping.count_hops(dominant).tolist() == [2, 0]  # 0 -> 3 -> 6; the spread snapshots are skipped
    assert hopping.count_hops(dominant[:, 0]).item() == 2
    assert hopping.distinct_dominant_modes(dominant).tolist() == [3, 0]
    assert hopping.modes_held(shares)[:, 0].tolist() == [1, 1, 8, 1, 1, 1, 4, 1]
    assert (hopping.modes_held(shares)[:, 1] == 8).all()
    # below one half the largest share wins; a share under min_share is no mode
    assert hopping.dominant_mode(shares, min_share=0.2)[6, 0] == 1
    assert hopping.dominant_mode(shares, min_share=0.3)[6, 0] == hopping.NO_MODE


def test_count_hops_equals_a_naive_loop():
    gen = torch.Generator().manual_seed(0)
    dominant = torch.randint(-1, 4, (40, 6), generator=gen)
    for s in range(6):
        seen = [d for d in dominant[:, s].tolist() if d != -1]
        naive = sum(a != b for a, b in zip(seen, seen[1:], strict=False))
        assert hopping.count_hops(dominant[:, s]).item() == naive
        assert hopping.distinct_dominant_modes(dominant[:, s]).item() == len(set(seen))


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="snapshots"):
        hopping.mode_shares_over_time(torch.zeros(5, 2), RING.centers, RING.std)
    with pytest.raises(ValueError, match="within"):
        hopping.mode_shares_over_time(torch.zeros(1, 5, 2), RING.centers, RING.std, within=0)
    with pytest.raises(ValueError, match="min_share"):
        hopping.modes_held(torch.zeros(3, 8), min_share=0)
    with pytest.raises(ValueError, match="dominant"):
        hopping.count_hops(torch.zeros(2, 2, 2, dtype=torch.long))


def test_snapshots_record_g_of_a_fixed_z_during_training():
    seeds = [0, 1]
    G, D = stacked_models(seeds, mlp.MLPGenerator, mlp.MLPDiscriminator)
    z = torch.randn(2, 50, 2, generator=torch.Generator().manual_seed(3))
    snaps = Snapshots(z)
    snaps.record(0, G)
    with torch.no_grad():
        start = G(z)
    result = train(G, D, RING.sample, TrainConfig(steps=6, batch_size=16, log_every=3, progress=False),
                   seeds=seeds, device="cpu", callback=snaps)
    assert snaps.steps.tolist() == [0, 3, 6] and len(snaps) == 3
    x = snaps.samples()
    assert x.shape == (3, 2, 50, 2)
    assert_close(x[0], start)
    with torch.no_grad():
        assert_close(x[-1], result.G(z))  # the last snapshot is the trained G on the same z
    assert not torch.equal(x[1], x[0])
    with pytest.raises(ValueError, match="increasing"):
        snaps.record(6, G)
    with pytest.raises(ValueError, match="no snapshot"):
        Snapshots(z).samples()
    with pytest.raises(ValueError, match="z must be"):
        Snapshots(torch.zeros(3))


def test_snapshots_sample_a_batch_norm_g_in_eval_mode_and_restore_its_mode():
    G = mlp.MLPGenerator(norm="batch")
    G.train()
    snaps = Snapshots(torch.randn(4, 2))
    snaps.record(1, G)
    assert G.training
    with torch.no_grad():
        assert_close(snaps.samples()[0], G.eval()(snaps.z))
    assert math.isfinite(float(snaps.samples().sum()))


def test_summarize_hopping_collects_the_measures():
    film = [[0], [0], [3], list(range(8)), [6]]
    shares = torch.stack([hopping.mode_shares_over_time(at_modes(m, 80)[None], RING.centers, RING.std)[0]
                          for m in film])[:, None]  # (5, 1, 8)
    summary = hopping.summarize_hopping(shares, late_fraction=0.4)
    assert summary.modes_held[:, 0].tolist() == [1, 1, 1, 8, 1]
    assert summary.dominant[:, 0].tolist() == [0, 0, 3, -1, 6]
    assert summary.hops.tolist() == [2] and summary.distinct_dominant.tolist() == [3]
    assert summary.late_modes_held.tolist() == [4.5]  # the last 2 of 5 snapshots: 8 and 1 modes
    with pytest.raises(ValueError, match="one film per seed"):
        hopping.summarize_hopping(shares[:, 0])


def test_summarize_hopping_passes_its_thresholds_on():
    film = [[0], [1, 2, 5, 7]]  # all samples on mode 0, then a quarter on each of four modes
    shares = torch.stack([hopping.mode_shares_over_time(at_modes(m, 80)[None], RING.centers, RING.std)[0]
                          for m in film])[:, None]  # (2, 1, 8)
    default = hopping.summarize_hopping(shares)
    assert default.modes_held[:, 0].tolist() == [1, 4] and default.dominant[:, 0].tolist() == [0, -1]
    strict = hopping.summarize_hopping(shares, min_share=0.3, dominant_share=0.2)
    assert strict.modes_held[:, 0].tolist() == [1, 0]  # a quarter is under 0.3: not held
    assert strict.dominant[:, 0].tolist() == [0, 1]  # a quarter is over 0.2: the first largest share dominates
    assert strict.hops.tolist() == [1] and strict.hops.dtype == torch.int64
    # the bound is inclusive at 1: a mode holding every sample is dominant at min_share=1
    assert hopping.dominant_mode(shares, min_share=1.0)[:, 0].tolist() == [0, -1]
    assert hopping.count_hops(torch.tensor([0, 1, 1, 2])).dtype == torch.int64


def test_share_map_and_strip_draw_what_they_are_given():
    from gancourse.diagnostics.snapshots import share_map, strip

    steps = torch.tensor([0, 10, 20])
    shares = torch.rand(3, 8, generator=torch.Generator().manual_seed(0))
    fig = share_map(steps, shares)
    mesh = fig.axes[0].collections[0]
    assert_close(torch.as_tensor(mesh.get_array()).reshape(8, 3).float(), shares.T)
    x = torch.randn(3, 2, 20, 2, generator=torch.Generator().manual_seed(1))
    fig = strip(x, steps, [0, 2], RING.centers, row_titles=["a", "b"])
    assert len(fig.axes) == 4 and fig.axes[1].get_title() == "step 20" and fig.axes[2].get_ylabel() == "b"
    assert_close(torch.as_tensor(fig.axes[3].collections[1].get_offsets()).float(), x[2, 1])
    fig = strip(x, steps, [1], column_titles=["final"])
    assert fig.axes[0].get_title() == "final"
    with pytest.raises(ValueError, match="snapshot indices"):
        strip(x, steps, [3])
    with pytest.raises(ValueError, match="one seed's shares"):
        share_map(steps, shares[None])
