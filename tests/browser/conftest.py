"""Fixtures of the real-browser tests: a JupyterLab server on 127.0.0.1 and Debian's headless Chromium via Playwright.

The server runs without a token on a free port, from a temporary folder holding copies of the
chapters (the tests run and autosave them; the repository's files are never touched), with its
own runtime, config, settings and workspace folders, and is stopped at the end. Its kernels get
``GANCOURSE_BUDGET=smoke`` (seconds per chapter), one CPU thread and this checkout on
``PYTHONPATH``. The browser is the system's ``chromium-headless-shell`` (``apt-get install
chromium-headless-shell``), driven by Playwright for Python (``requirements-instructor.txt``;
``playwright install`` is never needed). Without them the tests are skipped, unless
``GANCOURSE_REQUIRE_INSTRUCTOR_TOOLS=1`` (``.ci/run``) makes that a failure. Screenshots go to
``tests/browser/screenshots/`` (ignored by git).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("GANCOURSE_CHROMIUM", "/usr/lib/chromium/chromium-headless-shell"))
SCREENSHOTS = Path(__file__).parent / "screenshots"
AUTOSAVE_SECONDS = 2

# JupyterLab settings for the test server: autosave every few seconds (so a test can wait past it), no news or
# update checks (no network, no pop-ups), every cell in the page (JupyterLab 4 leaves cells that are far off
# screen out of the page, where a test could not find them)
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosaveInterval": AUTOSAVE_SECONDS},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


def need(ok: bool, why: str) -> None:
    """Skip when a browser-test tool is missing, or fail where CI requires the tools (``.ci/run`` sets
    ``GANCOURSE_REQUIRE_INSTRUCTOR_TOOLS=1`` after installing them)."""
    if ok:
        return
    if os.environ.get("GANCOURSE_REQUIRE_INSTRUCTOR_TOOLS") == "1":
        pytest.fail(f"{why} (required: GANCOURSE_REQUIRE_INSTRUCTOR_TOOLS=1)")
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A running JupyterLab: ``(base_url, folder)``; the folder holds copies of ``chapters/``."""
    need(importlib.util.find_spec("playwright") is not None,
         "Playwright is not installed: pip install -r requirements-instructor.txt")
    need(CHROMIUM.exists(), f"no {CHROMIUM}: apt-get install chromium-headless-shell")
    home = tmp_path_factory.mktemp("lab")
    folder = home / "course"
    shutil.copytree(ROOT / "chapters", folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name, value in LAB_SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "GANCOURSE_BUDGET": "smoke", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    log = open(home / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.allow_root=True",
         f"--ServerApp.root_dir={folder}", f"--LabApp.user_settings_dir={home / 'settings'}",
         f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.expose_app_in_browser=True"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {server.returncode}:\n{(home / 'server.log').read_text()}")
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    log_text = (home / "server.log").read_text()
                    raise RuntimeError(f"JupyterLab did not answer in 120 s:\n{log_text}") from None
                time.sleep(0.5)
        yield url, folder
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    """Chromium, one per test module: Playwright's sync API allows one instance at a time in a process, and the
    website tests (``tests/site``, which run after these) start their own."""
    need(importlib.util.find_spec("playwright") is not None,
         "Playwright is not installed: pip install -r requirements-instructor.txt")
    need(CHROMIUM.exists(), f"no {CHROMIUM}: apt-get install chromium-headless-shell")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser tab; at the end every kernel it started is shut down (they would keep a core busy)."""
    context = browser.new_context(viewport={"width": 1500, "height": 1900})  # tall: the whole playground in view
    page = context.new_page()
    yield page
    try:
        page.evaluate("async () => { if (window.jupyterapp) await window.jupyterapp.serviceManager.sessions"
                      ".shutdownAll(); }")
    finally:
        context.close()


def screenshot(target, name: str) -> Path:
    """Save a screenshot of a page (all of it) or of one element (a locator) in ``tests/browser/screenshots/``."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    target.screenshot(path=str(path), **({"full_page": True} if hasattr(target, "goto") else {}))
    return path


def open_notebook(page, url: str, name: str, timeout_ms: int = 180_000) -> None:
    """Open ``name`` in JupyterLab and wait until its kernel is idle."""
    page.goto(f"{url}/lab/tree/{name}")
    page.wait_for_function(
        "(name) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.isReady && w.context.path.endsWith(name); }", arg=name, timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def wait_idle(page, timeout_ms: int = 180_000) -> None:
    page.wait_for_function(
        "() => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;"
        " return k && k.status === 'idle'; }", timeout=timeout_ms)
