"""The examples' Solara pages, installed as ``mesa_adage.examples.visualization``.

``adage app`` serves the app (:mod:`~mesa_adage.examples.visualization.app`); from the
repository, ``solara run visualization/app.py`` serves the same pages.
"""

if __name__ != "mesa_adage.examples.visualization":  # a second copy would build every page twice
    raise ImportError(f"import mesa_adage.examples.visualization, not {__name__!r}")
