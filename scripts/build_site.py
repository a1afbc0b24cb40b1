"""Build the course website from the committed, executed chapter notebooks, offline, without executing them.

Usage (from the repository root; README, "The website")::

    python scripts/build_site.py                   # -> build/site/_build/html/index.html
    python -m http.server -d build/site/_build/html 8000   # then open http://127.0.0.1:8000
    python scripts/build_site.py --install-mathjax # only the set-up step: npm-install MathJax 3 (once)

Jupyter Book 1 (Sphinx + MyST-NB; ``requirements-instructor.txt``) renders one page per
``chapters/NN_*.ipynb`` with its saved outputs, a landing page made from README.md, and a table of
contents generated from the chapter files, so a new chapter appears without any change here.
The book's sources are generated into ``build/site/src/`` (git-ignored): copies of the notebooks
with a "run this chapter" note under the title, widget views replaced by what a static page can
show (the picture ``gancourse.widgets.view.show`` stores beside each widget; a progress bar as
its saved text and bar), and MathJax 3 served from the site itself, so math renders with no
network (``npm install``ed once into ``build/npm/``; pass ``--mathjax`` to use another copy).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"
MATHJAX_PACKAGE = "mathjax@3.2.2"
MATHJAX_ENTRY = "tex-chtml.js"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
TITLE = "Why GANs are hard to train, and what fixes them"

CONFIG = {
    "title": TITLE,
    "author": "the gancourse authors",
    "copyright": "MIT licence",
    "only_build_toc_files": True,
    # The notebooks are committed executed; the site shows what they computed.
    "execute": {"execute_notebooks": "off"},
    # No linkify: it would turn a file name such as COURSE.md into a link to a web site.
    "parse": {"myst_enable_extensions": ["amsmath", "colon_fence", "dollarmath"]},
    "html": {"home_page_in_navbar": True, "use_repository_button": False},
    "launch_buttons": {"notebook_interface": "jupyterlab"},
    # This file is also a Sphinx extension (see setup below); build() adds its folder as local_extensions.
    "sphinx": {"local_extensions": {"build_site": "SCRIPTS"}, "config": {
        # MathJax 3 from the site itself: Sphinx copies assets/ into the site's _static/ and reads a
        # relative mathjax_path from there. (Not the book's own _static/: Jupyter Book would add a
        # <script> for every .js file in it, MathJax's hundreds of components included.)
        "html_static_path": ["assets"],
        "mathjax_path": f"mathjax/{MATHJAX_ENTRY}",
        # Anchors on headings, so that a page can link to a section of another (intro.md#set-up-two-commands).
        "myst_heading_anchors": 3,
        # $$ ... $$ inside a paragraph is display math, as JupyterLab shows it (Jupyter Book 1 does not pass
        # this one on from its parse: section).
        "myst_dmath_double_inline": True,
        # A static page cannot run a widget: show the picture stored beside it instead, and load no
        # widget JavaScript (MyST-NB would fetch it from a CDN).
        "nb_mime_priority_overrides": [["html", WIDGET_VIEW, None]],
        "nb_ipywidgets_js": {},
    }},
}


def chapter_paths(root: Path) -> list[Path]:
    """Every ``root/chapters/NN_*.ipynb``, in order."""
    return sorted((root / "chapters").glob(CHAPTER_GLOB))


def widget_html(state: dict[str, Any], model_id: str) -> str | None:
    """Static HTML of a saved widget made of boxes, text and progress bars (tqdm's bar); None for other widgets."""
    model = state.get(model_id)
    if model is None:
        return None
    name, values = model["model_name"], model["state"]
    if name in ("HBoxModel", "VBoxModel", "BoxModel"):
        parts = [widget_html(state, child.removeprefix("IPY_MODEL_")) for child in values.get("children", [])]
        if any(part is None for part in parts):
            return None
        direction = "column" if name == "VBoxModel" else "row"
        return f'<div style="display:flex; flex-direction:{direction}; gap:0.5em">{"".join(parts)}</div>'
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<span>{values.get('value', '')}</span>"  # already HTML (tqdm escapes its text)
    if name == "LabelModel":
        return f"<span>{html.escape(str(values.get('value', '')))}</span>"
    if name in ("FloatProgressModel", "IntProgressModel"):
        return f'<progress value="{values.get("value", 0)}" max="{values.get("max", 100)}"></progress>'
    return None


def static_outputs(nb: dict[str, Any]) -> int:
    """Make ``nb``'s widget outputs static, in place; return how many widget views had no picture to fall back on.

    A widget view with an ``image/png`` fallback (``gancourse.widgets.view.show``) keeps it: the site's
    MIME priority drops the view, so the picture is what shows. One without a picture gets the HTML
    of its saved state where :func:`widget_html` can draw it (a progress bar), else shows its text.
    The saved widget state is removed: nothing on a static page uses it.
    """
    state = nb.get("metadata", {}).pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    without_picture = 0
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data or "image/png" in data:
                continue
            without_picture += 1
            drawn = widget_html(state, data[WIDGET_VIEW]["model_id"])
            if drawn is not None:
                data["text/html"] = drawn
    return without_picture


def setup_link(readme: str) -> str:
    """The link, from a chapter page, to README's set-up section on the first page (to the page if it has none)."""
    from myst_parser.mdit_to_docutils.base import default_slugify  # the anchors myst_heading_anchors makes

    heading = next((line.lstrip("#").strip() for line in readme.splitlines()
                    if re.match(r"##+ +set-?up", line, re.IGNORECASE)), None)
    return "../intro.md" + (f"#{default_slugify(heading)}" if heading else "")


def run_note(stem: str, setup: str = "../intro.md") -> dict[str, Any]:
    """The markdown cell put under a chapter's title: how to run it in JupyterLab on your own machine."""
    text = (
        ":::{admonition} Run this chapter\n:class: tip\n"
        "This page shows the notebook as it was executed. To run it, move its widgets and do its exercises, "
        f"set up the course on your machine (see [Set-up]({setup}) on the first page), "
        f"then open it in JupyterLab: `jupyter lab chapters/{stem}.ipynb`. With JupyterLab already running "
        f"from the course folder, this link opens it: <http://localhost:8888/lab/tree/chapters/{stem}.ipynb>. "
        "The download button at the top of the page gives the notebook itself.\n:::"
    )
    return {"cell_type": "markdown", "id": f"run-{stem}"[:64], "metadata": {}, "source": text}


def chapter_copy(path: Path, out: Path, setup: str = "../intro.md") -> int:
    """Write the site's copy of the chapter ``path`` to ``out``; return its widget views without a picture."""
    nb = json.loads(path.read_text())
    without_picture = static_outputs(nb)
    cells = nb["cells"]
    first_is_title = bool(cells) and cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("#")
    cells.insert(1 if first_is_title else 0, run_note(path.stem, setup))
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return without_picture


def landing_page(readme: str, stems: list[str]) -> str:
    """README.md as the site's first page: links to chapters go to their pages, other repository links become text."""

    def relink(match: re.Match[str]) -> str:
        text, target = match[1], match[2]
        if re.match(r"[a-z]+:|#", target):  # external or in-page: keep
            return match[0]
        stem = Path(target.split("#")[0]).stem
        if target.startswith("chapters/") and stem in stems:
            return f"[{text}](chapters/{stem}.ipynb)"
        return text  # a file of the repository, not part of the site

    body = re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", relink, readme)
    return body.rstrip() + "\n\n## Chapters\n\n```{tableofcontents}\n```\n"


def table_of_contents(stems: list[str]) -> str:
    """``_toc.yml``: the landing page, then one entry per chapter file, in order."""
    lines = ["format: jb-book", "root: intro", "chapters:"]
    lines += [f"  - file: chapters/{stem}" for stem in stems]
    return "\n".join(lines) + "\n"


def find_mathjax(given: Path | None, npm_prefix: Path) -> Path:
    """MathJax 3's ``es5`` folder: ``given``, or the npm copy under ``npm_prefix`` (installed there if missing)."""
    folder = given or npm_prefix / "node_modules" / "mathjax" / "es5"
    if (folder / MATHJAX_ENTRY).exists():
        return folder
    if given is not None:
        raise FileNotFoundError(f"no {MATHJAX_ENTRY} in {given}: pass the es5 folder of MathJax 3 "
                                f"(npm install {MATHJAX_PACKAGE})")
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError(f"MathJax 3 is not in {npm_prefix} and npm is not installed: install Node.js's npm "
                                f"(Debian: apt-get install npm), or pass --mathjax with MathJax 3's es5 folder")
    print(f"installing {MATHJAX_PACKAGE} into {npm_prefix} (once)")
    npm_prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--prefix", str(npm_prefix), "--no-save", "--no-audit", "--no-fund",
                    MATHJAX_PACKAGE], check=True)
    return folder


