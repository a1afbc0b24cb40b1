"""README's set-up works verbatim as root and as a user, and learners do not get nbgrader.

The commands are read from README.md itself, so the README cannot drift from what is tested:
package lists are updated before anything is installed, ``sudo`` is only used when not root,
the virtual environment exists before ``pip install``. nbgrader lives in
requirements-instructor.txt, which .ci/run installs, and nowhere in the learners' files.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    """The command lines of the first bash block under README's '## Set-up' heading, comments removed."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Set-up"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S)[1]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = re.sub(r"^- ", "", line.split("#")[0].strip()).strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([\w.]+)", line)
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def test_the_set_up_updates_package_lists_first_and_makes_the_venv_before_pip():
    lines = setup_commands()
    first = {word: next(i for i, line in enumerate(lines) if word in line)
             for word in ("apt-get update", "apt-get install", "python3 -m venv", ".venv/bin/activate", "pip install")}
    assert first["apt-get update"] < first["apt-get install"] < first["python3 -m venv"]
    assert first["python3 -m venv"] < first[".venv/bin/activate"] < first["pip install"]
    install = lines[first["apt-get install"]]
    assert "python3-venv" in install and "dataset-fashion-mnist" in install and " -y " in install
    assert not any(re.match(r"sudo\b", line) for line in lines)  # root in a container has no sudo


def _sudo_for(uid: int) -> str:
    """What README's SUDO line gives for a user id (``id`` replaced by a function that reports ``uid``)."""
    line = next(line for line in setup_commands() if line.startswith("SUDO="))
    script = f'id() {{ echo {uid}; }}\n{line}\nprintf "[%s]" "$SUDO"'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout


def test_sudo_is_used_by_a_user_and_not_by_root():
    assert _sudo_for(0) == "[]"
    assert _sudo_for(1000) == "[sudo]"


def test_learners_do_not_install_nbgrader_instructors_and_ci_do():
    learners = _pins(ROOT / "requirements.txt")
    conda = _pins(ROOT / "environment.yml")
    instructors = _pins(ROOT / "requirements-instructor.txt")
    assert "nbgrader" not in learners and "nbgrader" not in conda
    assert instructors["nbgrader"] == "0.9.6" and not set(instructors) & set(learners)  # no package pinned twice
    assert "-r requirements.txt" in (ROOT / "requirements-instructor.txt").read_text().splitlines()
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"pip install .*-r requirements-instructor\.txt", ci)  # CI runs the instructor tests too


def test_ci_installs_the_system_packages_of_the_readme():
    install = next(line for line in setup_commands() if "apt-get install" in line)
    readme_packages = set(install.split("-y", 1)[1].split())
    ci_install = next(line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "apt-get install" in line)
    assert readme_packages <= set(ci_install.split())
