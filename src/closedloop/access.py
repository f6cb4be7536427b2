"""Who may do what, where and when: actors, grants and the domain's access rules.

Access is decided in two layers.

1. **Grants.** A :class:`Grant` gives one actor one :class:`Action` over a unit (the unit
   alone, or its whole subtree: its jurisdiction), optionally limited to some issue
   categories and to a validity interval. Nothing is allowed without a grant, so a
   permission always implies jurisdiction, and revoking a grant can only narrow access.
2. **Domain rules** that no grant can override:

   * a unit acts only within its jurisdiction (the grant's scope must contain the issue);
   * a department acts on an issue only while the issue is assigned to it (accept,
     return, resolve, and a department's transfer need the actor's department to be
     the lead);
   * supervision orders (督办) and accountability (问责) come only from a strictly
     higher level: the actor's unit must lie strictly above the unit whose work is
     checked, or the checked body must be a department of the actor's own unit;
   * an evaluator is never the resolver (neither the person nor the department);
   * a reporter evaluates only the issues they reported.

   Escalation "to the parent unit only" is a rule about the target, not the actor; the
   lifecycle enforces it.

:meth:`AccessPolicy.authorize` returns a :class:`Decision` that says why; a refusal
carries its reason. :meth:`AccessPolicy.require` raises
:class:`~closedloop.PermissionDeniedError` instead.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple, Protocol

import attrs

from closedloop._checks import aware, member
from closedloop._enums import FastEnum
from closedloop.errors import ConfigurationError, PermissionDeniedError, UnknownActorError
from closedloop.ids import ActorId, DepartmentId, UnitId

if TYPE_CHECKING:
    from closedloop.hierarchy import Hierarchy

__all__ = [
    "AccessPolicy",
    "Action",
    "Actor",
    "ActorKind",
    "Authorizer",
    "Decision",
    "Grant",
    "Scope",
    "Target",
    "TargetLike",
    "Unrestricted",
    "domain_refusal",
    "require_permission",
]


class ActorKind(FastEnum):
    """The kinds of people and bodies that act in the loop."""

    OFFICIAL = "official"
    """An official of a unit (a city, town or village leader or cadre)."""
    DEPARTMENT_STAFF = "department_staff"
    """Staff of a department, section or external body."""
    REPORTER = "reporter"
    """A citizen or an enterprise that reports a problem."""
    THIRD_PARTY_EVALUATOR = "third_party_evaluator"
    """A third-party satisfaction survey (第三方满意度评价)."""
    EXPERIENCE_OFFICER = "experience_officer"
    """A citizen reform experience officer (改革体验官)."""
    SUPERVISOR = "supervisor"
    """A member of a (joint) supervision team (联合督查组)."""
    SYSTEM = "system"
    """The information system itself, e.g. observing deadlines."""


class Action(FastEnum):
    """What an actor may be allowed to do."""

    REGISTER = "register"
    ESCALATE = "escalate"
    ASSIGN = "assign"
    ACCEPT = "accept"
    RETURN = "return"
    TRANSFER = "transfer"
    SUSPEND = "suspend"
    RESUME = "resume"
    EXTEND = "extend"
    RESOLVE = "resolve"
    EVALUATE = "evaluate"
    REOPEN = "reopen"
    ARCHIVE = "archive"
    WITHDRAW = "withdraw"
    OBSERVE = "observe"
    SUPERVISE = "supervise"
    HOLD_ACCOUNTABLE = "hold_accountable"
    CONVENE = "convene"
    SUMMON = "summon"
    MANAGE_TASK_FORCE = "manage_task_force"


_DEPARTMENT_BOUND = frozenset({Action.ACCEPT, Action.RETURN, Action.RESOLVE})
_FROM_ABOVE = frozenset({Action.SUPERVISE, Action.HOLD_ACCOUNTABLE})
_RULED = _DEPARTMENT_BOUND | _FROM_ABOVE | {Action.TRANSFER, Action.EVALUATE}
"""Actions that domain rules constrain beyond grants."""
_CACHE_LIMIT = 8_192

OFFICIAL_ACTIONS: frozenset[Action] = frozenset(
    {
        Action.REGISTER,
        Action.ESCALATE,
        Action.ASSIGN,
        Action.TRANSFER,
        Action.SUSPEND,
        Action.RESUME,
        Action.EXTEND,
        Action.REOPEN,
        Action.ARCHIVE,
        Action.WITHDRAW,
        Action.CONVENE,
        Action.SUMMON,
        Action.MANAGE_TASK_FORCE,
    }
)
"""What an official of a unit usually holds over the unit's subtree."""

