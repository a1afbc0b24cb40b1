"""The course website in a real browser: every chapter page loads, its math is rendered, its figures are there,
no internal link is broken, and nothing is fetched from the network.

The site is built from the committed tree (see conftest.py); chapters are found by glob, so a new
chapter is checked as soon as it is committed. ``pytest tests/site -k 03`` checks one chapter's page
(the site is built whole either way). Screenshots: ``build/screenshots/``.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from site_browser import ROOT, build, load_build_site, open_page, serve

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
WIDGET_ERRORS = ("Error displaying widget", "Loading widget", "Widget Javascript not detected", "model not found")

KNOWN_FAILURES: dict[tuple[str, str], str] = {}
"""(test, chapter stem) -> why it fails today; xfail(strict=False), so that the fix turns it into a pass."""


def _chapters(test: str) -> list:
    params = []
    for path in CHAPTERS:
        reason = KNOWN_FAILURES.get((test, path.stem))
        marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
        params.append(pytest.param(path.stem, id=path.stem, marks=marks))
    return params


def expected_images(nb: dict) -> int:
    """How many pictures the page of ``nb`` must show: outputs whose best static form is an image.

    A widget view with a picture beside it (``gancourse.widgets.view.show``) counts: the site shows
    the picture. An output that also has HTML shows the HTML.
    """
    count = 0
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if any(mime in data for mime in IMAGE_MIMES) and "text/html" not in data:
                count += 1
    return count


def has_math(nb: dict) -> bool:
    return any("$" in "".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "markdown")


# Text outside code and math: where a "$" or "\(" left over means math that was not rendered.
PROSE_JS = """() => {
    const article = document.querySelector('article.bd-article').cloneNode(true);
    article.querySelectorAll('pre, code, mjx-container, script, style, .cell_output').forEach(e => e.remove());
    return article.innerText;
}"""

IMAGES_JS = """() => [...document.querySelectorAll('article.bd-article img')].map(
    img => ({src: img.getAttribute('src'), complete: img.complete, width: img.naturalWidth}))"""

LINKS_JS = """() => [
    ...[...document.querySelectorAll('a[href]')].map(a => a.href),
    ...[...document.querySelectorAll('img[src], script[src]')].map(e => e.src),
    ...[...document.querySelectorAll('link[href]')].map(e => e.href),
]"""


def wait_for_mathjax(page) -> None:
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60_000)
    page.evaluate("() => MathJax.startup.promise")


def test_the_landing_page_is_the_readme_with_every_chapter_in_the_table_of_contents(browser, base_url, screenshots):
    visit = open_page(browser, base_url + "/")
    page = visit.page
    page.screenshot(path=str(screenshots / "landing.png"))
    assert page.url.endswith("/intro.html")  # index.html forwards to the first page
    title = (ROOT / "README.md").read_text().splitlines()[0].lstrip("# ").strip()
    assert page.locator("article h1").first.inner_text().strip().rstrip("#").strip() == title
    hrefs = page.evaluate("() => [...document.querySelectorAll('article a[href], nav a[href]')].map(a => a.href)")
    for path in CHAPTERS:
        assert f"{base_url}/chapters/{path.stem}.html" in hrefs, f"{path.stem} missing from the table of contents"
    assert (visit.external, visit.failed, visit.errors) == ([], [], [])
    page.close()


@pytest.mark.parametrize("stem", _chapters("page"))
def test_the_chapter_page_shows_text_math_and_figures(stem, site, browser, base_url, screenshots):
    nb = json.loads((site.root / "chapters" / f"{stem}.ipynb").read_text())
    visit = open_page(browser, f"{base_url}/chapters/{stem}.html")
    page = visit.page
    wait_for_mathjax(page)
    page.screenshot(path=str(screenshots / f"{stem}-top.png"))
    page.screenshot(path=str(screenshots / f"{stem}-full.jpg"), full_page=True, type="jpeg", quality=60)

    title = next(line for cell in nb["cells"] if cell["cell_type"] == "markdown"
                 for line in "".join(cell["source"]).splitlines() if line.startswith("# "))
    assert page.locator("article h1").first.inner_text().strip().rstrip("#").strip() == title[2:].strip()
    run_note = page.locator(".admonition", has_text="Run this chapter")
    assert f"jupyter lab chapters/{stem}.ipynb" in run_note.inner_text()

    if has_math(nb):
        assert page.locator("mjx-container").count() > 0, "no math rendered by MathJax"
    assert page.locator("mjx-merror").count() == 0, "MathJax reports a TeX error"
    prose = page.evaluate(PROSE_JS)
    raw = re.findall(r"\$[^$\n]{1,60}\$?|\\\(|\\\[", prose)
    assert raw == [], f"math left unrendered in the text: {raw[:5]}"

    images = page.evaluate(IMAGES_JS)
    assert len(images) >= max(1, expected_images(nb)), f"{len(images)} images, {expected_images(nb)} expected"
    broken = [image["src"] for image in images if not image["complete"] or image["width"] == 0]
    assert broken == [], f"images that did not load: {broken}"

    text = page.inner_text("article.bd-article")
    assert not [message for message in WIDGET_ERRORS if message in text], "a widget shows an error, not its picture"
    downloads = page.evaluate("() => [...document.querySelectorAll('a[href*=\"/_sources/\"]')].map(a => a.href)")
    assert downloads, "no download link for the notebook"
    with urllib.request.urlopen(downloads[0], timeout=30) as response:  # the chapter as committed, not the site's copy
        assert response.read() == (site.root / "chapters" / f"{stem}.ipynb").read_bytes()
    assert visit.external == [], f"requests off the site (it must work offline): {visit.external}"
    assert visit.failed == [] and visit.errors == []
    page.close()


@pytest.mark.parametrize("stem", _chapters("warnings"))
def test_the_chapter_builds_without_warnings(stem, site):
    assert [w for w in site.warnings if f"chapters/{stem}.ipynb" in w] == []


def test_the_site_builds_without_other_warnings(site):
    assert [w for w in site.warnings if not re.search(r"chapters/\d\d_\w+\.ipynb", w)] == []


class LinkChecker:
    """Fetches each internal URL once and knows the ids of each HTML page, for links with a #fragment."""

    def __init__(self):
        self.status: dict[str, int] = {}
        self.ids: dict[str, set[str]] = {}

    def fetch(self, url: str) -> int:
        if url not in self.status:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    self.status[url] = response.status
                    if url.endswith(".html") or url.endswith("/"):
                        body = response.read().decode("utf-8", "replace")
                        self.ids[url] = set(re.findall(r'\b(?:id|name)="([^"]+)"', body))
            except urllib.error.HTTPError as error:
                self.status[url] = error.code
        return self.status[url]

    def broken(self, links: list[str], origin: str) -> list[str]:
        found = []
        for link in sorted(set(links)):
            if not link.startswith(origin + "/"):
                continue  # another host: the run-locally link to localhost:8888, or none at all
            url, fragment = urldefrag(link)
            status = self.fetch(url)
            if status != 200:
                found.append(f"{link}: HTTP {status}")
            elif fragment and url in self.ids and fragment not in self.ids[url]:
                found.append(f"{link}: no #{fragment} on that page")
        return found