def copy_mathjax(es5: Path, assets: Path) -> None:
    """Copy the MathJax entry script and the components it loads on demand (fonts, TeX extensions, menu)."""
    target = assets / "mathjax"
    shutil.copytree(es5, target, ignore=lambda folder, names: [
        name for name in names if Path(folder) == es5 and name.endswith(".js") and name != MATHJAX_ENTRY])


def jupyter_book() -> str:
    """The ``jupyter-book`` command of this Python environment."""
    here = Path(sys.executable).parent / "jupyter-book"
    found = str(here) if here.exists() else shutil.which("jupyter-book")
    if found is None:
        raise FileNotFoundError("jupyter-book is not installed: pip install -r requirements-instructor.txt")
    return found


def build(root: Path, out: Path, mathjax: Path | None = None, npm_prefix: Path | None = None
          ) -> tuple[Path, list[str]]:
    """Build the site of the repository ``root`` into ``out``; return the folder of its ``index.html`` and the warnings.

    Sphinx's warnings (a link to a page that does not exist, a notebook it cannot read) are
    returned, one line each, not raised: a site with a dead link is still worth reading, and the
    site test (tests/site/) asserts there are none. Raises ``subprocess.CalledProcessError`` when
    the build itself fails.
    """
    import yaml  # Jupyter Book brings PyYAML

    chapters = chapter_paths(root)
    if not chapters:
        raise FileNotFoundError(f"no chapters/{CHAPTER_GLOB} in {root}")
    src = out / "src"
    if src.exists():
        shutil.rmtree(src)  # the sources follow the chapters as they are now
    (src / "chapters").mkdir(parents=True)
    (src / "assets").mkdir()
    stems = [path.stem for path in chapters]
    readme = (root / "README.md").read_text()
    for path in chapters:
        without_picture = chapter_copy(path, src / "chapters" / path.name, setup_link(readme))
        if without_picture:
            print(f"{path.name}: {without_picture} widget view(s) without a picture (shown as saved text/HTML)")
    (src / "intro.md").write_text(landing_page(readme, stems))
    (src / "_toc.yml").write_text(table_of_contents(stems))
    config = json.loads(json.dumps(CONFIG).replace('"SCRIPTS"', json.dumps(str(Path(__file__).resolve().parent))))
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    copy_mathjax(find_mathjax(mathjax, npm_prefix or root / "build" / "npm"), src / "assets")
    run = subprocess.run([jupyter_book(), "build", str(src), "--path-output", str(out), "--builder", "html",
                          "--quiet"], capture_output=True, text=True)
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    run.check_returncode()
    html = out / "_build" / "html"
    for path in chapters:  # the page's download button gives the chapter as committed, not the site's copy
        download = html / "_sources" / "chapters" / path.name
        if download.exists():
            shutil.copy2(path, download)
    warnings = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in run.stderr.splitlines() if "WARNING" in line]
    return html, warnings


