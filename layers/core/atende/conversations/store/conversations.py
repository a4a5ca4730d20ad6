"""Conversation state and handoffs: the only writer of both tables."""

# The only interpolated parts are this module's constant column lists;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from atende.db import Connection
from atende.errors import Conflict, NotFound


class State(StrEnum):
    BOT = "bot"
    WAITING_HUMAN = "waiting_human"
    WITH_HUMAN = "with_human"
    CLOSED = "closed"


# Allowed moves of the conversation state machine.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.BOT: frozenset({State.WAITING_HUMAN, State.CLOSED}),
    State.WAITING_HUMAN: frozenset({State.WITH_HUMAN, State.BOT, State.CLOSED}),
    State.WITH_HUMAN: frozenset({State.BOT, State.WAITING_HUMAN, State.CLOSED}),
    State.CLOSED: frozenset(),
}


@dataclass(frozen=True)
class Conversation:
    id: UUID
    customer_id: UUID
    state: State
    phone_number_id: str | None
    last_activity_at: datetime
    last_inbound_at: datetime | None


_CONVERSATION_COLUMNS = (
    "id, customer_id, state, phone_number_id, last_activity_at, last_inbound_at"
)


def _conversation(row: dict[str, Any]) -> Conversation:
    return Conversation(**{**row, "state": State(row["state"])})


def open_conversation(
    conn: Connection,
    *,
    customer_id: UUID,
    phone_number_id: str,
    now: datetime,
    idle_timeout: timedelta,
) -> tuple[Conversation, Conversation | None]:
    """The customer's open conversation, locked; a new one if none is open.

    An open conversation idle for longer than ``idle_timeout`` is closed first
    (the sweeper normally does this, with a message). Returns (open, closed-now).
    """
    row = conn.execute(
        f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
        " WHERE customer_id = %s AND state <> 'closed' FOR UPDATE",
        (customer_id,),
    ).fetchone()
    closed = None
    if row is not None and now - row["last_activity_at"] > idle_timeout:
        closed = close_conversation(conn, row["id"], reason="inactivity")
        row = None
    if row is None:
        row = conn.execute(
            "INSERT INTO conversations (tenant_id, customer_id, phone_number_id,"
            " opened_at, last_activity_at) VALUES (current_tenant_id(), %s, %s, %s, %s)"
            f" RETURNING {_CONVERSATION_COLUMNS}",
            (customer_id, phone_number_id, now, now),
        ).fetchone()
        assert row is not None
    return _conversation(row), closed


def get_conversation(
    conn: Connection, conversation_id: UUID, *, lock: bool = False
) -> Conversation:
    row = conn.execute(
        f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = %s"
        + (" FOR UPDATE" if lock else ""),
        (conversation_id,),
    ).fetchone()
    if row is None:
        raise NotFound("Conversa não encontrada.")
    return _conversation(row)


def transition(conn: Connection, conversation_id: UUID, to: State) -> Conversation:
    """Move a conversation to ``to``; refuses moves the state machine forbids."""
    current = get_conversation(conn, conversation_id, lock=True)
    if to not in TRANSITIONS[current.state]:
        raise Conflict(
            f"A conversa não pode passar de '{current.state}' para '{to}'.",
            state=current.state.value,
        )
    row = conn.execute(
        "UPDATE conversations SET state = %s, last_activity_at = now(),"
        " closed_at = CASE WHEN %s = 'closed' THEN now() END"
        f" WHERE id = %s RETURNING {_CONVERSATION_COLUMNS}",
        (to.value, to.value, conversation_id),
    ).fetchone()
    assert row is not None
    return _conversation(row)


def close_conversation(
    conn: Connection, conversation_id: UUID, *, reason: str
) -> Conversation:
    """Close the conversation; a handoff still open ends with it."""
    closed = transition(conn, conversation_id, State.CLOSED)
    conn.execute(
        "UPDATE conversations SET close_reason = %s WHERE id = %s",
        (reason, conversation_id),
    )
    resolve_handoffs(conn, conversation_id, outcome="closed")
    return closed


def return_to_bot(conn: Connection, conversation_id: UUID) -> Conversation:
    """The bot has the conversation again: no assignee, no team, handoff ended."""
    conversation = transition(conn, conversation_id, State.BOT)
    resolve_handoffs(conn, conversation_id, outcome="returned_to_bot")
    conn.execute(
        "UPDATE conversations SET assigned_attendant_id = NULL, team = NULL"
        " WHERE id = %s",
        (conversation_id,),
    )
    return conversation


def assign(
    conn: Connection, conversation_id: UUID, attendant_id: UUID, *, keep_team: bool
) -> None:
    """Give the conversation to ``attendant_id`` (a claim from a queue, which
    keeps its team, or a transfer to a person): it is with people, and its open
    handoff is accepted by them."""
    if get_conversation(conn, conversation_id, lock=True).state is State.WAITING_HUMAN:
        transition(conn, conversation_id, State.WITH_HUMAN)
    conn.execute(
        "UPDATE conversations SET assigned_attendant_id = %s, assigned_at = now(),"
        " assigned_automatically = false,"
        " team = CASE WHEN %s THEN team END, last_activity_at = now() WHERE id = %s",
        (attendant_id, keep_team, conversation_id),
    )
    conn.execute(
        "UPDATE handoffs SET accepted_by = %s,"
        " accepted_at = coalesce(accepted_at, now())"
        " WHERE conversation_id = %s AND resolved_at IS NULL",
        (attendant_id, conversation_id),
    )


