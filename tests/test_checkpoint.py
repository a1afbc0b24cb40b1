"""Checkpoints: written atomically, read safely, and a resumed run continues bit for bit."""

from __future__ import annotations

import pytest
import torch

from gancourse import datasets
from gancourse.models import mlp
from gancourse.training import TrainConfig, checkpoint, loop, train, train_seeds
from gancourse.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gancourse.training.seeds import init_models

CPU = torch.device("cpu")


def make_G():
    return mlp.MLPGenerator(width=16, depth=2, norm="batch")  # batch norm: running statistics must resume too


def make_D():
    return mlp.MLPDiscriminator(width=16, depth=2)


def cfg(**kw) -> TrainConfig:
    # every random stream in play: data, z, instance noise, the gradient penalty's interpolation weights
    return TrainConfig(**{"steps": 10, "batch_size": 16, "lr_d": 1e-3, "lr_g": 1e-3, "gp_weight": 1.0,
                          "instance_noise": 0.1, "instance_noise_anneal": 8, "n_critic": 2, "log_every": 3,
                          "progress": False, **kw})


def test_save_and_load_round_trip(tmp_path):
    state = {"w": torch.randn(3, 4), "step": 7, "nested": {"names": ["a", "b"], "betas": (0.5, 0.9)}}
    path = save_checkpoint(tmp_path / "sub" / "run.pt", state)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["w"], state["w"]) and loaded["step"] == 7 and loaded["nested"] == state["nested"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.pt"]  # no temporary file left


def test_a_failed_save_keeps_the_previous_checkpoint_and_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    save_checkpoint(path, {"step": 1, "w": torch.ones(3)})
    before = path.read_bytes()

    def crash_midway(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")  # some bytes reach the disk, then the save dies
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"step": 2, "w": torch.zeros(3)})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1


class Payload:
    """Stands for any pickled object, whose unpickling could run code."""


def test_loading_never_unpickles_arbitrary_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"thing": Payload()}, path)
    with pytest.raises(CheckpointError, match="not a readable gancourse checkpoint"):  # torch refused to unpickle it
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")


def _assert_same_run(a, b) -> None:
    for x, y in zip([*a.G.state_dict().values(), *a.D.state_dict().values()],
                    [*b.G.state_dict().values(), *b.D.state_dict().values()], strict=True):
        assert torch.equal(x, y)
    for opt_a, opt_b in [(a.opt_g, b.opt_g), (a.opt_d, b.opt_d)]:
        for s_a, s_b in zip(opt_a.state_dict()["state"].values(), opt_b.state_dict()["state"].values(), strict=True):
            assert all(torch.equal(s_a[k], s_b[k]) for k in s_a)
    da, db = a.history.to_dict(), b.history.to_dict()
    assert da.keys() == db.keys() and all(torch.equal(da[k], db[k]) for k in da)


def test_a_resumed_run_equals_an_uninterrupted_run_bit_for_bit(tmp_path):
    sample = datasets.ring().sample
    straight = train(*init_models(0, make_G, make_D), sample, cfg(), device=CPU)
    path = tmp_path / "run.pt"
    first = train(*init_models(0, make_G, make_D), sample, cfg(steps=4, checkpoint_every=4, checkpoint_path=str(path)),
                  device=CPU)
    assert len(first.history) == 4
    # the resumed run starts from other weights: everything must come from the checkpoint
    resumed = train(*init_models(99, make_G, make_D), sample, cfg(log_every=5), resume_from=path, device=CPU)
    assert resumed.steps == 10 and resumed.history.steps.tolist() == list(range(10))
    _assert_same_run(straight, resumed)


def test_stacked_seeds_resume_bit_for_bit(tmp_path):
    sample, seeds = datasets.ring().sample, [2, 7]
    straight = train_seeds(seeds, make_G, make_D, sample, cfg(steps=6), device=CPU)
    path = tmp_path / "seeds.pt"
    train_seeds(seeds, make_G, make_D, sample, cfg(steps=6, checkpoint_every=3, checkpoint_path=str(path)),
                device=CPU)  # the file holds the last checkpoint, step 6: resume from a step-3 one instead
    train_seeds(seeds, make_G, make_D, sample, cfg(steps=3, checkpoint_every=3, checkpoint_path=str(path)),
                device=CPU)
    resumed = train_seeds(seeds, make_G, make_D, sample, cfg(steps=6), resume_from=path, device=CPU)
    _assert_same_run(straight, resumed)


def test_checkpoints_are_written_every_k_steps_and_at_the_end(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    saved = []

    def spy(p, state):
        saved.append(state["step"])
        return save_checkpoint(p, state)

    monkeypatch.setattr(loop, "save_checkpoint", spy)
    train(*init_models(0, make_G, make_D), datasets.ring().sample,
          cfg(steps=7, checkpoint_every=3, checkpoint_path=str(path)), device=CPU)
    assert saved == [3, 6, 7]
    state = load_checkpoint(path)
    assert state["step"] == 7 and state["config"]["steps"] == 7 and len(state["history"]["steps"]) == 7


def test_resuming_with_a_different_config_is_refused(tmp_path):
    path = tmp_path / "run.pt"
    train(*init_models(0, make_G, make_D), datasets.ring().sample,
          cfg(steps=3, checkpoint_every=3, checkpoint_path=str(path)), device=CPU)
    with pytest.raises(ValueError, match=r"config differs in \['lr_d'\]"):
        train(*init_models(0, make_G, make_D), datasets.ring().sample, cfg(lr_d=1e-2), resume_from=path, device=CPU)
    with pytest.raises(ValueError, match="instance noise anneals over steps"):
        train(*init_models(0, make_G, make_D), datasets.ring().sample, cfg(instance_noise_anneal=None),
              resume_from=path, device=CPU)
