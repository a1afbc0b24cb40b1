"""Load a script of the repository (``benchmarks/``, ``scripts/``) as a module, for the tests that run its ``main``."""

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative_path: str) -> ModuleType:
    """The script at ``ROOT / relative_path`` (e.g. ``"benchmarks/speed.py"``), executed as a fresh module."""
    path = ROOT / relative_path
    if not path.is_file():
        raise FileNotFoundError(f"no script {path}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
