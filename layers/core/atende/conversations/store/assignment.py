"""SQL of assignment with presence: attendants' presence and capacity, the
tenant's assignment settings, and the assignment decision's locking queries.
The only writer of ``attendant_presence`` and ``assignment_settings``.

Race safety: a decision locks the conversation first (the caller's row lock,
or ``SKIP LOCKED`` when looking for one), then the chosen attendant's presence
row (``SKIP LOCKED``: another decision giving them a conversation right now is
passed over, never waited for), and counts the attendant's load again under
that lock with a fresh snapshot before assigning. Two decisions therefore
never give one conversation to two people nor one attendant more than their
capacity.
"""

# The only interpolated parts are this module's constant SQL fragments;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from atende.db import Connection

Presence = Literal["online", "away", "offline"]
PRESENCES: tuple[Presence, ...] = ("online", "away", "offline")

DEFAULT_MAX_CONVERSATIONS = 3
DEFAULT_ANSWER_TIMEOUT = timedelta(minutes=5)


@dataclass(frozen=True)
class AssignmentSettings:
    max_conversations: int
    answer_timeout: timedelta


@dataclass(frozen=True)
class AttendantLoad:
    """An attendant's presence and load (``load`` of ``max_conversations``)."""

    attendant_id: UUID
    display_name: str
    team: str | None
    presence: Presence
    chosen: Presence
    load: int
    max_conversations: int
    own_max: int | None  # None: the tenant's default applies
    last_assigned_at: datetime | None


@dataclass(frozen=True)
class Candidate:
    attendant_id: UUID
    display_name: str
    capacity: int


@dataclass(frozen=True)
class Unanswered:
    conversation_id: UUID
    attendant_id: UUID
    display_name: str


# An attendant's load: conversations they have with people now.
_LOAD = (
    "(SELECT count(*) FROM conversations v WHERE v.tenant_id = p.tenant_id"
    " AND v.assigned_attendant_id = p.attendant_id AND v.state = 'with_human')"
)


def settings(conn: Connection) -> AssignmentSettings:
    row = conn.execute(
        "SELECT max_conversations, answer_timeout_s FROM assignment_settings"
    ).fetchone()
    if row is None:
        return AssignmentSettings(DEFAULT_MAX_CONVERSATIONS, DEFAULT_ANSWER_TIMEOUT)
    return AssignmentSettings(
        row["max_conversations"], timedelta(seconds=row["answer_timeout_s"])
    )


def save_settings(
    conn: Connection, *, max_conversations: int, answer_timeout: timedelta
) -> AssignmentSettings:
    conn.execute(
        "INSERT INTO assignment_settings (tenant_id, max_conversations,"
        " answer_timeout_s) VALUES (current_tenant_id(), %s, %s)"
        " ON CONFLICT (tenant_id) DO UPDATE SET max_conversations ="
        " excluded.max_conversations, answer_timeout_s = excluded.answer_timeout_s,"
        " updated_at = now()",
        (max_conversations, int(answer_timeout.total_seconds())),
    )
    return settings(conn)


def lock_presence(conn: Connection, attendant_id: UUID) -> tuple[Presence, Presence]:
    """The attendant's (presence, chosen), their row locked (created offline)."""
    conn.execute(
        "INSERT INTO attendant_presence (tenant_id, attendant_id)"
        " VALUES (current_tenant_id(), %s) ON CONFLICT DO NOTHING",
        (attendant_id,),
    )
    row = conn.execute(
        "SELECT presence, chosen FROM attendant_presence WHERE attendant_id = %s"
        " FOR UPDATE",
        (attendant_id,),
    ).fetchone()
    assert row is not None
    return row["presence"], row["chosen"]


def set_presence(
    conn: Connection, attendant_id: UUID, presence: Presence, *, chosen: bool
) -> None:
    """Record the attendant's presence (and their choice, when they made it);
    call :func:`lock_presence` first."""
    conn.execute(
        "UPDATE attendant_presence SET presence = %s,"
        " chosen = CASE WHEN %s THEN %s ELSE chosen END, changed_at = now()"
        " WHERE attendant_id = %s",
        (presence, chosen, presence, attendant_id),
    )