@pytest.fixture(scope="module")
def links():
    return LinkChecker()


@pytest.mark.parametrize("stem", [pytest.param("intro", id="intro"), *_chapters("links")])
def test_every_internal_link_of_the_page_resolves(stem, browser, base_url, links):
    path = "/intro.html" if stem == "intro" else f"/chapters/{stem}.html"
    visit = open_page(browser, base_url + path)
    hrefs = visit.page.evaluate(LINKS_JS)
    visit.page.close()
    assert hrefs, "no links at all"
    assert links.broken(hrefs, base_url) == []


def test_every_page_reachable_from_the_landing_page_loads(browser, base_url, links):
    """Crawl: from index.html, every internal HTML page linked from a page already reached loads (HTTP 200)."""
    queue, seen, broken = [base_url + "/intro.html"], set(), []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        visit = open_page(browser, url)
        hrefs = visit.page.evaluate(LINKS_JS)
        visit.page.close()
        for link in hrefs:
            target = urldefrag(link)[0]
            if target.startswith(base_url + "/") and urlsplit(target).path.endswith(".html") and target not in seen:
                if links.fetch(target) == 200:
                    queue.append(target)
                else:
                    broken.append(f"{target} (linked from {url})")
    assert broken == []
    chapter_pages = {f"{base_url}/chapters/{path.stem}.html" for path in CHAPTERS}
    assert chapter_pages <= seen, f"chapters not reachable: {sorted(chapter_pages - seen)}"


