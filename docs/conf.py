"""Sphinx configuration of fastmlp's documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` from the repository root (``pip install -e ".[docs]"``
first). ``-W`` turns every warning into an error, and ``nitpicky`` makes a cross-reference that points nowhere a
warning, so a renamed function or a broken link in a docstring fails the build.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
# The checkout's fastmlp, also when another one is installed, and the local extension.
sys.path.insert(0, str(DOCS.parent))
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")  # the tutorial draws its figures without a display

import fastmlp  # noqa: E402

project = "fastmlp"
author = "the fastmlp developers"
copyright = "2026, the fastmlp developers"  # noqa: A001 (Sphinx's name)
release = fastmlp.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "fastmlp_docs",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store", ".gitignore"]
root_doc = "index"

# The API reference: autosummary writes one page per public module (api/generated/, not in git); autodoc documents
# the names each module lists in __all__, in source order. The docstrings carry their types, so the signatures'
# annotations are not repeated.
autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_default_options = {"members": True, "undoc-members": True, "member-order": "bysource"}
autodoc_typehints = "none"
# numpydoc would add a second, autosummary-built table of each class's members, with stub pages autodoc already
# covers; autodoc's :members: lists them once.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

nitpicky = True
# Types in prose that have no page of their own in this documentation (no intersphinx: the build is offline).
nitpick_ignore_regex = [
    ("py:class", r"(numpy|np|scipy|sklearn|dask|pandas|matplotlib|threadpoolctl|numba)\..*"),
    ("py:(class|obj)", r"ndarray|array-like|array_like|optional|callable|Generator|ValueError|TypeError"),
    ("py:mod", r"logging"),
    # The command line's own modules, which the docstring of fastmlp.cli (shown on the command-line page) names:
    # they are its implementation, not API, and have no page.
    ("py:mod", r"fastmlp\.cli\.\w+"),
]

html_theme = "pydata_sphinx_theme"
html_title = f"fastmlp {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # No hosting and no network at build time: no icon links, no version switcher.
    "icon_links": [],
}
html_show_sourcelink = False
