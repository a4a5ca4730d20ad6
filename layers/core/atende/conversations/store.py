"""SQL of the conversation engine. Every function runs in the caller's tenant
transaction (``atende.db.tenant_transaction``)."""

# S608: the only interpolated parts are this module's constant column lists;
# every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from psycopg.types.json import Jsonb

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


class TurnClaim(StrEnum):
    CLAIMED = "claimed"  # this worker runs the turn
    # The lease of a worker that died mid-turn ran out; Rasa may have run the
    # turn already (ask it before running it again).
    TAKEN_OVER = "taken_over"
    DONE = "done"  # an earlier delivery already ran it (or it needs none)
    BUSY = "busy"  # another worker holds a live lease: try again later


@dataclass(frozen=True)
class Customer:
    id: UUID
    wa_user_id: str
    phone: str | None
    username: str | None
    display_name: str | None


@dataclass(frozen=True)
class Conversation:
    id: UUID
    customer_id: UUID
    state: State
    phone_number_id: str | None
    last_activity_at: datetime
    last_inbound_at: datetime | None


_CUSTOMER_COLUMNS = "id, wa_user_id, phone, username, display_name"
_CONVERSATION_COLUMNS = (
    "id, customer_id, state, phone_number_id, last_activity_at, last_inbound_at"
)


def _customer(row: dict[str, Any]) -> Customer:
    return Customer(**row)


def _conversation(row: dict[str, Any]) -> Conversation:
    return Conversation(**{**row, "state": State(row["state"])})


def upsert_customer(
    conn: Connection,
    *,
    user_id: str,
    phone: str | None,
    username: str | None,
    display_name: str | None,
    parent_user_id: str | None = None,
) -> Customer:
    """The customer behind ``user_id`` (Meta's business-scoped id), created or
    refreshed. A former id (after ``user_id_update``) and a customer first seen by
    phone only (before business-scoped ids) resolve to the same customer."""
    row = conn.execute(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customers"
        " WHERE wa_user_id = %s OR %s = ANY(previous_user_ids)"
        " OR (%s::text IS NOT NULL AND wa_user_id = %s)"
        " ORDER BY (wa_user_id = %s) DESC LIMIT 1 FOR UPDATE",
        (user_id, user_id, phone, phone, user_id),
    ).fetchone()
    if row is None:
        row = conn.execute(
            "INSERT INTO customers (tenant_id, wa_user_id, wa_parent_user_id, phone,"
            " username, display_name) VALUES (current_tenant_id(), %s, %s, %s, %s, %s)"
            " ON CONFLICT (tenant_id, wa_user_id) DO UPDATE SET updated_at = now()"
            f" RETURNING {_CUSTOMER_COLUMNS}",
            (user_id, parent_user_id, phone, username, display_name),
        ).fetchone()
        assert row is not None
        return _customer(row)
    # A phone-keyed customer now seen with a business-scoped id takes that id.
    new_key = user_id if row["wa_user_id"] == phone and user_id != phone else None
    updated = conn.execute(
        "UPDATE customers SET"
        " wa_user_id = coalesce(%s, wa_user_id),"
        " previous_user_ids = CASE WHEN %s::text IS NULL THEN previous_user_ids"
        "   ELSE array_append(previous_user_ids, wa_user_id) END,"
        " wa_parent_user_id = coalesce(%s, wa_parent_user_id),"
        " phone = coalesce(%s, phone), username = coalesce(%s, username),"
        " display_name = coalesce(%s, display_name), updated_at = now()"
        f" WHERE id = %s RETURNING {_CUSTOMER_COLUMNS}",
        (new_key, new_key, parent_user_id, phone, username, display_name, row["id"]),
    ).fetchone()
    assert updated is not None
    return _customer(updated)


def change_customer_id(
    conn: Connection, *, old_user_id: str, new_user_id: str, phone: str | None
) -> Customer | None:
    """Apply ``user_id_update``: the customer keeps its history under the new id.

    If messages under the new id already created a second customer, its
    conversations move to the original customer and the duplicate is removed.
    """
    old = conn.execute(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customers"
        " WHERE wa_user_id = %s OR %s = ANY(previous_user_ids) FOR UPDATE",
        (old_user_id, old_user_id),
    ).fetchone()
    if old is None:
        return None
    duplicate = conn.execute(
        "SELECT id FROM customers WHERE wa_user_id = %s AND id <> %s FOR UPDATE",
        (new_user_id, old["id"]),
    ).fetchone()
    if duplicate is not None:
        _merge_customer(conn, keep=old["id"], drop=duplicate["id"])
    if old["wa_user_id"] == new_user_id:
        return _customer(old)
    row = conn.execute(
        "UPDATE customers SET wa_user_id = %s,"
        " previous_user_ids = array_append(previous_user_ids, wa_user_id),"
        " phone = coalesce(%s, phone), updated_at = now()"
        f" WHERE id = %s RETURNING {_CUSTOMER_COLUMNS}",
        (new_user_id, phone, old["id"]),
    ).fetchone()
    assert row is not None
    return _customer(row)


