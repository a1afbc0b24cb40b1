"""requirements.txt and environment.yml describe the same environment, pinned exactly."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(lines):
    pins = {}
    for line in lines:
        line = re.sub(r"^- ", "", line.split("#")[0].strip()).strip()  # YAML list item -> requirement
        if not line or line == "-e ." or line in ("pip", "pip:") or line.startswith("python="):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([\w.]+)", line)
        assert match, f"not pinned exactly: {line!r}"
        pins[match[1].lower()] = match[2]
    return pins


def test_requirements_and_environment_pin_the_same_versions():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    environment = (ROOT / "environment.yml").read_text().split("- pip:", 1)[1].splitlines()
    assert _pins(requirements) == _pins(environment)
    assert "-e ." in [line.strip() for line in requirements]  # installs gancourse itself
    assert "- -e ." in [line.strip() for line in environment]


def test_torch_is_pinned_to_the_build_with_a_matching_torchvision():
    pins = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"
    for name in ("jupyterlab", "ipywidgets", "matplotlib", "nbval", "torchmetrics", "tqdm"):
        assert name in pins, f"{name} missing from requirements.txt"
