"""Presence and load in the console: an attendant sets their own presence;
supervisors and admins see everyone's presence and load and set capacities
and the tenant's assignment rules (``atende.conversations.assignment``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from atende.audit import RequestContext, record_event
from atende.conversations import assignment
from atende.conversations.store import assignment as sql
from atende.conversations.store.assignment import PRESENCES, AttendantLoad, Presence
from atende.db import tenant_transaction
from atende.errors import CapacityInvalid, NotFound, PresenceInvalid, TimeoutInvalid
from atende.identity import AttendantPrincipal, Role

__all__ = [
    "AssignmentRules",
    "MyPresence",
    "assignment_rules",
    "attendant_loads",
    "change_assignment_rules",
    "my_presence",
    "set_capacity",
    "set_my_presence",
]

MAX_CAPACITY = 100
TIMEOUT_MINUTES = (1, 1440)


@dataclass(frozen=True)
class MyPresence:
    presence: Presence
    chosen: Presence
    load: int
    max_conversations: int


@dataclass(frozen=True)
class AssignmentRules:
    max_conversations: int
    answer_timeout_minutes: int


def _presence(value: object) -> Presence:
    for presence in PRESENCES:
        if value == presence:
            return presence
    raise PresenceInvalid()


def _capacity(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CapacityInvalid()
    if not 1 <= value <= MAX_CAPACITY:
        raise CapacityInvalid()
    return value


def my_presence(principal: AttendantPrincipal) -> MyPresence:
    with tenant_transaction(principal.tenant_id) as conn:
        [me] = [
            a
            for a in sql.loads(conn, sql.settings(conn).max_conversations)
            if a.attendant_id == principal.attendant_id
        ]
    return MyPresence(me.presence, me.chosen, me.load, me.max_conversations)


def set_my_presence(
    principal: AttendantPrincipal, presence: object, context: RequestContext
) -> MyPresence:
    """Online (Disponível), away (Ausente) or offline.

    Raises:
        PresenceInvalid: any other value.
    """
    assignment.set_presence(
        principal.tenant_id,
        principal.attendant_id,
        _presence(presence),
        context=context,
    )
    return my_presence(principal)


def attendant_loads(principal: AttendantPrincipal) -> list[AttendantLoad]:
    """Every active attendant's presence and load (supervisors, admins)."""
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    with tenant_transaction(principal.tenant_id) as conn:
        return sql.loads(conn, sql.settings(conn).max_conversations)


def set_capacity(
    principal: AttendantPrincipal,
    attendant_id: UUID,
    maximum: object,
    context: RequestContext,
) -> AttendantLoad:
    """An attendant's maximum of simultaneous conversations (None: the
    tenant's default); supervisors and admins, audited.

    Raises:
        CapacityInvalid: not a whole number from 1 to 100.
        NotFound: no such active attendant in this tenant.
    """
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    value = _capacity(maximum)
    with tenant_transaction(principal.tenant_id) as conn:
        known = conn.execute(
            "SELECT 1 FROM attendants WHERE id = %s AND active", (attendant_id,)
        ).fetchone()
        if known is None:
            raise NotFound("Atendente não encontrado.")
        sql.set_capacity(conn, attendant_id, value)
        record_event(
            conn,
            action="ATTENDANT_CAPACITY_CHANGED",
            subject_type="attendant",
            subject_id=str(attendant_id),
            context=context,
            details={"max_conversations": None if value is None else str(value)},
        )
        [changed] = [
            a
            for a in sql.loads(conn, sql.settings(conn).max_conversations)
            if a.attendant_id == attendant_id
        ]
    # More room: they may take what waits now.
    assignment.fill(principal.tenant_id, attendant_id)
    return changed


def assignment_rules(principal: AttendantPrincipal) -> AssignmentRules:
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    with tenant_transaction(principal.tenant_id) as conn:
        rules = sql.settings(conn)
    return AssignmentRules(
        rules.max_conversations, int(rules.answer_timeout.total_seconds() // 60)
    )


def change_assignment_rules(
    principal: AttendantPrincipal,
    *,
    max_conversations: object,
    answer_timeout_minutes: object,
    context: RequestContext,
) -> AssignmentRules:
    """The tenant's default capacity and answer timeout (admins, audited).

    Raises:
        CapacityInvalid / TimeoutInvalid: out of range.
    """
    principal.require(Role.ADMIN)
    maximum = _capacity(max_conversations)
    if maximum is None:
        raise CapacityInvalid()
    low, high = TIMEOUT_MINUTES
    if (
        isinstance(answer_timeout_minutes, bool)
        or not isinstance(answer_timeout_minutes, int)
        or not low <= answer_timeout_minutes <= high
    ):
        raise TimeoutInvalid()
    with tenant_transaction(principal.tenant_id) as conn:
        sql.save_settings(
            conn,
            max_conversations=maximum,
            answer_timeout=timedelta(minutes=answer_timeout_minutes),
        )
        record_event(
            conn,
            action="ASSIGNMENT_RULES_CHANGED",
            subject_type="tenant",
            subject_id=str(principal.tenant_id),
            context=context,
            details={
                "max_conversations": str(maximum),
                "answer_timeout_minutes": str(answer_timeout_minutes),
            },
        )
    return AssignmentRules(maximum, answer_timeout_minutes)
