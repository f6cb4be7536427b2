"""The code examples of the documentation run.

Every page under ``docs/`` has its ```` ```python ```` blocks executed top to bottom in
one fresh namespace, in a temporary working directory, so a page's examples build on
each other exactly as a reader types them. Two HTML comments steer it:

* ``<!-- docs-test: skip -->`` anywhere on a page leaves the page out (for pages whose
  examples need data or services a test cannot have; the tutorial and the pages on
  embedding, calendars, deadlines and the lifecycle may not use it);
* ``<!-- docs-test: needs matplotlib pandas -->`` skips the page when one of the named
  modules (optional extras) is not installed.

Figures are drawn with matplotlib's non-interactive Agg backend and closed afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md"))
MUST_RUN = {"tutorial", "embedding", "calendars", "deadlines", "lifecycle", "howto-calendars"}

_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*-->")
_NEEDS = re.compile(r"<!--\s*docs-test:\s*needs\s+([\w .-]+?)\s*-->")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The ```python blocks of a page with the line each starts on."""
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in _BLOCK.finditer(text)]


@pytest.fixture
def agg_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Draw off screen, and close every figure a page opened."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    yield
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    plt.close("all")


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
@pytest.mark.usefixtures("agg_backend")
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = page.read_text(encoding="utf-8")
    if _SKIP.search(text):
        assert page.stem not in MUST_RUN, f"{page.name} may not opt out of the docs test"
        pytest.skip(f"{page.name} opts out of the docs test")
    for needs in _NEEDS.findall(text):
        for module in needs.split():
            pytest.importorskip(module)
    blocks = python_blocks(text)
    if not blocks:
        assert page.stem not in MUST_RUN, f"{page.name} should show runnable examples"
        pytest.skip(f"{page.name} has no python examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for line, block in blocks:
        # Pad with blank lines so a traceback points at the page's own line numbers.
        source = "\n" * (line - 1) + block
        exec(compile(source, str(page), "exec", dont_inherit=True), namespace)


def test_blocks_are_found_with_their_line_numbers() -> None:
    text = "# t\n\n```python\nx = 1\n```\n\ntext\n\n```python\ny = x + 1\n```\n```text\nz\n```\n"
    assert python_blocks(text) == [(4, "x = 1\n"), (10, "y = x + 1\n")]
    assert _NEEDS.findall("<!-- docs-test: needs matplotlib pandas -->") == ["matplotlib pandas"]


def test_the_site_lists_every_page() -> None:
    """Each page is in a toctree of the index (or, for API pages, of the API page)."""
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([\w-]+)\s*$", index, re.MULTILINE))
    unlisted = [
        p.stem
        for p in PAGES
        if p.stem not in listed | {"index"} and not p.stem.startswith("howto-")
    ]
    assert unlisted == []
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    pages = sorted(p.stem for p in (DOCS / "api").glob("*.md"))
    assert [p for p in pages if f"api/{p}" not in api] == []