STAFF_ACTIONS: frozenset[Action] = frozenset(
    {Action.ACCEPT, Action.RETURN, Action.RESOLVE, Action.TRANSFER}
)
"""What department staff usually hold (only effective on issues assigned to them)."""


def _actor_kind(value: object) -> ActorKind:
    return member(ActorKind, value, "actor kind")


def _actor_id(value: str) -> ActorId:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"an actor id is a non-empty string, got {value!r}")
    return ActorId(value)


def _optional_unit(value: str | None) -> UnitId | None:
    return None if value is None else UnitId(value)


def _optional_department(value: str | None) -> DepartmentId | None:
    return None if value is None else DepartmentId(value)


@attrs.frozen
class Actor:
    """Someone who acts: an official, department staff, a reporter, an evaluator, ..."""

    id: ActorId = attrs.field(converter=_actor_id)
    kind: ActorKind = attrs.field(converter=_actor_kind)
    unit: UnitId | None = attrs.field(default=None, converter=_optional_unit)
    """The unit the actor belongs to (officials, supervisors; the department's unit for staff)."""
    department: DepartmentId | None = attrs.field(default=None, converter=_optional_department)
    """The department the actor works for (department staff)."""
    name: str = ""

    def __attrs_post_init__(self) -> None:
        if self.kind is ActorKind.DEPARTMENT_STAFF and self.department is None:
            raise ConfigurationError(f"actor {self.id!r}: department staff need a department")
        if self.kind in (ActorKind.OFFICIAL, ActorKind.SUPERVISOR) and self.unit is None:
            raise ConfigurationError(f"actor {self.id!r}: a {self.kind.value} needs a unit")


class Scope(enum.Enum):
    """How far a grant reaches from its unit."""

    UNIT = "unit"
    """The unit alone."""
    SUBTREE = "subtree"
    """The unit and everything below it (its jurisdiction)."""


def _action(value: object) -> Action:
    return member(Action, value, "action")


def _scope(value: object) -> Scope:
    return member(Scope, value, "grant scope")


