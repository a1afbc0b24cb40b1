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
