"""The networks: generators and discriminators, one model or ``S`` seeds stacked into one module.

* :mod:`~gancourse.models.mlp`: multilayer perceptrons for 2-D data, stacked seeds (``n_models``).
* :mod:`~gancourse.models.dcgan`: the DCGAN generator and discriminator for 28x28 to 64x64 images.
* :mod:`~gancourse.models.fashion_dcgan`: the course's DCGAN on Fashion-MNIST, models, data and config in one place.
* :mod:`~gancourse.models.pretrained`: the trained DCGAN a chapter starts from, checksum-checked
  (its weights live in ``gancourse/weights/``).
* :mod:`~gancourse.models.minibatch`: D's layers that see the whole minibatch (minibatch discrimination,
  minibatch std-dev) and PacGAN's packing.
* :mod:`~gancourse.models.maxout`: maxout units, the hidden layers of PacGAN's discriminator.
* :mod:`~gancourse.models.pacgan`: PacGAN's 2-D networks as its code builds them.
* :mod:`~gancourse.models.multi_generator`: several generators as one G (MAD-GAN style).
* :mod:`~gancourse.models.self_attention`: self-attention over a feature map's positions (SAGAN).
* :mod:`~gancourse.models.stacked_spectral_norm`: spectral normalisation of stacked-seed layers.

Nothing is imported here: import the module you need, e.g. ``from gancourse.models import dcgan``.
"""
