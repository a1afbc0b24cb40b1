"""DCGAN's guidelines read from the nets: hand-built nets that break exactly one guideline each."""

import pytest
import torch
from torch import nn

from gancourse.diagnostics.guidelines import GUIDELINES, broken_guidelines, dcgan_guidelines
from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init_
from gancourse.training import TrainConfig


def _g(norm_out=False, act=nn.ReLU, up=False, hidden_fc=False):
    """A small DCGAN-shaped G built by hand: z (B, 8, 1, 1) -> (B, 1, 28, 28)."""
    layers = [nn.ConvTranspose2d(8, 16, 7), nn.BatchNorm2d(16), act()]
    if hidden_fc:
        layers += [nn.Flatten(), nn.Linear(16 * 49, 16 * 49), nn.BatchNorm1d(16 * 49), act(),
                   nn.Unflatten(1, (16, 7, 7))]
    layers += [nn.Upsample(scale_factor=2), nn.Conv2d(16, 8, 3, 1, 1)] if up else [nn.ConvTranspose2d(16, 8, 4, 2, 1)]
    layers += [nn.BatchNorm2d(8), act(), nn.ConvTranspose2d(8, 1, 4, 2, 1)]
    layers += [nn.BatchNorm2d(1), nn.Tanh()] if norm_out else [nn.Tanh()]
    return dcgan_init_(nn.Sequential(*layers))


def _d(norm_in=False, act=lambda: nn.LeakyReLU(0.2), pool=False, hidden_fc=False):
    layers = [nn.Conv2d(1, 8, 4, 2, 1)] + ([nn.BatchNorm2d(8)] if norm_in else []) + [act()]
    layers += [nn.Conv2d(8, 16, 3, 1, 1), nn.MaxPool2d(2)] if pool else [nn.Conv2d(8, 16, 4, 2, 1)]
    layers += [nn.BatchNorm2d(16), act(), nn.Flatten()]
    if hidden_fc:
        layers += [nn.Linear(16 * 49, 64), nn.BatchNorm1d(64), act(), nn.Linear(64, 1)]
    else:
        layers += [nn.Linear(16 * 49, 1)]
    return dcgan_init_(nn.Sequential(*layers))


def test_hand_built_dcgan_follows_every_guideline():
    torch.manual_seed(0)
    report = dcgan_guidelines(_g(), _d(), TrainConfig())
    assert list(report) == list(GUIDELINES) and all(report.values())


@pytest.mark.parametrize("G_kwargs, D_kwargs, config, broken", [
    ({"up": True}, {}, {}, ["strided"]),
    ({}, {"pool": True}, {}, ["strided"]),
    ({"norm_out": True}, {}, {}, ["batch_norm"]),
    ({}, {"norm_in": True}, {}, ["batch_norm"]),
    ({"hidden_fc": True}, {}, {}, ["no_hidden_fc"]),
    ({}, {"hidden_fc": True}, {}, ["no_hidden_fc"]),
    ({"act": nn.LeakyReLU}, {}, {}, ["g_relu_tanh"]),
    ({}, {"act": nn.ReLU}, {}, ["d_leaky_relu"]),
    ({}, {}, {"lr_g": 1e-3}, ["adam"]),
    ({}, {}, {"betas": (0.9, 0.999)}, ["adam"]),
])
def test_each_broken_guideline_is_named(G_kwargs, D_kwargs, config, broken):
    torch.manual_seed(0)
    assert broken_guidelines(_g(**G_kwargs), _d(**D_kwargs), TrainConfig(**config)) == broken


def test_init_is_read_from_the_weights():
    torch.manual_seed(0)
    G = _g()
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, nn.ConvTranspose2d):
                m.weight.normal_(0, 0.05)  # PyTorch-like scale, not DCGAN's 0.02
    assert broken_guidelines(G, _d()) == ["init"]
    assert "adam" not in dcgan_guidelines(_g(), _d())  # no config: Adam's settings are not judged


def test_the_course_nets_and_their_ablations():
    torch.manual_seed(0)
    def pair(**kw):
        return DCGANGenerator(width=32, **kw.get("g", {})), DCGANDiscriminator(width=32, **kw.get("d", {}))
    assert broken_guidelines(*pair(), TrainConfig()) == []
    assert broken_guidelines(*pair(g={"norm": "none"}, d={"norm": "none"})) == ["batch_norm"]
    assert broken_guidelines(*pair(g={"resample": "pool"}, d={"resample": "pool"})) == ["strided"]
    assert broken_guidelines(*pair(d={"activation": "relu"})) == ["d_leaky_relu"]
    assert broken_guidelines(*pair(g={"activation": "tanh"}, d={"activation": "tanh"})) == ["g_relu_tanh",
                                                                                            "d_leaky_relu"]


def test_a_net_without_layers_is_refused():
    with pytest.raises(ValueError, match="conv or linear"):
        dcgan_guidelines(nn.Identity(), _d())
