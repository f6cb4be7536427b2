"""The transition table as a picture: Mermaid and Graphviz text generated from the code.

The diagram is drawn from :data:`~closedloop.lifecycle.TRANSITIONS` itself, so it can
never drift from what ``evolve`` and ``decide`` enforce.
"""

from __future__ import annotations

from collections import defaultdict

from closedloop.errors import ConfigurationError
from closedloop.lifecycle.state import TRANSITIONS, Status

__all__ = ["lifecycle_diagram"]

_START = "[*]"


def _edges() -> list[tuple[str, str, list[str]]]:
    """(from, to, event names) with parallel edges merged, in a stable order."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (before, kind), after in TRANSITIONS.items():
        source = before.value if before is not None else _START
        if isinstance(after, Status):
            grouped[(source, after.value)].append(kind.__name__)
        else:  # resuming returns to the status held before the suspension
            for back in (Status.ASSIGNED, Status.IN_PROGRESS):
                grouped[(source, back.value)].append(kind.__name__)
    order = {s.value: i for i, s in enumerate(Status)} | {_START: -1}
    return sorted(
        ((a, b, names) for (a, b), names in grouped.items()),
        key=lambda edge: (order[edge[0]], order[edge[1]]),
    )


def lifecycle_diagram(format: str = "mermaid") -> str:
    """The lifecycle's transition table as Mermaid (``"mermaid"``) or Graphviz text.

    Graphviz is ``"dot"`` (``"graphviz"`` is accepted as another name for it).

    Each arrow is labelled with the events that cause it; the terminal statuses
    (archived, withdrawn) lead to the end state.
    """
    edges = _edges()
    if format == "mermaid":
        lines = ["stateDiagram-v2"]
        for source, target, names in edges:
            lines.append(f"    {source} --> {target}: {', '.join(names)}")
        lines.extend(f"    {s.value} --> [*]" for s in Status if s.is_terminal)
        return "\n".join(lines) + "\n"
    if format in ("dot", "graphviz"):
        lines = ["digraph lifecycle {", "    rankdir=LR;", '    start [shape=point, label=""];']
        lines.extend(
            f"    {s.value} [shape={'doublecircle' if s.is_terminal else 'box'}];" for s in Status
        )
        for source, target, names in edges:
            tail = "start" if source == _START else source
            label = "\\n".join(names)
            lines.append(f'    {tail} -> {target} [label="{label}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"
    raise ConfigurationError(
        f"unknown diagram format {format!r}; use 'mermaid' or 'dot' (or 'graphviz')"
    )
