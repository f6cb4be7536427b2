"""A small deterministic discrete-event loop.

Events are kept in a heap of ``(time, priority, sequence, action)`` entries. Time is a
number of minutes since the start of the run; ``priority`` orders what happens at the
same minute (lower first); ``sequence`` breaks the remaining ties in scheduling order,
so a run is a pure function of its inputs and seeds.

The loop knows nothing about issues: the model schedules plain callables on it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import count

from closedloop.errors import ConfigurationError

__all__ = ["EventLoop"]

Action = Callable[[], None]


class EventLoop:
    """A heap of timed actions and a clock that jumps from one to the next."""

    __slots__ = ("_heap", "_sequence", "now", "steps")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, Action]] = []
        self._sequence = count()
        self.now = 0.0
        """The current time, in minutes since the start."""
        self.steps = 0
        """How many actions have run."""

    def schedule(self, at: float, action: Action, priority: int = 0) -> None:
        """Run ``action`` at time ``at`` (not in the past)."""
        if at < self.now:
            raise ConfigurationError(f"cannot schedule at {at} before the current time {self.now}")
        heapq.heappush(self._heap, (at, priority, next(self._sequence), action))

    def peek(self) -> float | None:
        """The time of the next action, or None when nothing is scheduled."""
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)

    def step(self) -> None:
        """Run the next action."""
        at, _, _, action = heapq.heappop(self._heap)
        self.now = at
        self.steps += 1
        action()

    def run(self, until: float | None = None) -> None:
        """Run actions in time order up to and including ``until`` (or until none are left)."""
        heap = self._heap
        pop = heapq.heappop
        while heap and (until is None or heap[0][0] <= until):
            at, _, _, action = pop(heap)
            self.now = at
            self.steps += 1
            action()
        if until is not None and until > self.now:
            self.now = until
