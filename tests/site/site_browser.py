"""Helpers of the website test (tests/site/): build the site from the committed tree, serve it, open pages.

Kept out of conftest.py so that test modules can import them by a name no other test folder uses.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import io
import os
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/lib/chromium/chromium-headless-shell")
SCREENSHOTS = ROOT / "build" / "screenshots"
MATHJAX = ROOT / "build" / "npm" / "node_modules" / "mathjax" / "es5"


def need(condition: bool, why: str) -> None:
    """Skip the test when ``condition`` fails, or fail it where CI requires the instructor tools."""
    if condition:
        return
    if os.environ.get("GANCOURSE_REQUIRE_INSTRUCTOR_TOOLS") == "1":
        pytest.fail(f"{why} (required: GANCOURSE_REQUIRE_INSTRUCTOR_TOOLS=1)")
    pytest.skip(why)


def load_build_site():
    """scripts/build_site.py as a module."""
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "scripts" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Site:
    """A built site: its HTML folder, Sphinx's warnings, the tree it was built from, and the build's seconds."""

    html: Path
    warnings: list[str]
    root: Path
    seconds: float


def committed_tree(destination: Path) -> Path:
    """Unpack ``git archive HEAD`` of this repository into ``destination`` (a fresh clone's files).

    Outside a git checkout (an unpacked release), the repository folder itself is returned.
    """
    run = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD"], capture_output=True)
    if run.returncode != 0:
        return ROOT
    archive = run.stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    return destination


def build(root: Path, out: Path) -> Site:
    """Build the site of ``root`` into ``out`` with the same script and options README gives."""
    need(importlib.util.find_spec("jupyter_book") is not None,
         "Jupyter Book is not installed: pip install -r requirements-instructor.txt")
    start = time.perf_counter()
    html, warnings = load_build_site().build(root, out, MATHJAX if MATHJAX.exists() else None,
                                             npm_prefix=ROOT / "build" / "npm")
    return Site(html, warnings, root, time.perf_counter() - start)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the stdlib's name)
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a closed page drops its pending requests
            super().handle_error(request, client_address)


def serve(folder: Path):
    """An HTTP server on 127.0.0.1 and a free port, serving ``folder`` from a daemon thread."""
    server = QuietServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Visit:
    """A browser page plus what went wrong while it loaded: requests off the site, failed requests, JS errors."""

    page: object
    external: list[str]
    failed: list[str]
    errors: list[str]


KNOWN_CONSOLE_NOISE = ("Got invalid theme mode",)
"""pydata-sphinx-theme's first-visit message (no theme chosen yet), not a fault."""


def open_page(browser, url: str) -> Visit:
    """Open ``url`` with every request to another host refused and recorded (the site must work offline)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    visit = Visit(page, [], [], [])

    def route(request_route):
        if request_route.request.url.startswith(origin + "/") or request_route.request.url.startswith("data:"):
            request_route.continue_()
        else:
            visit.external.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("response", lambda r: r.status >= 400 and visit.failed.append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: r.url.startswith(origin) and visit.failed.append(f"failed {r.url}"))
    page.on("pageerror", lambda error: visit.errors.append(f"page error: {error}"))
    page.on("console", lambda m: m.type == "error" and not m.text.startswith(KNOWN_CONSOLE_NOISE)
            and visit.errors.append(f"console: {m.text}"))
    response = page.goto(url, wait_until="networkidle")  # fonts and icons too, for the screenshots
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
    return visit
