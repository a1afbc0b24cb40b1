"""A learner's mistakes get gancourse's words: each test names the mistake, the exception and what the message says.

Every case comes from issue 11 (tried against the public API as a new user would) or is a
mistake of the same kind. Each asserts the exception type, that the message names the
problem, and that it names the fix. Grouped by module. The explosion cases (training that
diverges without NaN) are in ``test_divergence.py``.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch

from gancourse import datasets, plots
from gancourse.diagnostics.health import HealthMonitor
from gancourse.metrics import FIDScorer, class_histogram, fid, load_classifier, mode_coverage
from gancourse.models import dcgan, mlp
from gancourse.training import TrainConfig, train
from gancourse.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gancourse.training.history import History
from gancourse.training.seeds import init_models

RING = datasets.ring()


def says(error: pytest.ExceptionInfo, *patterns: str) -> None:
    """The message matches every regex in ``patterns`` (the problem and the fix)."""
    message = str(error.value)
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not in: {message}"


def pair(width: int = 16, seed: int = 0, **g_kwargs):
    return init_models(seed, lambda: mlp.MLPGenerator(width=width, depth=2, **g_kwargs),
                       lambda: mlp.MLPDiscriminator(width=width, depth=2))


def small_dcgan():
    return init_models(0, lambda: dcgan.DCGANGenerator(z_dim=8, width=4),
                       lambda: dcgan.DCGANDiscriminator(width=4))


CONFIG = TrainConfig(steps=4, batch_size=8, log_every=2, progress=False)
IMAGES = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1


@pytest.fixture(scope="module")
def classifier():
    return load_classifier()


# ---------------------------------------------------------------- metrics.fid


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_fid_with_a_non_finite_image_names_a_diverged_g_instead_of_crashing(bad, classifier):
    # before: oneMKL segfaulted in torch.linalg.eigvals and killed the kernel
    x_fake = IMAGES.clone()
    x_fake[3, 0, 5, 5] = bad
    with pytest.raises(ValueError) as error:
        fid(IMAGES, x_fake, classifier)
    says(error, "x_fake contains (NaN|Inf)", "sample 3", "G has diverged", "lower learning rate")
    with pytest.raises(ValueError) as error:
        FIDScorer(x_fake, classifier)
    says(error, "x_real contains", "remove or replace")


@pytest.mark.parametrize("scale, guess, fix", [
    ((lambda x: (x + 1) / 2), r"\[0, 1\]", r"x \* 2 - 1"),
    ((lambda x: (x + 1) * 127.5), r"\[0, 255\]", r"x / 127.5 - 1"),
])
def test_fid_refuses_images_outside_minus_one_one(scale, guess, fix, classifier):
    # before: [0, 1] gave a plausible-looking 19.1 and [0, 255] gave 465275
    with pytest.raises(ValueError) as error:
        fid(IMAGES, scale(IMAGES), classifier)
    says(error, "x_fake holds values in", guess, r"\[-1, 1\]", fix)


def test_fid_with_uint8_images_says_how_to_convert(classifier):
    pixels = ((IMAGES + 1) * 127.5).round().to(torch.uint8)
    with pytest.raises(TypeError) as error:
        fid(pixels, pixels, classifier)
    says(error, "x_real has dtype torch.uint8", r"x.float\(\) / 127.5 - 1")


def test_fid_still_scores_images_in_range(classifier):
    assert fid(IMAGES, IMAGES.flip(0), classifier) == pytest.approx(0.0, abs=1e-2)  # the same set, reordered


def test_class_histogram_of_nan_images_is_refused_not_counted_as_class_0(classifier):
    x = IMAGES.clone()
    x[0] = float("nan")
    with pytest.raises(ValueError) as error:
        class_histogram(x, classifier)
    says(error, "images contains NaN", "G has diverged")


# ---------------------------------------------------------------- metrics.modes


@pytest.mark.parametrize("n_bad", [100, 50])
def test_mode_coverage_with_nan_samples_all_or_half(n_bad):
    samples = RING.sample(100, torch.Generator().manual_seed(0))
    samples[:n_bad] = float("nan")
    with pytest.raises(ValueError) as error:
        mode_coverage(samples, RING.centers, RING.std)
    says(error, f"samples contains NaN in {2 * n_bad} values", "G has diverged")


def test_mode_coverage_with_swapped_arguments_asks_whether_they_are_swapped():
    samples = RING.sample(2500, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError) as error:
        mode_coverage(RING.centers, samples, RING.std)
    says(error, "mode centers", "overlap", "swap the arguments", r"mode_coverage\(samples, centers, std\)")


def test_mode_coverage_blames_the_samples_for_their_own_shape():
    with pytest.raises(ValueError) as error:
        mode_coverage(torch.zeros(10, 3), RING.centers, RING.std)
    says(error, r"^samples must have shape \(N, 2\)", "2-D mode centers", r"\(10, 3\)")
    with pytest.raises(ValueError) as error:
        mode_coverage(torch.zeros(10, 2), torch.zeros(8), RING.std)
    says(error, r"^centers must be", r"ring\(\)\.centers")


def test_mode_coverage_accepts_numpy_and_gives_the_tensor_answer():
    samples = RING.sample(500, torch.Generator().manual_seed(0))
    expected = mode_coverage(samples, RING.centers, RING.std)
    got = mode_coverage(samples.numpy(), RING.centers.numpy(), RING.std)
    assert (got.modes, got.high_quality, got.reverse_kl) == (expected.modes, expected.high_quality,
                                                              expected.reverse_kl)
    with pytest.raises(TypeError, match="samples must be a torch tensor"):
        mode_coverage([[0.0, 1.0]], RING.centers, RING.std)


# ---------------------------------------------------------------- checkpoint


@pytest.fixture
def saved_run(tmp_path):
    path = tmp_path / "run.pt"
    G, D = pair()
    config = TrainConfig(steps=4, batch_size=8, progress=False, checkpoint_every=4, checkpoint_path=path)
    train(G, D, RING.sample, config, device="cpu")
    return path, config


def _damage(path, how):
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "empty": b"", "random": os.urandom(2000),
                      "text": b"not a checkpoint\n" * 20}[how])


@pytest.mark.parametrize("how", ["truncated", "empty", "random", "text"])
def test_a_damaged_checkpoint_is_named_as_such_with_what_to_do(saved_run, how):
    # before: OSError [Errno 22], a bare EOFError, or torch's advice to load with weights_only=False
    path, config = saved_run
    _damage(path, how)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    says(error, str(path), "empty" if how == "empty" else "not a readable gancourse checkpoint",
         "delete the file and train from scratch")
    assert "weights_only=False" not in str(error.value)
    with pytest.raises(CheckpointError) as error:  # the same through train(resume_from=...)
        train(*pair(), RING.sample, config, resume_from=path, device="cpu")
    says(error, "train from scratch")


def test_a_torch_file_that_is_not_a_training_checkpoint_says_what_it_lacks(tmp_path):
    path = tmp_path / "weights.pt"
    save_checkpoint(path, {"net.0.weight": torch.zeros(2)})
    with pytest.raises(CheckpointError) as error:
        train(*pair(), RING.sample, CONFIG, resume_from=path, device="cpu")
    says(error, "not a gancourse training checkpoint", "lacks G, D")


def test_resuming_with_fewer_steps_than_the_checkpoint_holds(saved_run):
    # before: returned the checkpoint's 4 steps without a word
    path, config = saved_run
    fewer = TrainConfig(**{**config.to_dict(), "steps": 2})
    with pytest.raises(ValueError) as error:
        train(*pair(), RING.sample, fewer, resume_from=path, device="cpu")
    says(error, "holds 4 steps done, more than TrainConfig.steps=2", "set steps >= 4")
    assert train(*pair(), RING.sample, config, resume_from=path, device="cpu").steps == 4  # equal: just loads


def test_resuming_with_a_changed_architecture_names_the_layer(saved_run):
    # before: torch's list of size mismatches
    path, config = saved_run
    G, D = init_models(0, lambda: mlp.MLPGenerator(width=32, depth=2), lambda: mlp.MLPDiscriminator(width=16, depth=2))
    with pytest.raises(ValueError) as error:
        train(G, D, RING.sample, config, resume_from=path, device="cpu")
    says(error, "G is not built like the checkpointed G", r"net\.0\.weight is \(32, 2\) here but \(16, 2\) in the "
         "checkpoint", "same class and sizes")
    G, D = init_models(0, lambda: mlp.MLPGenerator(width=16, depth=2), lambda: mlp.MLPDiscriminator(width=16, depth=3))
    with pytest.raises(ValueError) as error:
        train(G, D, RING.sample, config, resume_from=path, device="cpu")
    says(error, "D is not built like", "the checkpoint has no net.6")


# ---------------------------------------------------------------- training: the data


def test_empty_data():
    # before: RuntimeError "random_ expects 'from' to be less than 'to'"
    with pytest.raises(ValueError) as error:
        train(*pair(), torch.empty(0, 2), CONFIG, device="cpu")
    says(error, r"data is empty \(shape \(0, 2\)\)", "at least one sample")


def test_uint8_images_to_train():
    # before: "Input type (unsigned char) and bias type (float) should be the same"
    pixels = ((IMAGES + 1) * 127.5).to(torch.uint8)
    with pytest.raises(TypeError) as error:
        train(*small_dcgan(), pixels, CONFIG, device="cpu")
    says(error, "data has dtype torch.uint8", r"x.float\(\) / 127.5 - 1")


def test_float_images_in_0_255_to_train():
    # before: trained without a word
    with pytest.raises(ValueError) as error:
        train(*small_dcgan(), (IMAGES + 1) * 127.5, CONFIG, device="cpu")
    says(error, r"\[0, 255\]", "tanh G", r"x / 127.5 - 1")


def test_images_in_0_1_still_train():
    # a tanh G can cover [0, 1]; only FID (whose classifier was trained on [-1, 1]) refuses them
    assert train(*small_dcgan(), (IMAGES + 1) / 2, CONFIG, device="cpu").steps == 4


def test_data_1e30_times_too_large_suggests_the_scale():
    with pytest.raises(ValueError) as error:
        train(*pair(), RING.sample(100) * 1e30, CONFIG, device="cpu")
    says(error, r"\|x\| = 1\.\d+e\+30", "values of order 1", "standardise", r"x\.std\(0\)")


def test_nan_in_the_data_names_the_row():
    data = RING.sample(100)
    data[7, 1] = float("nan")
    with pytest.raises(ValueError) as error:
        train(*pair(), data, CONFIG, device="cpu")
    says(error, "data contains NaN in 1 value, the first in sample 7", "remove or replace")


def test_numpy_and_float64_data_train_as_float32():
    data = RING.sample(100, torch.Generator().manual_seed(0))
    a = train(*pair(), data, CONFIG, device="cpu").G.net[0].weight
    b = train(*pair(), data.double().numpy(), CONFIG, device="cpu").G.net[0].weight
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)  # float64 data rounded to float32: same run


def test_a_list_as_data_says_what_data_may_be():
    with pytest.raises(TypeError) as error:
        train(*pair(), [[0.0, 1.0]], CONFIG, device="cpu")
    says(error, "tensor of samples", r"sample_real\(n, generator\)", "got list")


def test_data_with_3_columns_and_g_with_3_columns_are_told_apart():
    # before: both gave D's "expects x of shape (B, 2), got (16, 3)"
    with pytest.raises(ValueError) as data_error:
        train(*pair(), torch.randn(100, 3), CONFIG, device="cpu")
    with pytest.raises(ValueError) as g_error:
        train(*pair(out_dim=3), RING.sample, CONFIG, device="cpu")
    says(data_error, "^the data has samples with 3 columns", "G outputs 2 columns and D takes those")
    says(g_error, "^G outputs samples with 3 columns", "the data's samples .* have 2 columns", "out_dim=2")


def test_one_dimensional_data_says_unsqueeze():
    G, D = init_models(0, lambda: mlp.MLPGenerator(width=8, out_dim=1), lambda: mlp.MLPDiscriminator(width=8, in_dim=1))
    with pytest.raises(ValueError) as error:
        train(G, D, torch.randn(100), CONFIG, device="cpu")
    says(error, "single numbers", r"data\.unsqueeze\(1\)")


def test_a_sampler_with_the_wrong_signature_names_the_expected_one():
    # before: "<lambda>() takes 1 positional argument but 2 were given", from deep inside the loop
    with pytest.raises(TypeError) as error:
        train(*pair(), lambda n: RING.sample(n), CONFIG, device="cpu")
    says(error, r"sample_real\(n, generator\)", r"\(n\) cannot be called that way")


def test_the_shape_probe_changes_no_random_state_and_no_batch_norm_statistics():
    from gancourse.validation import check_models_fit

    def sample_real(n, generator):  # a sampler that (wrongly) draws from the global generator too
        return RING.sample(n) + 0 * torch.rand(())

    G, D = init_models(0, lambda: mlp.MLPGenerator(width=8, norm="batch"), lambda: mlp.MLPDiscriminator(width=8))
    stats = [b.clone() for b in G.buffers()]
    torch.manual_seed(5)
    state = torch.random.get_rng_state()
    check_models_fit(G, D, sample_real, CONFIG, 1)
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(a, b) for a, b in zip(stats, G.buffers(), strict=True)) and G.training


# ---------------------------------------------------------------- training: the call


def test_a_dict_instead_of_a_train_config():
    with pytest.raises(TypeError) as error:
        train(*pair(), RING.sample, {"steps": 10}, device="cpu")
    says(error, "config must be a TrainConfig, got dict", r"TrainConfig\(\*\*your_dict\)")


def test_g_and_d_swapped():
    G, D = pair()
    with pytest.raises(ValueError) as error:
        train(D, G, RING.sample, CONFIG, device="cpu")
    says(error, "takes the generator first", "swap")


def test_a_callback_with_the_wrong_signature_fails_before_training():
    with pytest.raises(TypeError) as error:
        train(*pair(), RING.sample, CONFIG, callback=lambda step: None, device="cpu")
    says(error, r"callback\(step, history, G, D\)", "def callback")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has CUDA")
def test_a_device_the_machine_lacks():
    with pytest.raises(ValueError) as error:
        train(*pair(), RING.sample, CONFIG, device="cuda")
    says(error, "'cuda' is not available on this machine", "leave device=None")


# ---------------------------------------------------------------- TrainConfig


def test_numbers_given_as_tensors_or_numpy_scalars_are_accepted_as_plain_numbers():
    # before: "TrainConfig.steps must be an int >= 1, got tensor(10)"
    config = TrainConfig(steps=torch.tensor(10), batch_size=np.int64(8), lr_d=torch.tensor(1e-3),
                         lr_g=np.float32(2e-4), betas=(np.float64(0.5), torch.tensor(0.9)), progress=False)
    assert (config.steps, config.batch_size) == (10, 8) and type(config.steps) is int
    assert config.lr_d == pytest.approx(1e-3) and type(config.lr_d) is float
    assert config.betas == pytest.approx((0.5, 0.9))
    with pytest.raises(ValueError) as error:
        TrainConfig(steps=torch.tensor([10, 20]))
    says(error, "TrainConfig.steps must be a number", r"shape \(2,\)")


def test_a_float_step_count_says_how_to_write_it():
    with pytest.raises(ValueError) as error:
        TrainConfig(steps=1e4)
    says(error, "TrainConfig.steps must be an int >= 1", r"write 10000")


@pytest.mark.parametrize("field", ["lr_d", "lr_g"])
def test_a_negative_learning_rate(field):
    with pytest.raises(ValueError) as error:
        TrainConfig(**{field: -1e-3})
    says(error, f"TrainConfig.{field} must be a number > 0", "2e-4")


# ---------------------------------------------------------------- datasets


def test_a_fractional_sample_count():
    # before: "empty(): argument 'size' failed to unpack the object at pos 2"
    with pytest.raises(TypeError) as error:
        RING.sample(10.5)
    says(error, "n must be a whole number of samples", "10.5")
    assert RING.sample(np.int64(3)).shape == (3, 2)


def test_gancourse_data_naming_a_missing_folder_creates_nothing(tmp_path, monkeypatch):
    # before: the folder was created and 30 MB unpacked into it
    missing = tmp_path / "typo"
    monkeypatch.setenv(datasets.DATA_ENV, str(missing))
    with pytest.raises(datasets.DatasetNotFoundError) as error:
        datasets.fashion_mnist()
    says(error, "GANCOURSE_DATA=", "names no existing folder", "mkdir -p", "unset it")
    assert not missing.exists()


def test_gancourse_data_naming_a_file(tmp_path, monkeypatch):
    file = tmp_path / "data.txt"
    file.write_text("")
    monkeypatch.setenv(datasets.DATA_ENV, str(file))
    with pytest.raises(NotADirectoryError) as error:
        datasets.find_fashion_mnist()
    says(error, "GANCOURSE_DATA=", "names a file, not a folder")


# ---------------------------------------------------------------- dcgan


@pytest.mark.parametrize("kwargs, name", [({"width": 0}, "width"), ({"z_dim": 0}, "z_dim"),
                                          ({"channels": 0}, "channels"), ({"width": 2.5}, "width")])
def test_a_generator_of_size_zero_is_refused_when_built(kwargs, name):
    # before: width=0 failed inside the initialisation, z_dim=0 on the first forward
    with pytest.raises(ValueError) as error:
        dcgan.DCGANGenerator(**kwargs)
    says(error, f"{name} must be an int >= 1", f"e.g. {name}=")


def test_a_discriminator_of_width_zero_is_refused_when_built():
    with pytest.raises(ValueError, match="width must be an int >= 1"):
        dcgan.DCGANDiscriminator(width=0)


# ---------------------------------------------------------------- health


def _short_history(rows: int) -> History:
    values = {k: torch.full((rows,), v) for k, v in (("d_loss", 1.3), ("g_loss", 0.7), ("d_real", 0.5),
                                                     ("d_fake", 0.5), ("d_grad_norm", 1.0), ("g_grad_norm", 1.0))}
    return History.from_dict(values)


@pytest.mark.parametrize("rows", [0, 10])
def test_health_check_on_an_empty_or_short_history_says_not_enough_history(rows):
    # before: [] (read as "no symptoms")
    symptoms = HealthMonitor().check(_short_history(rows))
    assert [s.name for s in symptoms] == ["not_enough_history"]
    assert f"{rows} rows" in symptoms[0].message and "window=200" in symptoms[0].message
    assert HealthMonitor(window=10).check(_short_history(10)) == []  # a full window: now "no symptoms" is true
    monitor = HealthMonitor(verbose=False)
    monitor(rows, _short_history(rows))
    assert monitor.symptoms == [] and monitor.summary().startswith(f"not enough history: the monitor saw {rows} rows")


# ---------------------------------------------------------------- plots


@pytest.mark.parametrize("draw, words", [
    (lambda: plots.loss_curves(History()), "history is empty"),
    (lambda: plots.points_2d(torch.empty(0, 2), None), "x_real is empty"),
    (lambda: plots.points_2d(None, torch.empty(0, 2)), "x_fake is empty"),
    (lambda: plots.d_output_histogram(torch.empty(0), torch.empty(0)), "both empty"),
    (lambda: plots.sample_grid(torch.empty(0, 1, 28, 28)), "images is empty"),
    (lambda: plots.seeds_points(None, torch.empty(0, 10, 2)), "x_fake is empty"),
    (lambda: plots.mode_shares(torch.zeros(0, 8, dtype=torch.long), RING.centers), "counts is empty"),
    (lambda: plots.decision_surface(torch.nn.Linear(2, 1), torch.empty(0, 2), torch.zeros(3, 2)), "x_real is empty"),
])
def test_empty_inputs_to_plots_say_empty_instead_of_drawing_an_empty_figure(draw, words):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    with pytest.raises(ValueError, match=words) as error:
        draw()
    says(error, "nothing to draw|at least one")
    assert plt.get_fignums() == before  # no empty figure left behind