def _categories(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


@attrs.frozen
class Grant:
    """A permission: one actor, one action, over a unit or its subtree, for a time.

    ``valid_from`` is inclusive and ``valid_until`` exclusive; ``None`` leaves that end
    open. ``categories=None`` means every category.
    """

    grant_id: str
    actor: ActorId = attrs.field(converter=_actor_id)
    action: Action = attrs.field(converter=_action)
    unit: UnitId = attrs.field(converter=UnitId)
    scope: Scope = attrs.field(default=Scope.SUBTREE, converter=_scope)
    categories: frozenset[str] | None = attrs.field(default=None, converter=_categories)
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("valid_from", "valid_until"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ConfigurationError(f"grant {self.grant_id!r}: {name} must be aware")
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_until <= self.valid_from
        ):
            raise ConfigurationError(f"grant {self.grant_id!r} ends before it starts")

    def is_valid_at(self, at: datetime) -> bool:
        """Whether the grant is in force at ``at``."""
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.valid_until is None or at < self.valid_until


class Target(NamedTuple):
    """What an action is about: an issue's unit and category and who handles it.

    For supervision and accountability, ``unit`` is the unit whose work is checked and
    ``lead`` the department checked, if any.
    """

    unit: str
    category: str | None = None
    lead: str | None = None
    co_handlers: tuple[str, ...] = ()
    reporter: str | None = None
    resolved_by: str | None = None
    resolving_department: str | None = None
    department_unit: str | None = None
    """The unit the checked department belongs to (supervision of a department)."""


@attrs.frozen
class Decision:
    """The answer to "may this actor do this here now?", with its reason."""

    allowed: bool
    action: Action
    actor: ActorId
    reason: str
    grant_id: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


class TargetLike(Protocol):
    """What the access rules read about a target; :class:`Target` and issue states have it."""

    @property
    def unit(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def lead(self) -> str | None: ...
    @property
    def reporter(self) -> str | None: ...
    @property
    def resolved_by(self) -> str | None: ...
    @property
    def resolving_department(self) -> str | None: ...


def _scope_unit(action: Action, target: TargetLike) -> str:
    """The unit a grant must cover for ``action`` on ``target``.

    Evaluation is scoped by where the problem arose (an issue's origin unit): a village's
    reporter or a city's survey still evaluates an issue after it went up to the city.
    Every other action is scoped by the unit that handles the target.
    """
    if action is Action.EVALUATE:
        origin: str | None = getattr(target, "origin_unit", None)
        if origin is not None:
            return origin
    return target.unit


class Authorizer(Protocol):
    """Anything that decides access; the lifecycle only needs this."""

    def authorize(self, actor: Actor, action: Action, target: TargetLike, at: datetime) -> Decision:
        """Decide whether ``actor`` may do ``action`` on ``target`` at ``at``."""
        ...


class Unrestricted:
    """An authorizer that needs no grants: for exploration, never for production.

    Every action is allowed, except what the domain rules forbid whatever the grants
    (see the module's docs): a department acts only on issues assigned to it, the
    evaluator is never the resolver, a reporter evaluates only their own issues, and,
    given the ``hierarchy``, supervision and accountability come from above.

    Args:
        hierarchy: the administrative tree; without it the "from a strictly higher
            level" rule cannot be checked and is not.
    """

    __slots__ = ("_decisions", "hierarchy")

    def __init__(self, hierarchy: Hierarchy | None = None) -> None:
        self.hierarchy = hierarchy
        self._decisions: dict[tuple[ActorId, Action], Decision] = {}

    def authorize(self, actor: Actor, action: Action, target: TargetLike, at: datetime) -> Decision:
        """Allow ``action`` unless a domain rule forbids it.

        Raises:
            NaiveDatetimeError: ``at`` has no time zone.
        """
        if getattr(at, "tzinfo", None) is None:
            aware(at, "the instant of an authorization")
        if action in _RULED:
            refusal = domain_refusal(actor, action, target, self.hierarchy)
            if refusal is not None:
                return Decision(False, action, actor.id, refusal)
        key = (actor.id, action)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = Decision(
                True, action, actor.id, "unrestricted access"
            )
        return decision


def require_permission(
    access: Authorizer, actor: Actor, action: Action, target: TargetLike, at: datetime
) -> Decision:
    """``access``'s decision on the action; a refusal raises instead.

    Raises:
        PermissionDeniedError: naming the actor, the action and the reason.
    """
    decision = access.authorize(actor, action, target, at)
    if not decision.allowed:
        raise PermissionDeniedError(decision.actor, action.value, decision.reason)
    return decision


def domain_refusal(
    actor: Actor, action: Action, target: TargetLike, hierarchy: Hierarchy | None
) -> str | None:
    """Why a domain rule forbids ``actor`` to do ``action`` on ``target``, or None.

    These rules hold whatever the grants (see the module's docs); every authorizer in
    the library applies them. Without a ``hierarchy`` the "from a strictly higher
    level" rule of supervision and accountability cannot be checked and passes.
    """
    if action in _DEPARTMENT_BOUND or (
        action is Action.TRANSFER and actor.kind is ActorKind.DEPARTMENT_STAFF
    ):
        if actor.kind is not ActorKind.DEPARTMENT_STAFF:
            if action in _DEPARTMENT_BOUND:
                return f"only staff of the assigned department may {action.value}"
        elif actor.department != target.lead:
            return (
                f"department {actor.department!r} may not {action.value}: the issue is "
                f"assigned to {target.lead!r}"
            )
    if action is Action.EVALUATE:
        if target.resolved_by is not None and actor.id == target.resolved_by:
            return "an evaluator is never the resolver"
        if actor.department is not None and actor.department == target.resolving_department:
            return "an evaluator never belongs to the resolving department"
        if actor.kind is ActorKind.REPORTER and actor.id != target.reporter:
            return "a reporter evaluates only the issues they reported"
    if action in _FROM_ABOVE:
        if actor.unit is None:
            return f"{action.value} needs an actor who belongs to a unit"
        if hierarchy is None:
            return None
        department_unit = getattr(target, "department_unit", None)
        own_department = target.lead is not None and department_unit == actor.unit
        strictly_above = target.unit != actor.unit and hierarchy.is_within(target.unit, actor.unit)
        if not (strictly_above or own_department):
            return (
                f"{action.value} comes only from a strictly higher level: "
                f"{actor.unit!r} is not above {target.unit!r}"
            )
    return None


def _standing(actor: Actor) -> tuple[ActorKind, UnitId | None, DepartmentId | None]:
    """What grants and rules depend on (the display name does not matter)."""
    return actor.kind, actor.unit, actor.department


def _describe(actor: Actor) -> str:
    parts = [actor.kind.value]
    if actor.unit is not None:
        parts.append(f"unit {actor.unit!r}")
    if actor.department is not None:
        parts.append(f"department {actor.department!r}")
    return ", ".join(parts)


class AccessPolicy:
    """Grants over a hierarchy, plus the domain rules; immutable.

    Args:
        hierarchy: the administrative tree that scopes grants.
        grants: the grants in force (over time).
        actors: the known actors, so callers can look them up by id.
    """

    __slots__ = ("_actors", "_by_key", "_granted", "_grants", "_matches", "hierarchy")

    def __init__(
        self,
        hierarchy: Hierarchy,
        grants: Iterable[Grant] = (),
        actors: Iterable[Actor] = (),
    ) -> None:
        self.hierarchy = hierarchy
        grant_list = tuple(grants)
        problems: list[str] = []
        seen: set[str] = set()
        for grant in grant_list:
            if grant.grant_id in seen:
                problems.append(f"duplicate grant id {grant.grant_id!r}")
            seen.add(grant.grant_id)
            if grant.unit not in hierarchy:
                problems.append(f"grant {grant.grant_id!r} names unknown unit {grant.unit!r}")
        actor_map: dict[ActorId, Actor] = {}
        for actor in actors:
            if actor.id in actor_map and actor_map[actor.id] != actor:
                problems.append(f"actor {actor.id!r} is defined twice, differently")
            actor_map[actor.id] = actor
        if problems:
            raise ConfigurationError("invalid access policy:\n  " + "\n  ".join(problems))
        by_key: dict[tuple[ActorId, Action], list[Grant]] = {}
        for grant in grant_list:
            by_key.setdefault((grant.actor, grant.action), []).append(grant)
        self._grants = grant_list
        self._by_key = {key: tuple(value) for key, value in by_key.items()}
        self._actors: Mapping[ActorId, Actor] = MappingProxyType(actor_map)
        # A grant's allowing decision is the same whatever it covers: made once each.
        self._granted = {
            g.grant_id: Decision(True, g.action, g.actor, f"granted by {g.grant_id!r}", g.grant_id)
            for g in grant_list
        }
        # (actor, action, unit, category) -> the grants covering it, with their decision;
        # a bounded cache (cleared when full) so long runs over many units stay small.
        self._matches: dict[
            tuple[str, Action, str, str | None], tuple[tuple[Grant, Decision], ...]
        ] = {}

    @property
    def grants(self) -> tuple[Grant, ...]:
        """Every grant, in the order given."""
        return self._grants

    @property
    def actors(self) -> Mapping[ActorId, Actor]:
        """The known actors by id."""
        return self._actors

    def actor(self, actor_id: str) -> Actor:
        """The actor with id ``actor_id``."""
        try:
            return self._actors[ActorId(actor_id)]
        except KeyError:
            raise UnknownActorError(f"no actor with id {actor_id!r}") from None

    def with_grants(self, *grants: Grant, actors: Iterable[Actor] = ()) -> AccessPolicy:
        """A policy with more grants (and actors)."""
        return AccessPolicy(
            self.hierarchy, (*self._grants, *grants), (*self._actors.values(), *actors)
        )

    def without_grant(self, grant_id: str) -> AccessPolicy:
        """A policy with one grant revoked."""
        if not any(g.grant_id == grant_id for g in self._grants):
            raise ConfigurationError(f"no grant with id {grant_id!r} to revoke")
        return AccessPolicy(
            self.hierarchy,
            (g for g in self._grants if g.grant_id != grant_id),
            self._actors.values(),
        )

    # -- deciding -------------------------------------------------------------------

    def authorize(self, actor: Actor, action: Action, target: TargetLike, at: datetime) -> Decision:
        """Decide whether ``actor`` may do ``action`` on ``target`` at ``at``, and why.

        An actor whose id is registered with the policy must be that registered actor
        (same kind, unit and department): grants belong to the registration, so a
        look-alike ``Actor`` built with another department is refused.

        Raises:
            NaiveDatetimeError: ``at`` has no time zone.
        """
        if getattr(at, "tzinfo", None) is None:
            aware(at, "the instant of an authorization")
        registered = self._actors.get(actor.id)
        if (
            registered is not None
            and registered is not actor
            and _standing(registered) != _standing(actor)
        ):
            return Decision(
                False,
                action,
                actor.id,
                f"the actor given as {actor.id!r} differs from the one registered under "
                f"that id ({_describe(registered)}, not {_describe(actor)})",
            )
        if action in _RULED:
            refusal = domain_refusal(actor, action, target, self.hierarchy)
            if refusal is not None:
                return Decision(False, action, actor.id, refusal)
        unit = _scope_unit(action, target)
        key = (actor.id, action, unit, target.category)
        matches = self._matches.get(key)
        if matches is None:
            if len(self._matches) > _CACHE_LIMIT:
                self._matches.clear()
            matches = self._matches[key] = self._matching(actor, action, unit, target.category)
        for grant, decision in matches:
            if (grant.valid_from is None and grant.valid_until is None) or grant.is_valid_at(at):
                return decision
        return Decision(False, action, actor.id, self._why_not(actor, action, unit, target, at))

    def _matching(
        self, actor: Actor, action: Action, unit: str, category: str | None
    ) -> tuple[tuple[Grant, Decision], ...]:
        """The actor's grants for ``action`` whose unit and categories cover the target.

        Validity in time is checked per call; everything else depends only on the key
        this is cached under.
        """
        found = []
        for grant in self._by_key.get((actor.id, action), ()):
            if not self._covers(grant, unit):
                continue
            if grant.categories is not None and category not in grant.categories:
                continue
            found.append((grant, self._granted[grant.grant_id]))
        return tuple(found)

    def _covers(self, grant: Grant, unit: str) -> bool:
        """Whether ``unit`` lies within the grant's reach (its unit, or its subtree)."""
        if grant.scope is Scope.UNIT:
            return unit == grant.unit
        return self.hierarchy.is_within(unit, grant.unit)

    def _why_not(
        self, actor: Actor, action: Action, unit: str, target: TargetLike, at: datetime
    ) -> str:
        """Every reason the actor's grants do not allow the action (for the refusal)."""
        candidates = self._by_key.get((actor.id, action), ())
        if not candidates:
            return f"{actor.id!r} holds no grant to {action.value}"
        reasons: list[str] = []
        for grant in candidates:
            if not grant.is_valid_at(at):
                reasons.append(f"grant {grant.grant_id!r} is not in force at {at.isoformat()}")
            elif not self._covers(grant, unit):
                reasons.append(
                    f"unit {unit!r} is outside the jurisdiction of grant "
                    f"{grant.grant_id!r} ({grant.scope.value} of {grant.unit!r})"
                )
            else:
                reasons.append(
                    f"category {target.category!r} is not covered by grant {grant.grant_id!r}"
                )
        return "; ".join(reasons)

    def require(self, actor: Actor, action: Action, target: TargetLike, at: datetime) -> Decision:
        """Like :meth:`authorize`, but raise :class:`PermissionDeniedError` on a refusal."""
        return require_permission(self, actor, action, target, at)

    # -- convenience ----------------------------------------------------------------

    @staticmethod
    def standard_grants(
        actor: Actor,
        *,
        scope_unit: str | None = None,
        actions: Iterable[Action] | None = None,
        valid_from: datetime | None = None,
    ) -> tuple[Grant, ...]:
        """The usual grants for an actor's kind, over ``scope_unit``'s subtree.

        Officials get :data:`OFFICIAL_ACTIONS`; department staff :data:`STAFF_ACTIONS`;
        reporters REGISTER and EVALUATE; evaluators and experience officers EVALUATE;
        supervisors SUPERVISE and HOLD_ACCOUNTABLE; the system OBSERVE. Grant ids are
        ``"<actor>:<action>@<unit>"``.
        """
        unit = UnitId(scope_unit) if scope_unit is not None else actor.unit
        if unit is None:
            raise ConfigurationError(f"actor {actor.id!r} has no unit; pass scope_unit")
        defaults = {
            ActorKind.OFFICIAL: OFFICIAL_ACTIONS,
            ActorKind.DEPARTMENT_STAFF: STAFF_ACTIONS,
            ActorKind.REPORTER: frozenset({Action.REGISTER, Action.EVALUATE}),
            ActorKind.THIRD_PARTY_EVALUATOR: frozenset({Action.EVALUATE}),
            ActorKind.EXPERIENCE_OFFICER: frozenset({Action.EVALUATE}),
            ActorKind.SUPERVISOR: frozenset({Action.SUPERVISE, Action.HOLD_ACCOUNTABLE}),
            ActorKind.SYSTEM: frozenset({Action.OBSERVE}),
        }
        chosen = frozenset(actions) if actions is not None else defaults[actor.kind]
        return tuple(
            Grant(
                f"{actor.id}:{action.value}@{unit}",
                actor.id,
                action,
                unit,
                valid_from=valid_from,
            )
            for action in sorted(chosen, key=lambda a: a.value)
        )
