"""gancourse: the helper package of the course *Why GANs are hard to train and what fixes them*.

Every chapter notebook in ``chapters/`` imports its models, losses, training
loop, metrics and plots from here, so that a notebook cell only calls and shows.
Importing the package does nothing else: it does not seed, plot, download or
probe a device. Import the module you need, e.g. ``from gancourse import datasets``.

The layers
----------
``gancourse.models``
    the networks: MLPs and DCGANs (one model or ``S`` stacked seeds), PacGAN's nets,
    several generators as one, the layers that see a minibatch, the pretrained DCGAN.
``gancourse.training``
    the loop (``train``, ``train_seeds``, ``Run``, ``TrainConfig``, re-exported by the package)
    and its parts: one step of the game, stacked seeds, the history, checkpoints, threads.
``gancourse.diagnostics``
    why a run fails, measured: gradients (re-exported by the package), the health monitor,
    saturation, oscillation, the critic's Lipschitz constant, covariate shift, snapshots.
``gancourse.metrics``
    how far the samples are from the data: mode coverage, FID, class histograms, object counts;
    scoring a run at checkpoints and statistics over seeds.
``gancourse.theory``
    the analytic toy games of chapters 01, 03 and 07 and their pictures.
``gancourse.lab``, ``gancourse.widgets``, ``gancourse.procedural``, ``gancourse.instructor``
    chapter 09's stability lab, the chapters' widgets, chapter 05's procedural images, the
    instructor's kit.
top-level modules
    ``datasets``; ``losses``, ``regularizers`` and ``feature_matching`` (pure functions);
    ``plots``; ``runtime`` (device, seeds, budget); ``validation`` and ``checks``;
    chapter 08's ``fixes`` and ``stacked_fashion``; chapter 09's ``doctor``
    (``python -m gancourse.doctor``); ``recorded``, the runs too long for a chapter's CPU
    budget, recorded once by ``benchmarks/`` scripts and read back by chapters 04, 08 and 09.

Glossary (names follow the math of the text)
--------------------------------------------
``G``, ``D``
    generator and discriminator (``D`` is called the *critic* for Wasserstein losses).
``z``, ``z_dim``
    latent noise fed to ``G``, shape ``(B, z_dim)``; ``B`` is the batch size.
``x_real``, ``x_fake``
    a batch of data and a batch of ``G(z)``; 2-D points ``(B, 2)`` or images ``(B, C, H, W)``.
``real_logits``, ``fake_logits``
    ``D``'s raw outputs (before any sigmoid) on ``x_real`` and ``x_fake``, shape ``(B, 1)``.
``D(x)``
    the probability ``sigmoid(real_logits)`` that ``D`` gives to "real".
``opt_d``, ``opt_g``
    the optimizers of ``D`` and ``G``; ``lr_d``, ``lr_g`` their learning rates.
``n_critic``
    ``D`` steps per ``G`` step.
``n_models``, ``S``
    number of independent GANs (seeds) trained side by side in one batched run.
``budget``
    ``smoke`` / ``default`` / ``full``: how much work every experiment does
    (environment variable ``GANCOURSE_BUDGET``, see :mod:`gancourse.runtime`).
"""

__version__ = "0.1.0"