def _merge_customer(conn: Connection, *, keep: UUID, drop: UUID) -> None:
    # Only one open conversation per customer: the duplicate's open one closes.
    conn.execute(
        "UPDATE conversations SET state = 'closed', closed_at = now(),"
        " close_reason = 'merged' WHERE customer_id = %s AND state <> 'closed'"
        " AND EXISTS (SELECT 1 FROM conversations o WHERE o.customer_id = %s"
        " AND o.state <> 'closed')",
        (drop, keep),
    )
    conn.execute(
        "UPDATE conversations SET customer_id = %s WHERE customer_id = %s", (keep, drop)
    )
    conn.execute(
        "UPDATE consents SET customer_id = %s WHERE customer_id = %s", (keep, drop)
    )
    conn.execute(
        "UPDATE customers k SET previous_user_ids = k.previous_user_ids"
        " || d.previous_user_ids FROM customers d WHERE k.id = %s AND d.id = %s",
        (keep, drop),
    )
    conn.execute("DELETE FROM customers WHERE id = %s", (drop,))


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
        "UPDATE conversations SET assigned_attendant_id = %s,"
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


def record_inbound(
    conn: Connection,
    *,
    conversation_id: UUID,
    wamid: str,
    type_: str,
    body: str | None,
    media_ref: str | None,
    payload: dict[str, Any],
    wa_timestamp: datetime,
    needs_turn: bool,
) -> tuple[UUID, bool]:
    """Store an inbound message once per wamid; returns (id, newly stored)."""
    row = conn.execute(
        "INSERT INTO messages (tenant_id, conversation_id, direction, wamid, type,"
        " body, media_ref, payload, status, wa_timestamp, turn_state)"
        " VALUES (current_tenant_id(), %s, 'inbound', %s, %s, %s, %s, %s, 'received',"
        " %s, %s) ON CONFLICT (tenant_id, wamid) WHERE wamid IS NOT NULL DO NOTHING"
        " RETURNING id",
        (
            conversation_id,
            wamid,
            type_,
            body,
            media_ref,
            Jsonb(payload),
            wa_timestamp,
            # NULL: no bot turn (a message for the attendants).
            "pending" if needs_turn else None,
        ),
    ).fetchone()
    if row is not None:
        return row["id"], True
    existing = conn.execute(
        "SELECT id FROM messages WHERE wamid = %s", (wamid,)
    ).fetchone()
    assert existing is not None
    return existing["id"], False


def find_inbound(conn: Connection, wamid: str) -> tuple[UUID, UUID] | None:
    """(message id, conversation id) of an already stored inbound message."""
    row = conn.execute(
        "SELECT id, conversation_id FROM messages WHERE wamid = %s", (wamid,)
    ).fetchone()
    return (row["id"], row["conversation_id"]) if row else None


def claim_turn(conn: Connection, message_id: UUID, *, lease: timedelta) -> TurnClaim:
    """Take the bot turn of an inbound message, unless it ran or runs elsewhere.

    A turn whose lease ran out is taken over: the worker that held it died,
    maybe after Rasa had already run it (see ``TurnClaim.TAKEN_OVER``).
    """
    row = conn.execute(
        "SELECT turn_state, turn_claimed_at < now() - %s AS expired FROM messages"
        " WHERE id = %s FOR UPDATE",
        (lease, message_id),
    ).fetchone()
    assert row is not None
    if row["turn_state"] == "running" and not row["expired"]:
        return TurnClaim.BUSY
    if row["turn_state"] not in ("pending", "running"):
        return TurnClaim.DONE
    conn.execute(
        "UPDATE messages SET turn_state = 'running', turn_claimed_at = now()"
        " WHERE id = %s",
        (message_id,),
    )
    return TurnClaim.CLAIMED if row["turn_state"] == "pending" else TurnClaim.TAKEN_OVER


def complete_turn(conn: Connection, message_id: UUID) -> None:
    conn.execute(
        "UPDATE messages SET turn_state = 'done', updated_at = now() WHERE id = %s",
        (message_id,),
    )


