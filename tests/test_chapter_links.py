"""Every relative link in a chapter's text points to a file that exists (another chapter, a script, a figure).

A chapter may mention a chapter that is not written yet, in words; a link to it would be a dead
link on the course website and in JupyterLab, so the test fails until the target exists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))

# [text](target "title") and <a href="target">, <img src="target">
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


def relative_links(markdown: str) -> list[str]:
    """The link targets in ``markdown`` that point into the repository (no scheme, not a bare #anchor)."""
    targets = MARKDOWN_LINK.findall(markdown) + HTML_LINK.findall(markdown)
    return [t for t in targets if not urlparse(t).scheme and not t.startswith(("#", "//"))]


def chapter_links(path: Path) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [link for cell in notebook["cells"] if cell["cell_type"] == "markdown"
            for link in relative_links("".join(cell["source"]))]


def test_the_link_finder_finds_what_it_should():
    text = ('See [chapter 02](02_vanishing_gradients.ipynb), [a section](01_x.ipynb#the-game), '
            '![fig](../figures/a%20b.png "title"), <a href="../scripts/x.py">x</a>, '
            '[web](https://example.org/a.ipynb), [here](#local), [mail](mailto:a@b.c).')
    assert relative_links(text) == ["02_vanishing_gradients.ipynb", "01_x.ipynb#the-game", "../figures/a%20b.png",
                                    "../scripts/x.py"]


def test_there_are_chapters_to_check():
    assert len(CHAPTERS) >= 4


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_every_relative_link_resolves(chapter):
    broken = []
    for link in chapter_links(chapter):
        target = (chapter.parent / unquote(urlparse(link).path)).resolve()
        if not target.exists():
            broken.append(link)
        elif ROOT not in target.parents:
            broken.append(f"{link} (outside the repository)")
    assert not broken, f"{chapter.name} links to files that do not exist: {broken}; name a chapter that is not " \
                       f"written yet in words, without a link"
