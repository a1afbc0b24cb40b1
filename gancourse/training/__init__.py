"""The training loop and its parts: how the course trains every GAN, one seed or ``S`` stacked seeds.

* :mod:`~gancourse.training.loop`: the loop (:func:`train`, :func:`train_seeds`, :class:`Run`), its
  validated :class:`TrainConfig`, what it returns (:class:`TrainResult`) and :class:`TrainingDiverged`.
* :mod:`~gancourse.training.steps`: one step of the game: a D update, a G update, the unrolled G step,
  the optimizer.
* :mod:`~gancourse.training.simultaneous`: D and G stepping at once on one batch (PacGAN's code).
* :mod:`~gancourse.training.unrolled`: Adam's update as differentiable tensor arithmetic, for unrolled D.
* :mod:`~gancourse.training.seeds`: many seeds in one run: per-seed random streams, losses, gradient norms.
* :mod:`~gancourse.training.history`: the per-step record of a run, kept on the device.
* :mod:`~gancourse.training.checkpoint`: atomic saving and exact resuming of a run.
* :mod:`~gancourse.training.progress`: progress bars whose saved text shows where a run ended.
* :mod:`~gancourse.training.threads`: how many CPU threads the work runs on.
* :mod:`~gancourse.training.balancing`: "let the strong network wait", beside k D steps and two time-scales.

The loop's public names are re-exported here, so ``from gancourse.training import train, TrainConfig``
works; the other modules are imported only when asked for (``from gancourse.training import seeds``).
"""

from gancourse.training.loop import (
    AMP_MODES,
    LOSSES,
    DStats,
    GStats,
    Run,
    TrainConfig,
    TrainingDiverged,
    TrainResult,
    d_step,
    g_step,
    make_optimizer,
    train,
    train_seeds,
    unrolled_g_step,
)

__all__ = [
    "AMP_MODES",
    "LOSSES",
    "DStats",
    "GStats",
    "Run",
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "d_step",
    "g_step",
    "make_optimizer",
    "train",
    "train_seeds",
    "unrolled_g_step",
]
