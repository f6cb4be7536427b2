"""The examples of ``docs/store.md`` run, in order, and their assertions hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).parents[1] / "docs" / "store.md"


def test_the_store_page_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "store_docs"}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec", dont_inherit=True), namespace)
    assert (tmp_path / "board.db").exists()


def test_the_page_lists_every_public_store_name() -> None:
    import closedloop.store

    page = PAGE.read_text(encoding="utf-8")
    missing = [
        name
        for name in closedloop.store.__all__
        if name not in page and name not in {"Recorded", "StreamEvent"}
    ]
    assert missing == []
