"""HTML tables for notebooks' rich display (``_repr_html_``).

Pure string building, no dependencies: every value is escaped, numbers are shown to four
significant figures, and long tables are cut with a note of how many rows were left out
(``to_columns()`` or ``to_pandas()`` give everything).
"""

from __future__ import annotations

import enum
import html
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

MAX_ROWS = 30


def cell(value: Any) -> str:
    """One value as escaped HTML text."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return html.escape(value.isoformat(sep=" ", timespec="minutes"))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return html.escape(str(value.value))
    return html.escape(str(value))


def _aligned(value: Any) -> str:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return " style='text-align:right'" if numeric else ""


def table(columns: Mapping[str, Sequence[Any]], *, caption: str, max_rows: int = MAX_ROWS) -> str:
    """A table of ``columns`` (name → values, all the same length) under ``caption``."""
    names = list(columns)
    length = len(columns[names[0]]) if names else 0
    shown = min(length, max_rows)
    head = "".join(f"<th>{html.escape(name)}</th>" for name in names)
    body = []
    for i in range(shown):
        cells = "".join(
            f"<td{_aligned(columns[name][i])}>{cell(columns[name][i])}</td>" for name in names
        )
        body.append(f"<tr>{cells}</tr>")
    if length > shown:
        left = length - shown
        body.append(
            f"<tr><td colspan='{max(len(names), 1)}'>… {left:,} more "
            f"row{'s' if left != 1 else ''}</td></tr>"
        )
    return (
        f"<table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def select(columns: Mapping[str, Sequence[Any]], names: Sequence[str]) -> dict[str, Sequence[Any]]:
    """The columns named in ``names`` that exist, in that order."""
    return {name: columns[name] for name in names if name in columns}
