"""Sphinx configuration of the mesa-adage documentation: Mesa's stack (Sphinx, MyST, PyData).

Build it with ``sphinx-build -W -b html docs <out>``; ``tests/test_docs.py`` does, into a
temporary folder. mesa_adage is imported the normal way (``pip install -e .``), so nothing
here touches ``sys.path``.
"""

import re
from pathlib import Path

import mesa_adage

project = "mesa-adage"
author = "the mesa-adage authors"
copyright = "the mesa-adage authors"
release = version = mesa_adage.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# MyST: heading anchors let a page link to a section of another (`cli.md#untrusted-files`);
# depth 4 reaches the README's `###` sections, one level down in readme.md.
myst_heading_anchors = 4

# Autodoc reads Google-style docstrings (napoleon), in source order, with the signature's
# type hints in the description rather than in one long signature line.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
autosummary_generate = False  # the top-level table links to the module pages; no stub files
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# The optional extras are imported only inside the functions that need them, so the API builds
# without them; these are mocked in case an autodoc import reaches one.
autodoc_mock_imports = ["ray", "pettingzoo", "psycopg"]

html_theme = "pydata_sphinx_theme"
html_title = f"mesa-adage {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}


REPOSITORY = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\((?!https?:|#|docs/)([^)\s#]+)")


def repository_links(app, relative_path, parent_docname, content):
    """Point the included README's links to repository files (``models/cobweb.py``) at them.

    On GitHub they are relative to the repository root; in ``docs/readme.md`` they would be
    relative to ``docs/``, and every one would be a missing target. Each is rewritten to
    ``path:../path`` when that file exists, so the site links a copy of it (a download, even
    for ``benchmarks/RESULTS.md``: it is not a page of the site); any other stays as it is
    and fails the build. The README's ``docs/`` links are the include's ``relative-docs``.
    """
    if (Path(app.srcdir) / relative_path).resolve() != REPOSITORY / "README.md":
        return

    def relink(match: re.Match) -> str:
        path = match.group(1)
        return f"](path:../{path}" if (REPOSITORY / path).exists() else match.group(0)

    content[0] = LINK.sub(relink, content[0])


def setup(app):
    """Sphinx calls this with the conf module as an extension."""
    app.connect("include-read", repository_links)