def _one_copy_of_each_script(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Drop repeated inline scripts from a page.

    Under Jupyter Book 1.0.4 with Sphinx 7.4, sphinx-thebe and sphinx-togglebutton add their inline
    set-up scripts twice, and the second ``const THEBE_JS_URL`` is a JavaScript error on every page.
    """
    scripts = context.get("script_files", [])
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        # An inline script's file name is None or "" depending on who added it; the priority does not matter.
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: it is the builder's own list


def setup(app: Any) -> dict[str, Any]:
    """The site's Sphinx extension (this module, loaded by Jupyter Book through ``local_extensions``)."""
    app.connect("html-page-context", _one_copy_of_each_script, priority=900)  # after the extensions that add scripts
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the course repository (default: this one)")
    parser.add_argument("--out", type=Path, help="output folder (default: ROOT/build/site, ignored by git)")
    parser.add_argument("--mathjax", type=Path, help="MathJax 3's es5 folder (default: npm-installed in build/npm)")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when Sphinx warns")
    parser.add_argument("--install-mathjax", action="store_true",
                        help=f"only npm-install {MATHJAX_PACKAGE} into ROOT/build/npm (set-up, needs the npm registry)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.install_mathjax:
        print(f"MathJax 3: {find_mathjax(args.mathjax, root / 'build' / 'npm')}")
        return 0
    out = (args.out or root / "build" / "site").resolve()
    start = time.perf_counter()
    html_dir, warnings = build(root, out, args.mathjax)
    size = sum(f.stat().st_size for f in html_dir.rglob("*") if f.is_file())
    print(f"site: {html_dir / 'index.html'} ({len(chapter_paths(root))} chapters, {size / 1e6:.0f} MB) "
          f"in {time.perf_counter() - start:.0f} s")
    print(f"view it: python -m http.server -d {html_dir} 8000, then open http://127.0.0.1:8000")
    if warnings:
        print(f"{len(warnings)} warning(s), see above: a dead link or a page that could not be read", file=sys.stderr)
    return 1 if warnings and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
