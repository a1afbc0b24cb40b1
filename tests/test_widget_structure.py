"""Chapter 05's browser of samples sorted by wrongness, pressed from Python."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from gancourse.widgets.structure import ScoredSamples, WrongnessBrowser, page_figure  # noqa: E402


def scored(n=30, channels=1, references=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, channels, 8, 8, generator=g) * 2 - 1
    wrongness = torch.randperm(n, generator=g).float()
    captions = [f"score {int(w)}" for w in wrongness]
    return ScoredSamples(images, wrongness, captions, images.clone() if references else None)


def test_pages_go_from_most_to_least_wrong():
    sets = {"grey": scored(), "colour": scored(13, 3, references=True, seed=1)}
    browser = WrongnessBrowser(sets, per_page=6, columns=3)
    assert browser.view.n_draws == 1 and browser.view.png is not None
    wrong = sets["grey"].wrongness
    assert browser.shown() == wrong.argsort(descending=True)[:6].tolist()
    assert wrong[browser.shown()[0]] == wrong.max()
    first_png = browser.view.png
    browser.next.click()
    assert browser.position.value == 6 and browser.view.n_draws == 2 and browser.view.png != first_png
    assert browser.shown() == wrong.argsort(descending=True)[6:12].tolist()
    for _ in range(10):  # past the end: stops at the last full page
        browser.next.click()
    assert browser.position.value == 24 == browser.position.max
    browser.previous.click()
    assert browser.position.value == 18
    browser.choice.value = "colour"  # another set: back to its most wrong sample, range updated
    assert browser.position.value == 0 and browser.position.max == 7
    assert browser.shown()[0] == int(sets["colour"].wrongness.argmax())
    draws = browser.view.n_draws
    browser.previous.click()  # already at the start: stays, redraw is harmless
    assert browser.position.value == 0 and browser.view.n_draws >= draws
    assert browser.message.text == ""


def test_ties_keep_their_order_and_page_figure_has_references():
    samples = ScoredSamples(torch.zeros(4, 1, 8, 8), torch.tensor([1.0, 2.0, 1.0, 2.0]), list("abcd"),
                            torch.zeros(4, 1, 8, 8))
    assert samples.order().tolist() == [1, 3, 0, 2]
    fig = page_figure(samples, [1, 3, 0], columns=2)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled.count("nearest real view") == 3 and {"b", "d", "a"} <= set(titled)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="one score per image"):
        ScoredSamples(torch.zeros(3, 1, 8, 8), torch.zeros(2), ["a", "b", "c"])
    with pytest.raises(ValueError, match="one string per image"):
        ScoredSamples(torch.zeros(3, 1, 8, 8), torch.zeros(3), ["a"])
    with pytest.raises(ValueError, match="C = 1 or 3"):
        ScoredSamples(torch.zeros(3, 2, 8, 8), torch.zeros(3), ["a", "b", "c"])
    with pytest.raises(ValueError, match="at least one"):
        WrongnessBrowser({})
    with pytest.raises(ValueError, match="per_page"):
        WrongnessBrowser({"x": scored()}, per_page=0)
