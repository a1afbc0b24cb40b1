"""The committed DCGAN of chapter 03: its checksum is checked before loading, and it loads into the course's nets."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from gancourse.metrics import ChecksumError
from gancourse.metrics.classifier import file_sha256
from gancourse.models import dcgan
from gancourse.models.pretrained import DCGAN_CHECKSUM_PATH, DCGAN_SETUP, DCGAN_WEIGHTS_PATH, load_fashion_dcgan


def test_the_committed_weights_load_and_match_their_record():
    G, D = load_fashion_dcgan()
    assert isinstance(G, dcgan.DCGANGenerator) and isinstance(D, dcgan.DCGANDiscriminator)
    state = torch.load(DCGAN_WEIGHTS_PATH, weights_only=True)
    for name, value in G.state_dict().items():
        assert torch.equal(value, state["G"][name]), name
    record = json.loads(DCGAN_WEIGHTS_PATH.with_suffix(".json").read_text())
    assert record["sha256"] == file_sha256(DCGAN_WEIGHTS_PATH)
    assert {k: record[k] for k in DCGAN_SETUP} == DCGAN_SETUP
    with torch.no_grad():
        x = G.eval()(torch.randn(4, DCGAN_SETUP["z_dim"]))
    assert x.shape == (4, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert D.eval()(x).shape == (4, 1)


def test_a_changed_or_missing_file_fails_loudly(tmp_path):
    weights, checksum = tmp_path / "w.pt", tmp_path / "w.sha256"
    shutil.copy(DCGAN_WEIGHTS_PATH, weights)
    shutil.copy(DCGAN_CHECKSUM_PATH, checksum)
    load_fashion_dcgan(weights_path=weights, checksum_path=checksum)
    with open(weights, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ChecksumError, match="stale or corrupted"):
        load_fashion_dcgan(weights_path=weights, checksum_path=checksum)
    with pytest.raises(FileNotFoundError, match="train_fashion_dcgan"):
        load_fashion_dcgan(weights_path=tmp_path / "missing.pt", checksum_path=checksum)