def set_capacity(conn: Connection, attendant_id: UUID, maximum: int | None) -> None:
    lock_presence(conn, attendant_id)
    conn.execute(
        "UPDATE attendant_presence SET max_conversations = %s WHERE attendant_id = %s",
        (maximum, attendant_id),
    )


def load_of(conn: Connection, attendant_id: UUID) -> int:
    """The attendant's load now (a fresh snapshot: call it under their lock)."""
    row = conn.execute(
        "SELECT count(*) AS n FROM conversations WHERE assigned_attendant_id = %s"
        " AND state = 'with_human'",
        (attendant_id,),
    ).fetchone()
    return int(row["n"]) if row else 0


def capacity_of(conn: Connection, attendant_id: UUID, default: int) -> int | None:
    """The attendant's capacity if they are online and active, else None."""
    row = conn.execute(
        "SELECT coalesce(p.max_conversations, %s) AS capacity"
        " FROM attendant_presence p JOIN attendants a ON a.tenant_id = p.tenant_id"
        "  AND a.id = p.attendant_id"
        " WHERE p.attendant_id = %s AND p.presence = 'online' AND a.active",
        (default, attendant_id),
    ).fetchone()
    return int(row["capacity"]) if row else None


def pick_attendant(
    conn: Connection, *, team: str | None, default_max: int, passed_over: list[UUID]
) -> Candidate | None:
    """Lock the best online attendant for a conversation of ``team`` (None:
    the general queue, anyone's): least loaded, then longest since their last
    assignment. Attendants another decision holds are skipped."""
    row = conn.execute(
        "SELECT p.attendant_id, a.display_name,"
        " coalesce(p.max_conversations, %(default)s) AS capacity"
        " FROM attendant_presence p JOIN attendants a ON a.tenant_id = p.tenant_id"
        "  AND a.id = p.attendant_id"
        " WHERE p.presence = 'online' AND a.active"
        "  AND (%(team)s::text IS NULL OR a.team = %(team)s)"
        "  AND p.attendant_id <> ALL(%(passed)s::uuid[])"
        f"  AND {_LOAD} < coalesce(p.max_conversations, %(default)s)"
        f" ORDER BY {_LOAD}, p.last_assigned_at NULLS FIRST, p.changed_at,"
        "  p.attendant_id"
        " LIMIT 1 FOR UPDATE OF p SKIP LOCKED",
        {"default": default_max, "team": team, "passed": passed_over},
    ).fetchone()
    if row is None:
        return None
    return Candidate(row["attendant_id"], row["display_name"], row["capacity"])


def next_waiting(
    conn: Connection, *, team: str | None, passed_over: list[UUID]
) -> UUID | None:
    """Lock the head of the queues an attendant of ``team`` serves (their
    team's and the general one), in the console's order; conversations
    another decision or claim holds are skipped."""
    row = conn.execute(
        "SELECT v.id FROM handoffs h JOIN conversations v"
        " ON v.tenant_id = h.tenant_id AND v.id = h.conversation_id"
        " WHERE v.state = 'waiting_human' AND h.accepted_at IS NULL"
        "  AND h.resolved_at IS NULL AND (h.team IS NULL OR h.team = %s)"
        "  AND v.id <> ALL(%s::uuid[])"
        " ORDER BY h.priority DESC, h.requested_at, h.id"
        " LIMIT 1 FOR UPDATE OF v SKIP LOCKED",
        (team, passed_over),
    ).fetchone()
    return UUID(str(row["id"])) if row else None


def mark_assigned(conn: Connection, conversation_id: UUID, attendant_id: UUID) -> None:
    """After ``store.assign``: the assignment was automatic (its answer time
    counts), and the attendant's idle time starts again."""
    conn.execute(
        "UPDATE conversations SET assigned_automatically = true WHERE id = %s",
        (conversation_id,),
    )
    conn.execute(
        "UPDATE attendant_presence SET last_assigned_at = clock_timestamp()"
        " WHERE attendant_id = %s",
        (attendant_id,),
    )


