"""The policy variants a simulation compares, each a named value with its knobs.

* :class:`Baseline`: before the mechanism. A problem its own level cannot solve goes
  up, and a grassroots cadre visits each department it needs, one at a time; each visit
  costs working time, and a department may send the cadre away (buck-passing), which
  costs another visit later. Only when every department has taken its part is the
  problem assigned ("来回跑、多头跑、反复跑").
* :class:`DownwardMeetings`: Yiwu's mechanism ("市会镇开、镇会村开"). Problems wait for
  the next downward meeting: weekly, a town leader goes down to a village with the
  town's sections; monthly, a city leader goes down to each town with the city's
  bureaus, after a demand list. The attendee planner picks the departments, and the
  meeting assigns problems on the spot, with the departments at the table.

Both share the knobs in :class:`Knobs`: the deadline policy, supervision strength,
accountability deterrence and the task-force threshold.
"""

from __future__ import annotations

from typing import Any

import attrs

from closedloop.deadlines import DeadlinePolicy
from closedloop.errors import ConfigurationError
from closedloop.meetings import Cadence, HolidayRule, OffDays, WeeklyCadence
from closedloop.simulation.scenario import flag, integral, positive, probability, whole

__all__ = ["Baseline", "DownwardMeetings", "Knobs", "Policy"]


def _instance_of(kind: type, *, optional: bool = False) -> Any:
    allowed = f"a {kind.__name__}" + (" or None" if optional else "")

    def check(_instance: object, attribute: Any, value: object) -> None:
        if not (isinstance(value, kind) or (optional and value is None)):
            raise ConfigurationError(f"{attribute.name} must be {allowed}, got {value!r}")

    return check


def _label(_instance: object, attribute: Any, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{attribute.name} must be a non-empty string, got {value!r}")


@attrs.frozen
class Knobs:
    """What every policy variant can turn.

    Attributes:
        deadline_policy: the deadline policy in force (None: the scenario's).
        supervision: chance that an issue overdue by ``supervision_after_days`` working
            days gets a supervision order (督办); 0 switches supervision off.
        supervision_after_days: how overdue (whole working days) an issue must be to be
            supervised.
        supervision_speedup: how much faster a supervised department finishes: the
            handling time still left when the order is given (or all of it, if the work
            has not started) is multiplied by ``1 - supervision_speedup``. An order
            never delays a finish.
        accountability: chance that a department whose supervision order is unmet at
            the order's deadline is held accountable (问责).
        sanction_share: share of accountability ending in a disciplinary sanction
            (党政纪处分); the rest end in an admonishment talk.
        deterrence: how much accountability deters buck-passing and returns (their
            chances are multiplied by ``1 - deterrence``).
        task_force_threshold: how many distinct village-level units with open problems
            of one category, registered within ``task_force_window_days``, make the city
            set up a task force (工作专班) for them; at least 2. None (the default): no
            task forces.
        task_force_window_days: the window, in whole working days (at least 1).
        task_force_speedup: how much faster the task force's issues are handled (their
            handling time still left is multiplied by ``1 - task_force_speedup``).

    Raises:
        ConfigurationError: for a value of the wrong kind or out of range.
    """

    deadline_policy: DeadlinePolicy | None = attrs.field(
        default=None, validator=_instance_of(DeadlinePolicy, optional=True)
    )
    supervision: float = attrs.field(default=0.8, validator=probability)
    supervision_after_days: int = attrs.field(default=2, converter=integral, validator=whole(0))
    supervision_speedup: float = attrs.field(default=0.5, validator=probability)
    accountability: float = attrs.field(default=0.3, validator=probability)
    sanction_share: float = attrs.field(default=23 / 53, validator=probability)
    deterrence: float = attrs.field(default=0.0, validator=probability)
    task_force_threshold: int | None = attrs.field(
        default=None,
        converter=integral,
        validator=whole(2, optional=True, none_means="no task forces"),
    )
    task_force_window_days: int = attrs.field(default=20, converter=integral, validator=whole(1))
    task_force_speedup: float = attrs.field(default=0.3, validator=probability)


@attrs.frozen
class Baseline:
    """Grassroots cadres visit departments one at a time (see the module docs).

    Attributes:
        knobs: the shared knobs.
        max_rounds: after this many visits to one department it takes its part anyway
            (someone higher up intervenes); None: nobody intervenes, the cadre comes
            back until the department takes its part.
        name: the variant's name in results and comparisons (give variants that differ
            distinct names).

    Raises:
        ConfigurationError: for a value of the wrong kind or out of range.
    """

    knobs: Knobs = attrs.field(factory=Knobs, validator=_instance_of(Knobs))
    max_rounds: int | None = attrs.field(
        default=4, converter=integral, validator=whole(1, optional=True, none_means="no limit")
    )
    name: str = attrs.field(default="baseline", kw_only=True, validator=_label)


def _default_town_cadence() -> WeeklyCadence:
    return WeeklyCadence("Sat", rule=HolidayRule.SKIP, off_days=OffDays.HOLIDAYS)


@attrs.frozen
class DownwardMeetings:
    """Downward meetings at a cadence, planned from demand lists (see the module docs).

    Attributes:
        knobs: the shared knobs.
        town_cadence: when each town's leader goes down to a village (default: every
            Saturday except public holidays, "周六解难题").
        city_cadence: the days in each month on which the city's leaders go down (None:
            the visits to the towns are spread over the month's working days).
        city_rounds_per_month: how many times a month the city goes down to each town
            (2: every two weeks or so).
        max_agenda: most issues one meeting takes up; the rest wait for the next one
            (None: no limit).
        max_attendees: most departments one meeting brings (None: no limit).
        buck_passing_factor: buck-passing and returns at the table relative to the
            baseline (face to face, with the leader present, they are rarer).
        handling_factor: handling time of problems assigned at a meeting relative to
            the baseline (the departments have coordinated already); > 0.
        skip_empty: whether a meeting with an empty demand list is not held.
        meeting_hours: how long a meeting lasts (for leaders' and departments' time);
            > 0, recorded to the minute (at least one).
        name: the variant's name in results and comparisons (give variants that differ
            distinct names).

    Raises:
        ConfigurationError: for a value of the wrong kind or out of range.
    """

    knobs: Knobs = attrs.field(factory=Knobs, validator=_instance_of(Knobs))
    town_cadence: Cadence = attrs.field(
        factory=_default_town_cadence, validator=_instance_of(Cadence)
    )
    city_cadence: Cadence | None = attrs.field(
        default=None, validator=_instance_of(Cadence, optional=True)
    )
    city_rounds_per_month: int = attrs.field(default=1, converter=integral, validator=whole(1))
    max_agenda: int | None = attrs.field(
        default=12, converter=integral, validator=whole(1, optional=True, none_means="no limit")
    )
    max_attendees: int | None = attrs.field(
        default=None, converter=integral, validator=whole(1, optional=True, none_means="no limit")
    )
    buck_passing_factor: float = attrs.field(default=0.2, validator=probability)
    handling_factor: float = attrs.field(default=0.8, validator=positive)
    skip_empty: bool = attrs.field(default=True, validator=flag)
    meeting_hours: float = attrs.field(default=2.5, validator=positive)
    name: str = attrs.field(default="downward_meetings", kw_only=True, validator=_label)


Policy = Baseline | DownwardMeetings
"""A policy variant."""
