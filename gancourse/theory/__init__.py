"""The analytic toy games of chapters 01, 03 and 07: small games whose answers we know.

* :mod:`~gancourse.theory.games`: toy games that show what the GAN minimax game is (chapter 01).
* :mod:`~gancourse.theory.vector_fields`: pictures of small games: vector fields, trajectories, distance
  curves, 1-D discriminators.
* :mod:`~gancourse.theory.best_response`: G's best response to a frozen D, the "Helvetica scenario"
  (chapter 03).
* :mod:`~gancourse.theory.critics`: D trained against a generator that stands still: the optimal
  discriminator and critic (chapter 07).
* :mod:`~gancourse.theory.distances`: Jensen-Shannon and Wasserstein-1, computed where we know them (chapter 07).

Nothing is imported here: import the module you need, e.g. ``from gancourse.theory import games``.
"""
