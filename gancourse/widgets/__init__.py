"""Widgets of the course: the 2-D GAN playground (chapter 00) and one widget per chapter where moving something teaches.

* :mod:`~gancourse.widgets.view`: the parts every widget is built from (:class:`~gancourse.widgets.view.FigureView`,
  :class:`~gancourse.widgets.view.MessageBox`, :func:`~gancourse.widgets.view.show`).
* :mod:`~gancourse.widgets.playground`: chapter 00's GAN playground, ``playground()``; its state without any widget
  is a :class:`~gancourse.widgets.session.Session` (:mod:`~gancourse.widgets.session`), its pictures are drawn by
  :mod:`~gancourse.widgets.panels`, and its failure-and-fix presets are :mod:`~gancourse.widgets.scenarios`.
* Chapters' own widgets: ``gancourse/widgets/<topic>.py``.

Every widget follows one pattern (COURSE.md, "Widgets"): a small object that owns its
ipywidgets controls and its state; callbacks are short and do one chunk of work; figures
are drawn with inline matplotlib into an ``ipywidgets.Output`` and closed right after
(:class:`~gancourse.widgets.view.FigureView`); a bad value shows gancourse's message
inside the widget, which keeps working (:class:`~gancourse.widgets.view.MessageBox`).
In a notebook, show a widget with :func:`~gancourse.widgets.view.show`, which also gives
readers of the static page (the website, GitHub) the widget's first view as a picture.

Import the module you need, e.g. ``from gancourse.widgets import view``; importing this
package imports nothing else (ipywidgets is loaded by the modules that use it).
"""
