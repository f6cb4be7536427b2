"""Sphinx configuration for the closedloop documentation (MyST Markdown, pydata theme).

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.

Some pages are optional: they are listed in a toctree but appear only once they exist
(``OPTIONAL_PAGES``), and an API page whose module cannot be imported is left out
(``OPTIONAL_MODULES``). Their toctree lines are dropped before the toctree is read, so
a build never refers to a page that is not there.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from closedloop import __version__ as _version

HERE = Path(__file__).parent

project = "closedloop"
author = "The closedloop developers"
copyright = "The closedloop developers"
release = _version
version = ".".join(_version.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinxcontrib.mermaid",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "requirements.txt"]
language = "en"

# -- MyST -------------------------------------------------------------------------------

myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
# The lifecycle diagram (generated from the transition table) is drawn, not shown as text.
myst_fence_as_directive = ["mermaid"]
myst_heading_anchors = 3

# -- autodoc and napoleon ---------------------------------------------------------------

autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autoclass_content = "class"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
napoleon_attr_annotations = True

# References that cannot be resolved (types named in annotations, the façade's
# re-exports) are left as text rather than reported. Attribute names listed under
# "Attributes:" become references too, and a name such as ``category`` belongs to
# several classes: such ambiguous references are left unreported as well.
nitpicky = False
suppress_warnings = ["ref.python"]

# -- optional pages ---------------------------------------------------------------------

OPTIONAL_PAGES = (
    "metrics",
    "supervision",
    "simulation",
    "calibration",
    "howto-pm4py",
    "howto-open311",
)
"""Pages listed in ``index.md`` that appear once they are written."""

OPTIONAL_MODULES = {"api/interop": "closedloop.interop"}
"""API pages that appear once their module can be imported."""


def _missing() -> set[str]:
    missing = {name for name in OPTIONAL_PAGES if not (HERE / f"{name}.md").exists()}
    for page, module in OPTIONAL_MODULES.items():
        if importlib.util.find_spec(module) is None:
            missing.add(page)
    return missing


_MISSING = _missing()
exclude_patterns += [f"{page}.md" for page in _MISSING]


def _drop_missing(app: Any, docname: str, source: list[str]) -> None:
    """Drop toctree lines that name a page left out of this build."""
    if docname not in ("index", "api"):
        return
    lines = source[0].splitlines(keepends=True)
    source[0] = "".join(line for line in lines if line.strip() not in _MISSING)


def _is_header(line: str) -> bool:
    text = line.strip()
    return (
        text.endswith(":")
        and not text.endswith("::")
        and not text.startswith((":", "..", "-", "*"))
        and line == line.lstrip()
    )


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _free_form_sections(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Show free-form docstring sections as preformatted text.

    A docstring may group its prose under a heading of its own ("Counts:", "Rates (None
    when ...):") with entries whose continuation lines are indented further. Napoleon
    knows only its standard sections; reStructuredText would read the rest as broken
    block quotes. Such a section (a heading line ending in a colon, then an indented
    block with more than one indentation level) becomes a literal block.
    """
    index = 0
    while index < len(lines):
        line = lines[index]
        block_end = index + 1
        while block_end < len(lines) and (
            not lines[block_end].strip() or _indent(lines[block_end]) > 0
        ):
            block_end += 1
        body = [b for b in lines[index + 1 : block_end] if b.strip()]
        before_is_blank = index == 0 or not lines[index - 1].strip()
        if (
            _is_header(line)
            and before_is_blank
            and body
            and _indent(lines[index + 1]) > 0
            and len({_indent(b) for b in body}) > 1
        ):
            lines[index] = line + ":"
            lines.insert(index + 1, "")
            index = block_end + 1
        else:
            index += 1


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", _drop_missing)
    # after napoleon (priority 500), so its own sections are already converted
    app.connect("autodoc-process-docstring", _free_form_sections, priority=600)
    return {"parallel_read_safe": True}


# -- HTML -------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = "closedloop"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path: list[str] = []