def enqueue_outbound(
    conn: Connection,
    *,
    conversation_id: UUID,
    body: str,
    payload: dict[str, Any] | None = None,
    type_: str = "text",
    attendant_id: UUID | None = None,
    secret: bool = False,
) -> UUID:
    """Put a reply in the conversation's outbox (sent by ``deliver_outbox``).

    ``secret`` replies (one-time links) are shown to nobody and replaced in the
    history once sent.
    """
    if secret:
        payload = {**(payload or {}), "secret": True}
    row = conn.execute(
        # clock_timestamp(), not now(): a turn's replies share one transaction,
        # and the outbox sends them in created_at order.
        # next_attempt_at: when the relay may pick it up if whoever queued it
        # did not deliver it first (a crash between commit and send).
        "INSERT INTO messages (tenant_id, conversation_id, direction, type, body,"
        " payload, status, sent_by_attendant_id, created_at, next_attempt_at)"
        " VALUES (current_tenant_id(), %s, 'outbound', %s, %s, %s, 'pending', %s,"
        " clock_timestamp(), clock_timestamp() + interval '15 seconds')"
        " RETURNING id",
        (conversation_id, type_, body, Jsonb(payload or {}), attendant_id),
    ).fetchone()
    assert row is not None
    conn.execute(
        "UPDATE conversations SET last_activity_at = now() WHERE id = %s",
        (conversation_id,),
    )
    return UUID(str(row["id"]))


@dataclass(frozen=True)
class OutboxItem:
    id: UUID
    type: str
    body: str
    payload: dict[str, Any]
    send_attempts: int = 0
    # Refused before and not due yet: whoever delivers waits for the relay.
    backing_off: bool = False


def lock_outbox(conn: Connection, conversation_id: UUID) -> list[OutboxItem]:
    """Pending replies of a conversation, oldest first, locked for sending."""
    # One sender per conversation at a time, so replies leave in order even
    # when the worker, the console and the relay deliver at once.
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('outbox:' || %s, 0))",
        (str(conversation_id),),
    )
    rows = conn.execute(
        "SELECT id, type, body, payload, send_attempts,"
        " send_attempts > 0 AND next_attempt_at > now() AS backing_off FROM messages"
        " WHERE conversation_id = %s AND status = 'pending'"
        " ORDER BY created_at, id FOR UPDATE",
        (conversation_id,),
    ).fetchall()
    return [OutboxItem(**row) for row in rows]


def mark_sent(conn: Connection, message_id: UUID, wamid: str) -> int:
    """Record Meta's wamid for a sent reply and apply statuses parked for it
    (Meta's first status can beat the send's own response). Returns how many
    parked statuses were applied."""
    conn.execute(
        "UPDATE messages SET status = 'sent', wamid = %s, updated_at = now()"
        " WHERE id = %s",
        (wamid, message_id),
    )
    lock_wamid(conn, wamid)
    parked = conn.execute(
        "DELETE FROM parked_statuses WHERE wamid = %s"
        " RETURNING status, error_code, error_title",
        (wamid,),
    ).fetchall()
    for row in sorted(parked, key=lambda r: _STATUS_RANK.get(r["status"], 0)):
        apply_status(
            conn,
            wamid=wamid,
            status=row["status"],
            error_code=row["error_code"],
            error_title=row["error_title"],
        )
    return len(parked)


def lock_wamid(conn: Connection, wamid: str) -> None:
    """Serialise, until commit, the recording of a wamid and its statuses.

    A status takes this lock before looking for its message; a send takes it
    after recording the wamid and before looking for parked statuses. Whichever
    commits first, the other sees it: no status is parked after its message was
    recorded and then left behind.
    """
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('wamid:' || %s, 0))",
        (wamid,),
    )


def redact(conn: Connection, message_id: UUID, placeholder: str) -> None:
    """Replace a sent message's text (e.g. one-time links) in the history."""
    conn.execute(
        "UPDATE messages SET body = %s, updated_at = now() WHERE id = %s",
        (placeholder, message_id),
    )


def mark_failed(conn: Connection, message_id: UUID, *, code: str, title: str) -> None:
    conn.execute(
        "UPDATE messages SET status = 'failed', error_code = %s, error_title = %s,"
        " updated_at = now() WHERE id = %s",
        (code, title, message_id),
    )


def defer_send(
    conn: Connection, message_id: UUID, *, attempts: int, retry_in: timedelta
) -> None:
    """WhatsApp could not take the reply now: it waits for the relay."""
    conn.execute(
        "UPDATE messages SET send_attempts = %s, next_attempt_at = now() + %s,"
        " updated_at = now() WHERE id = %s",
        (attempts, retry_in, message_id),
    )