def unassign(conn: Connection, conversation_id: UUID) -> None:
    """Back to waiting, at its old place in the queue: the open handoff is
    no longer accepted by anyone (call with the conversation locked)."""
    conn.execute(
        "UPDATE conversations SET state = 'waiting_human',"
        " assigned_attendant_id = NULL, assigned_at = NULL,"
        " assigned_automatically = false WHERE id = %s"
        " AND state = 'with_human'",
        (conversation_id,),
    )
    conn.execute(
        "UPDATE handoffs SET accepted_by = NULL, accepted_at = NULL"
        " WHERE conversation_id = %s AND resolved_at IS NULL",
        (conversation_id,),
    )


def held_by(conn: Connection, attendant_id: UUID) -> list[UUID]:
    """The attendant's conversations with people, locked."""
    rows = conn.execute(
        "SELECT id FROM conversations WHERE assigned_attendant_id = %s"
        " AND state = 'with_human' ORDER BY assigned_at NULLS FIRST, id FOR UPDATE",
        (attendant_id,),
    ).fetchall()
    return [UUID(str(r["id"])) for r in rows]


def unanswered(conn: Connection, *, assigned_before: datetime) -> list[Unanswered]:
    """Conversations assigned automatically before ``assigned_before`` whose
    assignee hasn't written to the customer since, locked (skipping busy
    ones)."""
    rows = conn.execute(
        "SELECT v.id, v.assigned_attendant_id, a.display_name"
        " FROM conversations v JOIN attendants a ON a.tenant_id = v.tenant_id"
        "  AND a.id = v.assigned_attendant_id"
        " WHERE v.state = 'with_human' AND v.assigned_automatically"
        "  AND v.assigned_at < %s"
        "  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = v.tenant_id"
        "   AND m.conversation_id = v.id AND m.direction = 'outbound'"
        "   AND m.sent_by_attendant_id = v.assigned_attendant_id"
        "   AND m.created_at >= v.assigned_at)"
        " ORDER BY v.assigned_at FOR UPDATE OF v SKIP LOCKED",
        (assigned_before,),
    ).fetchall()
    return [
        Unanswered(r["id"], r["assigned_attendant_id"], r["display_name"]) for r in rows
    ]


def available_attendants(conn: Connection, default_max: int) -> list[UUID]:
    """Online, active attendants with free capacity, least loaded first."""
    rows = conn.execute(
        "SELECT p.attendant_id FROM attendant_presence p JOIN attendants a"
        " ON a.tenant_id = p.tenant_id AND a.id = p.attendant_id"
        " WHERE p.presence = 'online' AND a.active"
        f"  AND {_LOAD} < coalesce(p.max_conversations, %s)"
        f" ORDER BY {_LOAD}, p.last_assigned_at NULLS FIRST, p.attendant_id",
        (default_max,),
    ).fetchall()
    return [UUID(str(r["attendant_id"])) for r in rows]


def loads(conn: Connection, default_max: int) -> list[AttendantLoad]:
    """Every active attendant's presence and load, by name."""
    rows = conn.execute(
        "SELECT a.id, a.display_name, a.team,"
        " coalesce(p.presence, 'offline') AS presence,"
        " coalesce(p.chosen, 'offline') AS chosen, p.max_conversations,"
        " p.last_assigned_at, (SELECT count(*) FROM conversations v"
        "  WHERE v.tenant_id = a.tenant_id AND v.assigned_attendant_id = a.id"
        "  AND v.state = 'with_human') AS load"
        " FROM attendants a LEFT JOIN attendant_presence p"
        "  ON p.tenant_id = a.tenant_id AND p.attendant_id = a.id"
        " WHERE a.active ORDER BY a.display_name, a.id"
    ).fetchall()
    return [
        AttendantLoad(
            attendant_id=r["id"],
            display_name=r["display_name"],
            team=r["team"],
            presence=r["presence"],
            chosen=r["chosen"],
            load=int(r["load"]),
            max_conversations=r["max_conversations"] or default_max,
            own_max=r["max_conversations"],
            last_assigned_at=r["last_assigned_at"],
        )
        for r in rows
    ]
