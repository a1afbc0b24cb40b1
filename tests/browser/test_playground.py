"""Chapter 00 in a real browser: it runs without an error, and the playground steps, plays and pauses.

What a learner does: open the chapter in JupyterLab, run all cells (at the smoke budget here),
then press Step, Play and Pause in the playground. The test reads the step counter and the
picture from the page, as a person would see them, and saves screenshots in
``tests/browser/screenshots/``. It also checks that JupyterLab shows the live widget, not the
static picture that ``view.show`` adds for readers of the website.
"""

from __future__ import annotations

import re
import time

from .conftest import open_notebook, screenshot, wait_idle

NOTEBOOK = "00_setup_and_tour.ipynb"


def current_step(page) -> int:
    text = page.locator(".gancourse-status").inner_text()
    return int(re.search(r"G step ([\d,]+)", text).group(1).replace(",", ""))


def field_picture(page) -> str:
    """The ``src`` of the playground's first picture (D's surface and the samples): a data URI that changes with it."""
    return page.locator(".gancourse-field img").get_attribute("src")


def wait_for_step(page, at_least: int, timeout_s: float = 240) -> int:
    deadline = time.monotonic() + timeout_s
    while (step := current_step(page)) < at_least:
        assert time.monotonic() < deadline, f"the playground stayed at G step {step}, expected >= {at_least}"
        time.sleep(0.3)
    return step


def test_chapter_00_runs_and_the_playground_steps_plays_and_pauses(lab, page):
    url, _ = lab
    open_notebook(page, url, NOTEBOOK)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    # every code cell ran: each has an execution count and the kernel is idle again
    page.wait_for_function(
        "() => { const nb = window.jupyterapp.shell.currentWidget;"
        " const cells = nb.content.widgets.filter(c => c.model.type === 'code');"
        " const k = nb.sessionContext.session?.kernel;"
        " return k && k.status === 'idle' && cells.every(c => c.model.executionCount !== null); }",
        timeout=600_000, polling=1000)
    wait_idle(page)
    errors = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets"
        ".flatMap(c => c.model.type === 'code' ? c.model.outputs.toJSON() : [])"
        ".filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)")
    screenshot(page, "chapter00_after_run_all")
    assert errors == [], f"cells raised: {errors}"

    # the live widget wins over the static picture that view.show puts in the same output: the cell's one output
    # is rendered as the widget (buttons and all), not as an image
    shown = page.evaluate(
        "() => { const cell = window.jupyterapp.shell.currentWidget.content.widgets"
        ".find(c => c.model.sharedModel.getSource().includes('view.show(pg'));"
        " const outputs = [...cell.node.querySelectorAll('.jp-OutputArea-child > .jp-OutputArea-output')]"
        ".filter(o => !o.parentElement.closest('.jupyter-widgets'));"
        " return { mimes: Object.keys(cell.model.outputs.get(0).data),"
        " rendered: outputs.map(o => o.classList.contains('jp-RenderedImage') ? 'image'"
        " : o.querySelector('.widget-vbox button') ? 'widget' : o.className) }; }")
    assert set(shown["mimes"]) == {"application/vnd.jupyter.widget-view+json", "image/png", "text/plain"}
    assert shown["rendered"] == ["widget"], shown
    page.locator(".gancourse-play").scroll_into_view_if_needed()

    step0, picture0 = current_step(page), field_picture(page)
    page.locator(".gancourse-step").click()
    step1 = wait_for_step(page, step0 + 1)
    page.wait_for_function("(old) => { const img = document.querySelector('.gancourse-field img');"
                           " return img && img.src !== old; }", arg=picture0, timeout=60_000)
    picture1 = field_picture(page)
    screenshot(page, "playground_after_step")
    widget = page.locator(".jp-OutputArea-output", has=page.locator(".gancourse-play")).first

    page.locator(".gancourse-play").click()
    frame = step1 - step0
    wait_for_step(page, step1 + 3 * frame)
    screenshot(widget, "playground_playing")
    page.locator(".gancourse-pause").click()
    page.wait_for_function("() => document.querySelector('.gancourse-status').innerText.includes('paused')",
                           timeout=60_000)
    time.sleep(1.0)  # a frame that was running when Pause was pressed finishes and is drawn
    paused_at = current_step(page)
    time.sleep(4.0)
    assert current_step(page) == paused_at, "training went on after Pause"
    assert field_picture(page) != picture1
    screenshot(widget, "playground_paused")

    # a bad value typed into a control: the engine's message in the widget, and the widget goes on
    page.get_by_role("tab", name="loss and optimizer").click()
    lr_d = page.locator(".gancourse-lr_d input")
    lr_d.fill("-0.001")
    lr_d.press("Enter")
    page.wait_for_function("() => document.querySelector('.gancourse-errors').innerText"
                           ".includes('TrainConfig.lr_d must be a number > 0')", timeout=60_000)
    screenshot(widget, "playground_bad_value")
    page.locator(".gancourse-step").click()
    wait_for_step(page, paused_at + frame)
