"""The stability lab (chapter 09): every fix of the course over seeds, in one table, resumable, local or on Ray.

* :mod:`~gancourse.lab.fixes`: :class:`Fix` (a named change to the baseline), the course's one registry
  :data:`FIXES` (chapter 08's :mod:`gancourse.fixes` reads it too), :func:`register_fix`, :func:`get_fix`.
* :mod:`~gancourse.lab.setups`: :class:`Setup` (the baseline: nets, config, data feeding),
  :func:`mlp_setup`, :func:`pacgan_setup`, the datasets, :func:`run_cell` (one fix, one dataset,
  a group of seeds).
* :mod:`~gancourse.lab.grid`: :func:`run_grid`, the grid runner with its store and backends.
* :mod:`~gancourse.lab.store`: the JSON-lines store of finished cells, written atomically.
* :mod:`~gancourse.lab.table`: :class:`LabTable`, :func:`rank_fixes` (with a bootstrap over seeds), :func:`plot_seeds`.
* :mod:`~gancourse.lab.cases`: runs built to fail in known ways beside their fixes (the doctor's cases), and
  :func:`~gancourse.lab.cases.settings_with_fix`, a registry fix applied to the playground's settings.
* :mod:`~gancourse.lab.published`: PacGAN's and VEEGAN's tables.

Example::

    from gancourse import lab
    table = lab.run_grid(["gan", "pack2", "wgan_gp"], datasets=["ring", "grid"], store="lab.jsonl")
    print(table.format("grid", lab.PACGAN_TABLE1))
    print(lab.rank_fixes(table, "grid", "modes"))
"""

from gancourse.lab.fixes import FIXES, Fix, get_fix, register_fix
from gancourse.lab.grid import BACKENDS, plan, ray_available, run_grid
from gancourse.lab.published import PACGAN_TABLE1, VEEGAN_TABLE1, published_key
from gancourse.lab.setups import DATASETS, METRICS, LabDataset, Setup, get_dataset, mlp_setup, pacgan_setup, run_cell
from gancourse.lab.table import LabTable, Ranking, Summary, plot_seeds, rank_fixes

__all__ = [
    "BACKENDS", "DATASETS", "FIXES", "METRICS", "PACGAN_TABLE1", "VEEGAN_TABLE1", "Fix", "LabDataset", "LabTable",
    "Ranking", "Setup", "Summary", "get_dataset", "get_fix", "mlp_setup", "pacgan_setup", "plan", "published_key",
    "plot_seeds", "rank_fixes", "ray_available", "register_fix", "run_cell", "run_grid",
]
