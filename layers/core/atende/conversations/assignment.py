"""Assignment with presence: who gets a conversation waiting for people.

A handoff goes at once to an online attendant of its team (any attendant for
the general queue) with free capacity: the least loaded, then the one longest
without a new conversation (Blip's rule). With nobody eligible it waits in
the queue as before, and goes to the first attendant who becomes available
(comes online, or frees capacity), oldest of their queues first.

An assignee who goes offline, or who hasn't written to the customer within
the tenant's answer timeout of an automatic assignment (checked by the
sweeper; a claim is the attendant's own choice), loses the conversation:
it goes back to its place in the queue (audited, in the timeline) and is
offered to the next eligible attendant. Manual claims work as always.

Presence is the attendant's choice (online / away / offline), except that a
console whose live connection drops makes them away until it reconnects.
The locking that keeps decisions race-safe is in
:mod:`atende.conversations.store.assignment`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from atende import live
from atende.audit import Actor, RequestContext, record_event
from atende.conversations import store
from atende.conversations.store import State
from atende.conversations.store import assignment as sql
from atende.conversations.store.assignment import Presence
from atende.db import Connection, tenant_transaction

__all__ = [
    "Assigned",
    "assign_waiting",
    "console_connected",
    "console_disconnected",
    "fill",
    "offer",
    "set_presence",
    "sweep",
]

SYSTEM = RequestContext(Actor("system", "assignment"))


@dataclass(frozen=True)
class Assigned:
    conversation_id: UUID
    attendant_id: UUID
    display_name: str


def assign_waiting(
    conn: Connection, conversation_id: UUID, *, passed_over: list[UUID] | None = None
) -> Assigned | None:
    """Give a waiting conversation to the best eligible attendant, in the
    caller's transaction (the conversation row locked by it, or here)."""
    conversation = store.get_conversation(conn, conversation_id, lock=True)
    if conversation.state is not State.WAITING_HUMAN:
        return None
    team_row = conn.execute(
        "SELECT team FROM conversations WHERE id = %s", (conversation_id,)
    ).fetchone()
    team = team_row["team"] if team_row else None
    default_max = sql.settings(conn).max_conversations
    skipped = list(passed_over or [])
    while True:
        candidate = sql.pick_attendant(
            conn, team=team, default_max=default_max, passed_over=skipped
        )
        if candidate is None:
            return None
        # Under the candidate's lock, with a fresh snapshot: the load the
        # pick saw may predate a decision that committed meanwhile.
        if sql.load_of(conn, candidate.attendant_id) < candidate.capacity:
            break
        skipped.append(candidate.attendant_id)
    _give(conn, conversation_id, candidate.attendant_id)
    return Assigned(conversation_id, candidate.attendant_id, candidate.display_name)


def _give(conn: Connection, conversation_id: UUID, attendant_id: UUID) -> None:
    store.assign(conn, conversation_id, attendant_id, keep_team=True)
    sql.mark_assigned(conn, conversation_id, attendant_id)
    record_event(
        conn,
        action="CONVERSATION_ASSIGNED",
        subject_type="conversation",
        subject_id=str(conversation_id),
        context=SYSTEM,
        details={"to_attendant_id": str(attendant_id)},
    )


def offer(tenant_id: UUID | str, conversation_id: UUID) -> Assigned | None:
    """:func:`assign_waiting` in its own transaction, announced."""
    with tenant_transaction(tenant_id) as conn:
        assigned = assign_waiting(conn, conversation_id)
    if assigned is not None:
        live.publish(tenant_id, "queue.changed", conversation_id=conversation_id)
    return assigned


def _fill(conn: Connection, attendant_id: UUID) -> list[UUID]:
    """Give the attendant the heads of their queues up to their capacity,
    if they are online; their presence row locked first."""
    sql.lock_presence(conn, attendant_id)
    capacity = sql.capacity_of(conn, attendant_id, sql.settings(conn).max_conversations)
    if capacity is None:
        return []
    team_row = conn.execute(
        "SELECT team FROM attendants WHERE id = %s", (attendant_id,)
    ).fetchone()
    team = team_row["team"] if team_row else None
    load = sql.load_of(conn, attendant_id)
    given: list[UUID] = []
    skipped: list[UUID] = []
    while load < capacity:
        conversation_id = sql.next_waiting(conn, team=team, passed_over=skipped)
        if conversation_id is None:
            break
        current = store.get_conversation(conn, conversation_id, lock=True)
        if current.state is not State.WAITING_HUMAN:
            skipped.append(conversation_id)
            continue
        _give(conn, conversation_id, attendant_id)
        given.append(conversation_id)
        load += 1
    return given


