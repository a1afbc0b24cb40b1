"""A reader of a static page (nbconvert's HTML, as the website and GitHub show notebooks) sees the playground's
picture: the image/png that ``view.show`` puts beside the live widget. (In JupyterLab the live widget wins:
``test_playground.py`` checks that.)

nbconvert renders a widget only if the notebook carries the widget's saved state, which the committed chapters
leave out; then it falls back to the picture, as this test sees in the browser.
"""

from __future__ import annotations

import base64
import json

import nbformat

from .conftest import ROOT, screenshot

CHAPTER = ROOT / "chapters" / "00_setup_and_tour.ipynb"


def test_the_static_page_of_chapter_00_shows_the_playgrounds_picture(page, tmp_path):
    from nbconvert import HTMLExporter

    notebook = nbformat.read(CHAPTER, as_version=4)
    shown = [output for cell in notebook.cells if cell.cell_type == "code" and "view.show(pg" in cell.source
             for output in cell.outputs if "image/png" in output.get("data", {})]
    assert len(shown) == 1, "chapter 00 should show the playground once, with its picture"
    assert "application/vnd.jupyter.widget-view+json" in shown[0]["data"]
    picture = shown[0]["data"]["image/png"].replace("\n", "")
    html, _ = HTMLExporter().from_notebook_node(notebook)
    path = tmp_path / "00.html"
    path.write_text(html)
    page.goto(path.as_uri(), wait_until="domcontentloaded")  # offline: the page's CDN scripts fail, as they may
    image = page.locator(f'img[src="data:image/png;base64,{picture}"]')
    assert image.count() == 1
    image.scroll_into_view_if_needed()
    size = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size[0] > 300 and size[1] > 300  # decoded and drawn: the plane above the curves
    screenshot(image, "static_page_playground")
    assert base64.b64decode(picture)[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.dumps(notebook.metadata.get("widgets", {})).find(shown[0]["data"][
        "application/vnd.jupyter.widget-view+json"]["model_id"]) == -1  # no saved state for it
