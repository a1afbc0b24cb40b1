"""Importing gancourse must not seed, plot, probe a device or download (STYLE.md principle 8)."""

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import importlib, pkgutil, random, socket, urllib.request
    import torch, matplotlib
    def refuse(*args, **kwargs):
        raise AssertionError("network access at import time")
    socket.socket.connect = refuse
    urllib.request.urlopen = refuse
    torch.cuda.is_available = lambda: (_ for _ in ()).throw(AssertionError("device probed at import"))
    torch_state, py_state = torch.random.get_rng_state(), random.getstate()
    rc = dict(matplotlib.rcParams)
    import gancourse
    names = [m.name for m in pkgutil.walk_packages(gancourse.__path__, "gancourse.")]
    for name in names:
        importlib.import_module(name)
    assert torch.equal(torch_state, torch.random.get_rng_state()), "torch RNG touched"
    assert py_state == random.getstate(), "Python RNG touched"
    changed = [k for k, v in matplotlib.rcParams.items() if str(rc.get(k)) != str(v)]
    assert not changed, f"rcParams changed: {changed}"
    import sys
    assert "matplotlib.pyplot" not in sys.modules or not __import__("matplotlib.pyplot").pyplot.get_fignums()
    print(len(names), "modules")
    """
)


def test_importing_every_module_has_no_side_effects(tmp_path):
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0]) >= 2  # it did import the package's modules


def test_the_layer_packages_re_export_what_code_outside_imports_from_them():
    """``gancourse.training`` is the loop's public names, ``gancourse.diagnostics`` the gradient measures'."""
    import inspect

    from gancourse import diagnostics, training
    from gancourse.diagnostics import gradients
    from gancourse.training import loop

    assert sorted(training.__all__) == sorted(loop.__all__)
    assert all(getattr(training, name) is getattr(loop, name) for name in loop.__all__)
    public = sorted(name for name, f in vars(gradients).items()
                    if inspect.isfunction(f) and f.__module__ == gradients.__name__ and not name.startswith("_"))
    assert len(public) >= 9 and sorted(diagnostics.__all__) == public
    assert all(getattr(diagnostics, name) is getattr(gradients, name) for name in public)
