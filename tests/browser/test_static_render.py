"""A reader of a static page sees the playground's picture: the image/png that ``view.show`` puts beside the live
widget. (In JupyterLab the live widget wins: ``test_playground.py`` checks that.)

The course's website leaves widget views and their saved state out of its pages (``scripts/build_site.py``,
``static_outputs``), so the picture is what a renderer that cannot run widgets shows. This test prepares chapter 00
that way, renders it with nbconvert and looks at the page in the browser.
"""

from __future__ import annotations

import base64
import json

import nbformat
from script_loader import load_script

from .conftest import ROOT, screenshot

CHAPTER = ROOT / "chapters" / "00_setup_and_tour.ipynb"


def _site_builder():
    return load_script("scripts/build_site.py")


def test_the_static_page_of_chapter_00_shows_the_playgrounds_picture(page, tmp_path):
    from nbconvert import HTMLExporter

    notebook = nbformat.read(CHAPTER, as_version=4)
    shown = [output for cell in notebook.cells if cell.cell_type == "code" and "view.show(pg" in cell.source
             for output in cell.outputs if "image/png" in output.get("data", {})]
    assert len(shown) == 1, "chapter 00 should show the playground once, with its picture"
    assert "application/vnd.jupyter.widget-view+json" in shown[0]["data"]
    picture = shown[0]["data"]["image/png"].replace("\n", "")
    assert base64.b64decode(picture)[:8] == b"\x89PNG\r\n\x1a\n"

    static = json.loads(nbformat.writes(notebook))
    assert _site_builder().static_outputs(static) == 1  # only tqdm's bar has no picture of its own
    html, _ = HTMLExporter().from_notebook_node(nbformat.reads(json.dumps(static), as_version=4))
    path = tmp_path / "00.html"
    path.write_text(html)
    page.goto(path.as_uri(), wait_until="domcontentloaded")  # offline: the page's CDN scripts fail, as they may
    image = page.locator(f'img[src="data:image/png;base64,{picture}"]')
    assert image.count() == 1
    image.scroll_into_view_if_needed()
    width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert width > 300 and height > 300  # decoded and drawn: the plane above the curves
    screenshot(image, "static_page_playground")
