"""The course's DCGAN-on-Fashion-MNIST set-up: seeds, budget-scaled length, options, errors."""

import pytest
import torch

from gancourse.models import fashion_dcgan as fd
from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator


@pytest.fixture
def fake_images():
    return torch.rand(256, 1, 28, 28) * 2 - 1


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_the_seed_fixes_weights_and_run_without_touching_global_state(fake_images):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = fd.fashion_dcgan(seed=5, width=8, data=fake_images, device="cpu")
    assert torch.equal(torch.get_rng_state(), before)  # building models did not draw from the global generator
    b = fd.fashion_dcgan(seed=5, width=8, data=fake_images, device="cpu")
    c = fd.fashion_dcgan(seed=6, width=8, data=fake_images, device="cpu")
    assert torch.equal(_weights(a.G), _weights(b.G)) and torch.equal(_weights(a.D), _weights(b.D))
    assert not torch.equal(_weights(a.G), _weights(c.G))
    assert a.config.seed == 5 and c.config.seed == 6
    # the same weights as a model built right after torch.manual_seed(seed), as train_seeds builds them
    torch.manual_seed(5)
    G = DCGANGenerator(z_dim=fd.Z_DIM, width=8)
    assert torch.equal(_weights(G), _weights(a.G))


def test_dcgan_guidelines_are_the_default(fake_images):
    G, D, data, config = fd.fashion_dcgan(seed=0, width=16, images_seen=6400, data=fake_images, device="cpu")
    assert isinstance(G, DCGANGenerator) and isinstance(D, DCGANDiscriminator)
    assert (G.z_dim, config.z_dim, config.batch_size) == (64, 64, 64)
    assert (config.lr_d, config.lr_g, config.betas, config.loss) == (2e-4, 2e-4, (0.5, 0.999), "non_saturating")
    assert config.steps == 100  # 6,400 images in batches of 64
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())
    assert any(isinstance(m, torch.nn.LeakyReLU) for m in D.modules())
    assert data.shape == fake_images.shape and config.progress is False


def test_options_reach_the_models_and_the_config(fake_images):
    G, D, _, config = fd.fashion_dcgan(seed=0, width=8, images_seen=1000, data=fake_images, device="cpu",
                                       g_options={"norm": "none"}, d_options={"activation": "relu"},
                                       betas=(0.9, 0.999), batch_size=50, loss="hinge")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())
    assert not any(isinstance(m, torch.nn.LeakyReLU) for m in D.modules())
    assert (config.betas, config.batch_size, config.loss, config.steps) == ((0.9, 0.999), 50, "hinge", 20)


def test_budget_scales_width_and_length(monkeypatch):
    monkeypatch.setenv("GANCOURSE_BUDGET", "smoke")
    assert (fd.default_width(), fd.default_images_seen()) == (8, 3_200)
    monkeypatch.setenv("GANCOURSE_BUDGET", "full")
    assert (fd.default_width(), fd.default_images_seen()) == (64, 1_280_000)
    monkeypatch.delenv("GANCOURSE_BUDGET")
    assert (fd.default_width(), fd.default_images_seen()) == (32, 192_000)
    assert fd.steps_for(192_000) == 3000 and fd.steps_for(100, 64) == 2 and fd.steps_for(10, 64) == 1


def test_bad_values_are_refused_clearly(fake_images):
    with pytest.raises(ValueError, match="width"):
        fd.fashion_dcgan(width=7, data=fake_images)
    with pytest.raises(ValueError, match="Fashion-MNIST images"):
        fd.fashion_dcgan(width=8, data=torch.zeros(10, 3, 28, 28))
    with pytest.raises(ValueError, match="TrainConfig.lr_d"):
        fd.fashion_dcgan(width=8, data=fake_images, lr_d=-1.0)
    with pytest.raises(ValueError, match="images_seen"):
        fd.steps_for(0)


def test_loads_fashion_mnist_when_no_data_is_given():
    _, _, data, _ = fd.fashion_dcgan(seed=0, width=8, device="cpu")
    assert data.shape == (60_000, 1, 28, 28) and data.min() >= -1 and data.max() <= 1