def test_a_widget_shows_its_picture_on_the_site(tmp_path: Path, browser, screenshots):
    """A chapter widget shown with gancourse.widgets.view.show: the static page shows its picture, not an error."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(cells=[
        new_markdown_cell("# 00 A made-up chapter with a widget\n\nIts math: $x^2$."),
        new_code_cell("import ipywidgets as W\nimport matplotlib.pyplot as plt\nfrom gancourse.widgets import view\n"
                      "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([0, 1], [0, 1])\n"
                      "view.show(W.IntSlider(value=3, description='steps'), fig)"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    (tmp_path / "chapters").mkdir()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    data = nb.cells[1].outputs[0]["data"]
    assert {"image/png", "application/vnd.jupyter.widget-view+json"} <= set(data)  # the bundle show() makes
    nbformat.write(nb, tmp_path / "chapters" / "00_widget.ipynb")
    (tmp_path / "README.md").write_text("# A made-up course\n")
    built = build(tmp_path, tmp_path / "build" / "site")
    server = serve(built.html)
    try:
        visit = open_page(browser, f"http://127.0.0.1:{server.server_address[1]}/chapters/00_widget.html")
        page = visit.page
        wait_for_mathjax(page)
        page.screenshot(path=str(screenshots / "widget-fallback.png"))
        images = page.evaluate(IMAGES_JS)
        assert len(images) == 1 and images[0]["width"] > 0, images
        text = page.inner_text("article.bd-article")
        assert not [message for message in WIDGET_ERRORS if message in text]
        assert "IntSlider" not in page.inner_text(".cell_output")  # nor the widget's text/plain repr
        assert visit.external == [] and visit.failed == [] and visit.errors == []
    finally:
        server.shutdown()
    html = (built.html / "chapters" / "00_widget.html").read_text()
    assert "widget-state+json" not in html  # nothing on the page uses the saved widget state
    assert built.warnings == []


def test_a_progress_bar_without_a_picture_shows_its_saved_text():
    """tqdm's notebook bar (a widget with no picture) becomes its saved text and a <progress>, not "0%"."""
    build_site = load_build_site()
    state = {
        "box": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_a", "IPY_MODEL_b", "IPY_MODEL_c"]}},
        "a": {"model_name": "HTMLModel", "state": {"value": "training: 100%"}},
        "b": {"model_name": "FloatProgressModel", "state": {"value": 2000.0, "max": 2000.0}},
        "c": {"model_name": "HTMLModel", "state": {"value": " 2000/2000 [00:13&lt;00:00]"}},
        "slider": {"model_name": "IntSliderModel", "state": {"value": 3}},
    }
    view = "application/vnd.jupyter.widget-view+json"
    nb = {"metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": state}}}, "cells": [
        {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {
            view: {"model_id": "box"}, "text/plain": "training:   0%|"}}]},
        {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {
            view: {"model_id": "slider"}, "text/plain": "IntSlider(value=3)"}}]},
    ]}
    assert build_site.static_outputs(nb) == 2
    bar = nb["cells"][0]["outputs"][0]["data"]["text/html"]
    assert "training: 100%" in bar and '<progress value="2000.0" max="2000.0">' in bar and "2000/2000" in bar
    assert "text/html" not in nb["cells"][1]["outputs"][0]["data"]  # a slider cannot be drawn: its text shows
    assert "widgets" not in nb["metadata"]


def test_the_table_of_contents_lists_every_chapter_file_in_order():
    build_site = load_build_site()
    toc = build_site.table_of_contents(["00_a", "01_b", "10_c"])
    assert toc.splitlines() == ["format: jb-book", "root: intro", "chapters:",
                                "  - file: chapters/00_a", "  - file: chapters/01_b", "  - file: chapters/10_c"]
    page = build_site.landing_page("# T\n\nSee [ch 1](chapters/01_b.ipynb), [data](data/README.md), "
                                   "[web](https://example.org), ![img](x.png).\n", ["00_a", "01_b"])
    assert "[ch 1](chapters/01_b.ipynb)" in page and "[data]" not in page and " data," in page
    assert "[web](https://example.org)" in page and "![img](x.png)" in page
    assert page.endswith("```{tableofcontents}\n```\n")


def test_mathjax_is_served_by_the_site(site):
    config = (site.html / "_static" / "mathjax" / "tex-chtml.js")
    assert config.exists() and config.stat().st_size > 100_000
    fonts = list((site.html / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))
    assert fonts, "MathJax's CHTML fonts are missing"
    page = (site.html / "chapters" / f"{CHAPTERS[0].stem}.html").read_text()
    assert re.search(r'<script [^>]*src="\.\./_static/mathjax/tex-chtml\.js', page)
    assert "cdn.jsdelivr.net" not in page and "cdnjs" not in page
