"""Typed identifiers shared by every module.

Identifiers are plain strings at run time (cheap to store, hash and serialise); the
``NewType`` wrappers only let the type checker tell a unit's id from a department's.
"""

from __future__ import annotations

from typing import NewType

__all__ = [
    "ActorId",
    "DepartmentId",
    "EventId",
    "IssueId",
    "MeetingId",
    "TaskForceId",
    "UnitId",
]

UnitId = NewType("UnitId", str)
"""An administrative unit (by default its administrative code)."""

DepartmentId = NewType("DepartmentId", str)
"""A department, section or external body."""

IssueId = NewType("IssueId", str)
"""An issue (问题) tracked through the loop."""

ActorId = NewType("ActorId", str)
"""A person or body that acts: an official, a citizen, an evaluator."""

MeetingId = NewType("MeetingId", str)
"""A downward meeting or a whistle call."""

TaskForceId = NewType("TaskForceId", str)
"""A task force (工作专班)."""

EventId = NewType("EventId", str)
"""A client-generated event id (a UUID string)."""
