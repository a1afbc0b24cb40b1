"""Procedural image datasets whose structure can be checked on every sample (chapter 05).

Each dataset is generated from a seed on the device, batched, with no files, and comes with
the check that reads its structure back off any image, a GAN sample included:

* :mod:`~gancourse.procedural.counting`: ``k`` discs and squares per image; the count of
  connected components (Zhao et al. 2018).
* :mod:`~gancourse.procedural.faces`: toy faces; two eyes, one mouth below them, both inside the head.
* :mod:`~gancourse.procedural.render`: a small torch renderer (perspective camera, z-buffer);
  ``from gancourse.procedural import render`` gives the module, ``render.render`` the function.
* :mod:`~gancourse.procedural.views`: a house under random viewpoints; the distance to the
  nearest view of a dense bank of renders, impossible objects and front/back mixtures.
"""

from gancourse.procedural.counting import count_errors, counting_images
from gancourse.procedural.faces import FaceReport, check_faces, toy_faces
from gancourse.procedural.render import Mesh
from gancourse.procedural.views import PerspectiveReport, ViewBank, house, house_views

__all__ = [
    "FaceReport", "Mesh", "PerspectiveReport", "ViewBank", "check_faces", "count_errors", "counting_images",
    "house", "house_views", "toy_faces",
]