def requeue(conn: Connection, conversation_id: UUID, *, team: str) -> UUID:
    """Put a conversation with people back in ``team``'s queue (a transfer to a
    team), carrying the bot's summary over to the new handoff."""
    summaries = resolve_handoffs(conn, conversation_id, outcome="transferred")
    if get_conversation(conn, conversation_id, lock=True).state is State.WAITING_HUMAN:
        transition(conn, conversation_id, State.WITH_HUMAN)
    return request_handoff(
        conn,
        conversation_id,
        reason="transferencia",
        summary=summaries[-1] if summaries else None,
        team=team,
    )


def resolve_handoffs(
    conn: Connection,
    conversation_id: UUID,
    *,
    outcome: Literal["returned_to_bot", "closed", "transferred"],
) -> list[str | None]:
    """End the conversation's open handoff; returns its bot summaries."""
    rows = conn.execute(
        "UPDATE handoffs SET resolved_at = now(), outcome = %s"
        " WHERE conversation_id = %s AND resolved_at IS NULL RETURNING summary",
        (outcome, conversation_id),
    ).fetchall()
    return [r["summary"] for r in rows]


def touch_inbound(conn: Connection, conversation_id: UUID, at: datetime) -> None:
    conn.execute(
        "UPDATE conversations SET last_activity_at = greatest(last_activity_at, %s),"
        " last_inbound_at = greatest(coalesce(last_inbound_at, %s), %s) WHERE id = %s",
        (at, at, at, conversation_id),
    )


# Queue priority by handoff reason (higher first): unhappy customers and
# customers the bot failed come before routine requests.
HANDOFF_PRIORITY = {
    "reclamacao": 2,
    "cancelamento": 2,
    "bot_unavailable": 1,
    "llm_indisponivel": 1,
    "sem_consentimento_ia": 1,
}


def request_handoff(
    conn: Connection,
    conversation_id: UUID,
    *,
    reason: str,
    summary: str | None,
    team: str | None = None,
    outside_hours: bool = False,
) -> UUID:
    """Move the conversation to waiting_human and queue it for attendants
    (``outside_hours``: asked for while the tenant was closed)."""
    transition(conn, conversation_id, State.WAITING_HUMAN)
    conn.execute(
        "UPDATE conversations SET team = %s, assigned_attendant_id = NULL"
        " WHERE id = %s",
        (team, conversation_id),
    )
    row = conn.execute(
        "INSERT INTO handoffs (tenant_id, conversation_id, reason, summary,"
        " priority, team, outside_hours)"
        " VALUES (current_tenant_id(), %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            conversation_id,
            reason,
            summary,
            HANDOFF_PRIORITY.get(reason, 0),
            team,
            outside_hours,
        ),
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def open_handoff_outside_hours(conn: Connection, conversation_id: UUID) -> bool:
    """Whether the conversation's open handoff was asked for while the tenant
    was closed."""
    row = conn.execute(
        "SELECT outside_hours FROM handoffs"
        " WHERE conversation_id = %s AND resolved_at IS NULL"
        " ORDER BY requested_at DESC LIMIT 1",
        (conversation_id,),
    ).fetchone()
    return bool(row and row["outside_hours"])


def idle_conversations(conn: Connection, *, older_than: datetime) -> list[Conversation]:
    rows = conn.execute(
        f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
        " WHERE state <> 'closed' AND last_activity_at < %s"
        " ORDER BY last_activity_at FOR UPDATE SKIP LOCKED",
        (older_than,),
    ).fetchall()
    return [_conversation(r) for r in rows]


def queue_position(conn: Connection, conversation_id: UUID) -> int | None:
    """Where the conversation stands in its queue (1: next), in the console's
    order (priority, then longest wait) among the handoffs served before it:
    its team's and the general queue's. None when it isn't waiting."""
    row = conn.execute(
        "SELECT 1 + (SELECT count(*) FROM handoffs o"
        "  JOIN conversations v ON v.tenant_id = o.tenant_id"
        "   AND v.id = o.conversation_id AND v.state = 'waiting_human'"
        "  WHERE o.accepted_at IS NULL AND o.resolved_at IS NULL"
        "   AND (o.team IS NULL OR o.team IS NOT DISTINCT FROM h.team)"
        "   AND (o.priority > h.priority OR (o.priority = h.priority"
        "    AND (o.requested_at, o.id) < (h.requested_at, h.id)))) AS position"
        " FROM handoffs h JOIN conversations c ON c.tenant_id = h.tenant_id"
        "  AND c.id = h.conversation_id AND c.state = 'waiting_human'"
        " WHERE h.conversation_id = %s AND h.accepted_at IS NULL"
        " AND h.resolved_at IS NULL",
        (conversation_id,),
    ).fetchone()
    return int(row["position"]) if row else None


def last_attendant_reply_at(conn: Connection, conversation_id: UUID) -> datetime | None:
    row = conn.execute(
        "SELECT max(created_at) AS at FROM messages WHERE conversation_id = %s"
        " AND direction = 'outbound' AND sent_by_attendant_id IS NOT NULL",
        (conversation_id,),
    ).fetchone()
    return row["at"] if row else None


def returned_by_people(conn: Connection, conversation_id: UUID) -> bool:
    """Whether people gave this conversation back to the bot (its latest
    handoff ended that way)."""
    row = conn.execute(
        "SELECT outcome FROM handoffs WHERE conversation_id = %s"
        " ORDER BY requested_at DESC, id DESC LIMIT 1",
        (conversation_id,),
    ).fetchone()
    return row is not None and row["outcome"] == "returned_to_bot"