def due_outboxes(conn: Connection, *, limit: int = 500) -> list[UUID]:
    """Conversations with replies whose next send attempt is due (the relay)."""
    rows = conn.execute(
        "SELECT conversation_id FROM messages WHERE status = 'pending'"
        " AND next_attempt_at <= now() GROUP BY conversation_id"
        " ORDER BY min(next_attempt_at) LIMIT %s",
        (limit,),
    ).fetchall()
    return [r["conversation_id"] for r in rows]


def park_status(
    conn: Connection,
    *,
    wamid: str,
    status: str,
    error_code: str | None,
    error_title: str | None,
    customer_key: str,
    ttl: timedelta,
) -> bool:
    """Keep a status whose message is unknown until it is recorded or ``ttl``
    passes; returns False for one already parked (a redelivery)."""
    row = conn.execute(
        "INSERT INTO parked_statuses (tenant_id, wamid, status, error_code,"
        " error_title, customer_key, expires_at) VALUES (current_tenant_id(),"
        " %s, %s, %s, %s, %s, now() + %s) ON CONFLICT DO NOTHING RETURNING wamid",
        (wamid, status, error_code, error_title, customer_key, ttl),
    ).fetchone()
    return row is not None


def expire_parked_statuses(conn: Connection) -> int:
    """Drop parked statuses past their TTL; returns how many."""
    return conn.execute(
        "DELETE FROM parked_statuses WHERE expires_at <= now()"
    ).rowcount


# Statuses only move forward; 'failed' may follow any of them.
_STATUS_RANK = {
    "pending": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "read": 4,
    "failed": 5,
}
# Statuses worth keeping for a message not recorded yet.
PARKABLE_STATUSES = frozenset({"sent", "delivered", "read", "failed"})


def apply_status(
    conn: Connection,
    *,
    wamid: str,
    status: str,
    error_code: str | None = None,
    error_title: str | None = None,
) -> bool | None:
    """Apply a delivery status to an outbound message.

    Returns None when no message has that wamid, False when the status is stale
    (e.g. 'delivered' after 'read'), True when applied.
    """
    if status not in _STATUS_RANK:
        return False
    row = conn.execute(
        "SELECT id, status FROM messages WHERE wamid = %s AND direction = 'outbound'"
        " FOR UPDATE",
        (wamid,),
    ).fetchone()
    if row is None:
        return None
    if _STATUS_RANK.get(row["status"], 0) >= _STATUS_RANK[status]:
        return False
    conn.execute(
        "UPDATE messages SET status = %s, error_code = coalesce(%s, error_code),"
        " error_title = coalesce(%s, error_title), updated_at = now() WHERE id = %s",
        (status, error_code, error_title, row["id"]),
    )
    return True


# Queue priority by handoff reason (higher first): unhappy customers and
# customers the bot failed come before routine requests.
HANDOFF_PRIORITY = {
    "reclamacao": 2,
    "cancelamento": 2,
    "bot_unavailable": 1,
    "llm_indisponivel": 1,
}


def request_handoff(
    conn: Connection,
    conversation_id: UUID,
    *,
    reason: str,
    summary: str | None,
    team: str | None = None,
) -> UUID:
    """Move the conversation to waiting_human and queue it for attendants."""
    transition(conn, conversation_id, State.WAITING_HUMAN)
    conn.execute(
        "UPDATE conversations SET team = %s, assigned_attendant_id = NULL"
        " WHERE id = %s",
        (team, conversation_id),
    )
    row = conn.execute(
        "INSERT INTO handoffs (tenant_id, conversation_id, reason, summary,"
        " priority, team) VALUES (current_tenant_id(), %s, %s, %s, %s, %s)"
        " RETURNING id",
        (conversation_id, reason, summary, HANDOFF_PRIORITY.get(reason, 0), team),
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def idle_conversations(conn: Connection, *, older_than: datetime) -> list[Conversation]:
    rows = conn.execute(
        f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
        " WHERE state <> 'closed' AND last_activity_at < %s"
        " ORDER BY last_activity_at FOR UPDATE SKIP LOCKED",
        (older_than,),
    ).fetchall()
    return [_conversation(r) for r in rows]


def recipient_of(conn: Connection, conversation_id: UUID) -> Customer:
    row = conn.execute(
        f"SELECT {', '.join('c.' + c for c in _CUSTOMER_COLUMNS.split(', '))}"
        " FROM conversations v JOIN customers c ON c.id = v.customer_id"
        " WHERE v.id = %s",
        (conversation_id,),
    ).fetchone()
    assert row is not None
    return _customer(row)