def fill(tenant_id: UUID | str, attendant_id: UUID) -> list[UUID]:
    """The attendant became available (online, or a conversation ended):
    they get waiting conversations up to their capacity. Returns their ids."""
    with tenant_transaction(tenant_id) as conn:
        given = _fill(conn, attendant_id)
    _announce(tenant_id, given)
    return given


def set_presence(
    tenant_id: UUID | str,
    attendant_id: UUID,
    presence: Presence,
    *,
    context: RequestContext,
) -> Presence:
    """The attendant chose ``presence`` (audited). Online: they get waiting
    conversations; offline: theirs go back to the queue, to the others.

    Returns the presence in effect (the chosen one)."""
    with tenant_transaction(tenant_id) as conn:
        before, _ = sql.lock_presence(conn, attendant_id)
        sql.set_presence(conn, attendant_id, presence, chosen=True)
        record_event(
            conn,
            action="ATTENDANT_PRESENCE_CHANGED",
            subject_type="attendant",
            subject_id=str(attendant_id),
            context=context,
            details={"from": before, "to": presence},
        )
        changed: list[UUID] = []
        if presence == "offline":
            for conversation_id in sql.held_by(conn, attendant_id):
                _requeue(conn, conversation_id, attendant_id, why="offline")
                changed.append(conversation_id)
        elif presence == "online":
            changed = _fill(conn, attendant_id)
    _announce(tenant_id, changed)
    live.publish(tenant_id, "presence.changed")
    return presence


def _requeue(
    conn: Connection,
    conversation_id: UUID,
    attendant_id: UUID,
    *,
    why: str,
    minutes: int | None = None,
) -> Assigned | None:
    """Back to waiting (audited: the timeline tells why), then offered to the
    next eligible attendant, never the one who just lost it."""
    sql.unassign(conn, conversation_id)
    details = {"from_attendant_id": str(attendant_id), "why": why}
    if minutes is not None:
        details["minutes"] = str(minutes)
    record_event(
        conn,
        action="CONVERSATION_REQUEUED",
        subject_type="conversation",
        subject_id=str(conversation_id),
        context=SYSTEM,
        details=details,
    )
    return assign_waiting(conn, conversation_id, passed_over=[attendant_id])


def console_connected(tenant_id: UUID | str, attendant_id: UUID) -> None:
    """A console came back: an attendant who had chosen online is online
    again (and gets waiting conversations)."""
    with tenant_transaction(tenant_id) as conn:
        presence, chosen = sql.lock_presence(conn, attendant_id)
        if not (presence == "away" and chosen == "online"):
            return
        sql.set_presence(conn, attendant_id, "online", chosen=False)
        given = _fill(conn, attendant_id)
    _announce(tenant_id, given)
    live.publish(tenant_id, "presence.changed")


def console_disconnected(tenant_id: UUID | str, attendant_id: UUID) -> None:
    """A console's live connection dropped: with no other console open, an
    online attendant is away (gets nothing new, keeps their conversations)."""
    with tenant_transaction(tenant_id) as conn:
        presence, _ = sql.lock_presence(conn, attendant_id)
        still_open = conn.execute(
            "SELECT 1 FROM console_connections WHERE attendant_id = %s LIMIT 1",
            (attendant_id,),
        ).fetchone()
        if presence != "online" or still_open is not None:
            return
        sql.set_presence(conn, attendant_id, "away", chosen=False)
    live.publish(tenant_id, "presence.changed")


def sweep(tenant_id: UUID | str, *, now: datetime | None = None) -> int:
    """The sweeper's pass: conversations unanswered past the tenant's timeout
    go to someone else; available attendants get what still waits (a
    decision may have passed them over while they were busy). Returns how
    many conversations were re-queued."""
    now = now or datetime.now(UTC)
    changed: list[UUID] = []
    with tenant_transaction(tenant_id) as conn:
        timeout = sql.settings(conn).answer_timeout
        late = sql.unanswered(conn, assigned_before=now - timeout)
        for item in late:
            _requeue(
                conn,
                item.conversation_id,
                item.attendant_id,
                why="timeout",
                minutes=int(timeout.total_seconds() // 60),
            )
            changed.append(item.conversation_id)
    with tenant_transaction(tenant_id) as conn:
        available = sql.available_attendants(conn, sql.settings(conn).max_conversations)
    for attendant_id in available:
        # One transaction each: two sweeps never hold two attendants' locks.
        with tenant_transaction(tenant_id) as conn:
            changed += _fill(conn, attendant_id)
    _announce(tenant_id, changed)
    return len(late)


def _announce(tenant_id: UUID | str, conversation_ids: list[UUID]) -> None:
    for conversation_id in dict.fromkeys(conversation_ids):
        live.publish(tenant_id, "queue.changed", conversation_id=conversation_id)
