"""The Fashion-MNIST classifier, FID on its features, class histograms and the stacked 1000 modes."""

import math
import shutil
from collections import Counter

import pytest
import torch

from gancourse.datasets import fashion_mnist
from gancourse.metrics import (
    ChecksumError,
    FIDScorer,
    class_histogram,
    fid,
    kl_to_uniform,
    load_classifier,
    make_stacked,
    predict_classes,
    stacked_modes,
)
from gancourse.metrics.classifier import CHECKSUM_PATH, WEIGHTS_PATH


@pytest.fixture(scope="module")
def classifier():
    return load_classifier()


@pytest.fixture(scope="module")
def test_split():
    return fashion_mnist("test")


@pytest.fixture(scope="module")
def train_subset():
    images, labels = fashion_mnist("train")
    return images[:1000], labels[:1000]


def test_classifier_loads_frozen_in_eval_mode(classifier, test_split):
    x = test_split[0][:8]
    assert not classifier.training
    assert not any(p.requires_grad for p in classifier.parameters())
    assert classifier(x).shape == (8, 10)
    assert classifier.features(x).shape == (8, classifier.num_features)
    assert WEIGHTS_PATH.stat().st_size < 1_000_000


def test_checksum_mismatch_raises(tmp_path):
    weights, checksum = tmp_path / "w.pt", tmp_path / "w.sha256"
    shutil.copyfile(WEIGHTS_PATH, weights)
    shutil.copyfile(CHECKSUM_PATH, checksum)
    load_classifier(weights_path=weights, checksum_path=checksum)  # the copies are consistent
    weights.write_bytes(weights.read_bytes() + b"\0")  # one extra byte
    with pytest.raises(ChecksumError, match="train_classifier.py"):
        load_classifier(weights_path=weights, checksum_path=checksum)
    with pytest.raises(FileNotFoundError, match="train_classifier.py"):
        load_classifier(weights_path=tmp_path / "missing.pt", checksum_path=checksum)


def test_test_accuracy_at_least_90_percent(classifier, test_split):
    images, labels = test_split  # the full 10,000-image test split
    accuracy = (predict_classes(images, classifier) == labels).float().mean().item()
    assert 0.90 <= accuracy < 0.97  # above 0.97 would be suspicious for so small a net


