"""Fixtures of the website test: the site built from the committed tree, served on 127.0.0.1, and a headless Chromium.

The site is built once per session by ``scripts/build_site.py`` from ``git archive HEAD`` (what a
fresh clone has: the committed, executed notebooks and README, nothing uncommitted and no old
build), served by ``http.server`` on a free port, and opened in Debian's
``chromium-headless-shell`` through Playwright for Python (never ``playwright install``: it
downloads browsers and cannot work offline). Screenshots go to ``build/screenshots/`` (git-ignored).

Without the instructor requirements (Jupyter Book, Playwright) or the browser these tests are
skipped, unless ``GANCOURSE_REQUIRE_INSTRUCTOR_TOOLS=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import importlib.util

import pytest
from site_browser import CHROMIUM, SCREENSHOTS, Site, build, committed_tree, need, serve


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Site:
    """The course site, built from the committed tree of HEAD."""
    root = committed_tree(tmp_path_factory.mktemp("clone"))
    built = build(root, root / "build" / "site")
    print(f"site built in {built.seconds:.0f} s")  # shown with -s
    return built


@pytest.fixture(scope="session")
def base_url(site: Site):
    server = serve(site.html)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    need(importlib.util.find_spec("playwright") is not None,
         "Playwright is not installed: pip install -r requirements-instructor.txt")
    need(CHROMIUM.exists(), f"no {CHROMIUM}: apt-get install chromium-headless-shell")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
