"""Published numbers on the 2-D mixtures the lab's tables are printed beside.

* PacGAN table 1 (Lin et al. 2018): 10 runs each, mean ± standard error; modes covered,
  high-quality share (%), reverse KL; their set-up (:func:`gancourse.lab.setups.pacgan_setup`).
* VEEGAN table 1 (Srivastava et al. 2017): 5 runs, another set-up (other nets, other
  lengths); modes and high-quality share only, as COURSE.md gives them.

Keys follow the lab's fix names where a fix of the lab is that method (``gan``, ``pack2``,
``pack3``, ``pack4``); ``unrolled`` is VEEGAN's unrolled GAN, which :func:`published_key` matches
to any of the lab's ``unrolled<k>`` fixes; methods the lab does not run keep their paper's name.
Chapter 09.
"""

from __future__ import annotations

PACGAN_TABLE1: dict[str, dict[str, dict[str, tuple[float, float]]]] = {
    "ring": {
        "gan": {"modes": (6.3, 0.5), "high_quality": (98.2, 0.2), "reverse_kl": (0.45, 0.09)},
        "ALI": {"modes": (6.6, 0.3), "high_quality": (97.6, 0.4), "reverse_kl": (0.36, 0.04)},
        "pack2": {"modes": (7.9, 0.1), "high_quality": (95.6, 2.0), "reverse_kl": (0.07, 0.03)},
        "pack3": {"modes": (7.8, 0.1), "high_quality": (97.7, 0.3), "reverse_kl": (0.10, 0.02)},
        "pack4": {"modes": (7.8, 0.1), "high_quality": (95.9, 1.4), "reverse_kl": (0.07, 0.02)},
    },
    "grid": {
        "gan": {"modes": (17.3, 0.8), "high_quality": (94.8, 0.7), "reverse_kl": (0.70, 0.07)},
        "ALI": {"modes": (24.1, 0.4), "high_quality": (95.7, 0.6), "reverse_kl": (0.14, 0.03)},
        "pack2": {"modes": (23.8, 0.7), "high_quality": (91.3, 0.8), "reverse_kl": (0.13, 0.04)},
        "pack3": {"modes": (24.6, 0.4), "high_quality": (94.2, 0.4), "reverse_kl": (0.06, 0.02)},
        "pack4": {"modes": (24.8, 0.2), "high_quality": (93.6, 0.6), "reverse_kl": (0.04, 0.01)},
    },
}
"""PacGAN table 1: ``[dataset][method][metric] = (mean, standard error)`` over 10 runs; high quality in %."""

VEEGAN_TABLE1: dict[str, dict[str, dict[str, float]]] = {
    "ring": {"gan": {"modes": 1.0, "high_quality": 99.3}, "unrolled": {"modes": 7.6, "high_quality": 35.6},
             "VEEGAN": {"modes": 8.0, "high_quality": 52.9}},
    "grid": {"gan": {"modes": 3.3, "high_quality": 0.5}, "unrolled": {"modes": 23.6, "high_quality": 16.0},
             "VEEGAN": {"modes": 24.6, "high_quality": 40.0}},
}
"""VEEGAN table 1: ``[dataset][method][metric] = mean`` over 5 runs (another set-up); high quality in %."""


def published_key(fix: str) -> str:
    """The key of the lab's fix ``fix`` in the published tables (``unrolled5`` -> ``unrolled``)."""
    return "unrolled" if fix.startswith("unrolled") else fix