def frechet_reference(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Naive Fréchet distance: Tr sqrt(S_a S_b) = Tr sqrt(S_a^1/2 S_b S_a^1/2), square roots by eigh."""
    a, b = features_a.double(), features_b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def test_fid_sanity_and_reference(classifier, train_subset, test_split):
    x_train, x_test = train_subset[0], test_split[0][:1000]
    noise = torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    scorer = FIDScorer(x_train, classifier)
    fid_real, fid_noise = scorer(x_test), scorer(noise)
    assert 0 < 10 * fid_real < fid_noise  # real vs held-out real is far closer than real vs noise
    assert scorer(x_test) == pytest.approx(fid_real, rel=1e-9)  # the real statistics survive reset()
    assert abs(fid(x_test, x_test, classifier)) < 1e-4 * fid_real  # the one-shot function, on identical sets
    with torch.no_grad():
        reference = frechet_reference(classifier.features(x_train), classifier.features(x_test))
    assert fid_real == pytest.approx(reference, rel=1e-4)


def test_fid_uses_the_classifier_it_is_given(test_split):
    # another feature space (a small untrained net, 8 features): FID must be computed in it, not in the default one's
    from gancourse.metrics.classifier import FashionClassifier

    torch.manual_seed(0)
    other = FashionClassifier(widths=(4, 4, 4), num_features=8).eval()
    x_a, x_b = test_split[0][:200], test_split[0][200:400]
    with torch.no_grad():
        reference = frechet_reference(other.features(x_a), other.features(x_b))
    assert fid(x_a, x_b, other) == pytest.approx(reference, rel=1e-4)


def test_fid_batches_and_devices(classifier, test_split):
    x_a, x_b = test_split[0][:6], test_split[0][6:12]
    scorer = FIDScorer(x_a, classifier, batch_size=1)  # one image at a time: the same sums
    assert scorer.device == x_a.device and scorer.batch_size == 1
    assert scorer(x_b) == pytest.approx(FIDScorer(x_a, classifier)(x_b), rel=1e-6)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        FIDScorer(x_a, classifier, batch_size=0)
    # two images are the fewest with a covariance; one is refused
    with torch.no_grad():
        reference = frechet_reference(classifier.features(x_a[:2]), classifier.features(x_b[:2]))
    assert fid(x_a[:2], x_b[:2], classifier) == pytest.approx(reference, rel=1e-3)
    with pytest.raises(ValueError, match="at least 2 images"):
        fid(x_a[:2], x_b[:1], classifier)


def test_fid_when_the_course_picks_the_thread_count(classifier, test_split, monkeypatch):
    # without OMP_NUM_THREADS (the usual learner's set-up) threads.for_work sizes the threads from the work:
    # the suite sets OMP_NUM_THREADS=1, so this path runs only when the user's choice is hidden
    from gancourse.training import threads

    x_a, x_b = test_split[0][:20], test_split[0][20:40]
    expected = fid(x_a, x_b, classifier)
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "explicit_threads", lambda: None)
    assert fid(x_a, x_b, classifier) == pytest.approx(expected, rel=1e-6)
    assert torch.get_num_threads() == before  # restored


def test_fid_rejects_wrong_shape(classifier):
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        fid(torch.zeros(4, 3, 28, 28), torch.zeros(4, 3, 28, 28), classifier)


def test_class_histogram_matches_counting_predictions(classifier, test_split):
    images = test_split[0][:500]
    hist = class_histogram(images, classifier, batch_size=128)
    predictions = classifier(images).argmax(1).tolist()
    reference = torch.tensor([Counter(predictions)[k] / 500 for k in range(10)])
    torch.testing.assert_close(hist, reference)


def test_class_histogram_of_one_class_is_one_hot(classifier, test_split):
    images, labels = test_split
    trouser = images[labels == 1][:1].expand(50, -1, -1, -1)  # one trouser, 50 times
    torch.testing.assert_close(class_histogram(trouser, classifier), torch.eye(10)[1])
    assert class_histogram(images[labels == 1], classifier)[1] > 0.9  # real trousers: nearly one-hot


def test_kl_to_uniform_by_hand():
    assert kl_to_uniform(torch.full((10,), 0.1)) == pytest.approx(0.0, abs=1e-12)
    assert kl_to_uniform(torch.eye(10)[3]) == pytest.approx(math.log(10))
    assert kl_to_uniform(torch.tensor([5.0, 5.0, 0, 0, 0, 0, 0, 0, 0, 0])) == pytest.approx(math.log(5))
    assert kl_to_uniform(torch.tensor([3.0])) == 0.0  # one bin: uniform over one class
    with pytest.raises(ValueError, match="positive sum"):
        kl_to_uniform(torch.zeros(10))
    with pytest.raises(ValueError, match="non-empty"):
        kl_to_uniform(torch.zeros(0))


def test_predict_classes_of_no_images_is_empty(classifier):
    classes = predict_classes(torch.zeros(0, 1, 28, 28), classifier)
    assert classes.shape == (0,) and classes.dtype == torch.long


def test_make_stacked_takes_three_labelled_images():
    images = torch.arange(30.0).view(30, 1, 1, 1).expand(30, 1, 28, 28)  # image i is filled with i
    labels = torch.arange(30) % 10
    x, y = make_stacked(images, labels, 100, torch.Generator().manual_seed(0))
    assert x.shape == (100, 3, 28, 28) and y.shape == (100, 3)
    torch.testing.assert_close(x[:, :, 0, 0].long() % 10, y)  # each channel carries its own label
    x_again, _ = make_stacked(images, labels, 100, torch.Generator().manual_seed(0))
    torch.testing.assert_close(x, x_again)


def test_stacked_modes_on_real_and_collapsed_data(classifier, test_split):
    x, y = make_stacked(*test_split, 4000, torch.Generator().manual_seed(0))
    modes_hit, kl = stacked_modes(x, classifier)
    # reference from the true labels: 4,000 uniform draws over 1,000 modes hit about 982 of them
    true_counts = torch.bincount(100 * y[:, 0] + 10 * y[:, 1] + y[:, 2], minlength=1000)
    true_modes = int((true_counts > 0).sum())
    assert true_modes - 15 <= modes_hit <= true_modes + 15  # ~8% of channels misread, most onto hit modes
    # the exact score, by a naive loop: classify each channel alone, count the distinct triples
    with torch.no_grad():
        channels = [classifier(x[:, c : c + 1]).argmax(1).tolist() for c in range(3)]
    triples = Counter(zip(*channels, strict=True))
    assert modes_hit == len(triples)
    p = torch.tensor(list(triples.values()), dtype=torch.float64) / len(x)
    assert kl == pytest.approx(math.log(1000) + float((p * p.log()).sum()), rel=1e-9)
    # the empirical KL of 4,000 uniform draws is about (1000 - 1) / (2 * 4000) = 0.12, not 0
    assert 0.5 * kl_to_uniform(true_counts) < kl < 0.4
    collapsed = x[:1].expand(300, -1, -1, -1)  # one triple of classes only
    modes_hit, kl = stacked_modes(collapsed, classifier)
    assert modes_hit == 1
    # two triples, 2:1, in the channel order (c0, c1, c2): (0, 1, 2) != (2, 1, 0)
    images, labels = test_split
    one = {k: images[labels == k][:1] for k in (0, 1, 2)}
    a, b = torch.cat([one[0], one[1], one[2]], 1), torch.cat([one[2], one[1], one[0]], 1)
    modes_hit_ab, kl_ab = stacked_modes(torch.cat([a.expand(20, -1, -1, -1), b.expand(10, -1, -1, -1)]), classifier)
    assert modes_hit_ab == 2
    assert kl_ab == pytest.approx(math.log(1000) + (2 / 3) * math.log(2 / 3) + (1 / 3) * math.log(1 / 3))
    assert kl == pytest.approx(math.log(1000))


def test_confident_class_histogram_counts_only_confident_predictions():
    from gancourse.metrics import class_probabilities, confident_class_histogram

    class Fixed(torch.nn.Module):  # a "classifier" whose softmax we choose: logits from the image's first pixel
        def forward(self, x):
            logits = torch.zeros(len(x), 10)
            logits[:, 3] = x[:, 0, 0, 0] * 20  # pixel 1 -> class 3 with softmax ~1; pixel 0 -> all classes 0.1
            return logits

    images = torch.zeros(6, 1, 28, 28)
    images[:4, 0, 0, 0] = 1.0
    probs = class_probabilities(images, Fixed(), batch_size=4)  # two batches
    torch.testing.assert_close(probs, Fixed()(images).softmax(1))
    counts, share = confident_class_histogram(probs, 0.99)
    naive = torch.zeros(10, dtype=torch.long)  # the reference: a loop over samples
    for p in probs:
        if p.max() >= 0.99:
            naive[p.argmax()] += 1
    assert torch.equal(counts, naive) and counts[3] == 4 and counts.sum() == 4
    assert share == pytest.approx(4 / 6)
    counts, share = confident_class_histogram(torch.tensor([[0.5, 0.5], [0.95, 0.05]]), 0.9)
    assert counts.tolist() == [1, 0] and share == 0.5
    with pytest.raises(ValueError, match="threshold"):
        confident_class_histogram(probs, 1.0)
    with pytest.raises(ValueError, match="threshold"):
        confident_class_histogram(probs, 0.0)  # every sample would be "confident"
    with pytest.raises(ValueError, match="images must have shape"):
        class_probabilities(torch.zeros(2, 28, 28), Fixed())
    with pytest.raises(ValueError, match="images must have shape"):
        class_probabilities(torch.zeros(2, 3, 28, 28), Fixed())  # 4-D, but 3 channels


def test_fid_features_stay_in_eval_mode_whatever_train_is_asked(classifier, test_split):
    from gancourse.metrics.fid import ClassifierFeatures

    x = test_split[0][:64]
    features = ClassifierFeatures(classifier)
    running_mean = classifier.body[0][1].running_mean.clone()
    assert features.train() is features and features.train(True) is features
    assert not features.training and not classifier.training
    assert not any(m.training for m in features.modules())
    out = features(x)
    assert torch.equal(classifier.body[0][1].running_mean, running_mean)  # batch norm statistics untouched
    torch.testing.assert_close(out, classifier.features(x))  # eval-mode features, as FID needs
    assert features.num_features == classifier.num_features == out.shape[1]
