"""gancourse: the helper package of the course *Why GANs are hard to train and what fixes them*.

Every chapter notebook in ``chapters/`` imports its models, losses, training
loop, metrics and plots from here, so that a notebook cell only calls and shows.
Importing the package does nothing else: it does not seed, plot, download or
probe a device. Import the module you need, e.g. ``from gancourse import datasets``.

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
