"""Sphinx configuration: the API reference built from mi_probe's numpydoc docstrings.

Build with ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``);
every warning is an error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import mi_probe  # noqa: E402  (after the path is set)

project = "mi_probe"
author = "mi_probe developers"
copyright = "mi_probe developers"
release = version = mi_probe.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

# autodoc: members in source order, documented per module's __all__
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_mock_imports = ["pykeops", "ray", "lightning", "pytorch_lightning"]

# numpydoc: classes list their methods through autodoc, not an autosummary table
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False

intersphinx_mapping: dict[str, tuple[str, str | None]] = {}  # built offline: no inventories

exclude_patterns = ["_build", "ray_cluster.md"]
source_suffix = {".rst": "restructuredtext"}
html_theme = "alabaster"
html_static_path: list[str] = []
html_theme_options = {"description": "Mutual information in deep networks (nats)"}

# numpydoc References sections list the papers a function follows; not every entry is
# cited inline in the text, and an uncited entry is not an error.
suppress_warnings = ["ref.citation"]
