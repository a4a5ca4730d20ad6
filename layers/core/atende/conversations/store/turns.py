"""Inbound messages, stored once per wamid, and their bot turns, claimed with a
lease (pending → running → done; NULL when no turn is due)."""

# The only interpolated parts are this module's constant column lists;
# every value is a bound parameter.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from atende.db import Connection


class TurnClaim(StrEnum):
    CLAIMED = "claimed"  # this worker runs the turn
    # The lease of a worker that died mid-turn ran out; Rasa may have run the
    # turn already (ask it before running it again).
    TAKEN_OVER = "taken_over"
    DONE = "done"  # an earlier delivery already ran it (or it needs none)
    BUSY = "busy"  # another worker holds a live lease: try again later
    NOT_DUE = "not_due"  # a burst whose window is still open


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


# -- bursts: one turn for the messages a customer sent within the window -------

# Only typed text waits for more and is joined; a button tap or a media
# message ends the burst and is a turn of its own.
JOINABLE = "text"


@dataclass(frozen=True)
class PendingMessage:
    id: UUID
    wamid: str
    type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Burst:
    """What :func:`claim_burst` found: ``messages`` (oldest first) is the turn
    this worker now holds when ``claim`` is CLAIMED or TAKEN_OVER."""

    claim: TurnClaim
    customer_id: UUID | None  # None: the conversation is gone (erased)
    messages: tuple[PendingMessage, ...] = ()
    # NOT_DUE: how long until the window ends; BUSY: until the lease does.
    wait: timedelta = timedelta(0)


def first_pending(conn: Connection, conversation_id: UUID) -> str | None:
    """The wamid of the conversation's oldest message whose turn is pending.

    Locks the conversation: a message stored at the same time as a burst is
    claimed is either in that turn or the first of the next one.
    """
    conn.execute(
        "SELECT 1 FROM conversations WHERE id = %s FOR UPDATE", (conversation_id,)
    )
    row = conn.execute(
        "SELECT wamid FROM messages WHERE conversation_id = %s"
        " AND direction = 'inbound' AND turn_state = 'pending'"
        " ORDER BY created_at, wa_timestamp, id LIMIT 1",
        (conversation_id,),
    ).fetchone()
    return row["wamid"] if row else None


def claim_burst(
    conn: Connection,
    conversation_id: UUID,
    *,
    window: timedelta,
    lease: timedelta,
) -> Burst:
    """Take the conversation's next bot turn: its pending typed messages once
    ``window`` has passed since the first of them was stored (at once when a
    tap or media message is pending behind them), or that one tap or media
    message; a turn whose worker died (lease over) is taken over as it was.
    """
    conversation = conn.execute(
        "SELECT customer_id FROM conversations WHERE id = %s FOR UPDATE",
        (conversation_id,),
    ).fetchone()
    if conversation is None:
        return Burst(TurnClaim.DONE, None)
    customer_id = conversation["customer_id"]
    rows = conn.execute(
        "SELECT id, wamid, type, payload, turn_state,"
        " turn_claimed_at < now() - %s AS expired,"
        " turn_claimed_at + %s - now() AS lease_left,"
        " created_at + %s - now() AS window_left"
        " FROM messages WHERE conversation_id = %s AND direction = 'inbound'"
        " AND turn_state IN ('pending', 'running')"
        " ORDER BY created_at, wa_timestamp, id",
        (lease, lease, window, conversation_id),
    ).fetchall()
    running = [r for r in rows if r["turn_state"] == "running"]
    if running:
        live = [r for r in running if not r["expired"]]
        if live:
            return Burst(
                TurnClaim.BUSY, customer_id, wait=max(r["lease_left"] for r in live)
            )
        _mark_running(conn, [r["id"] for r in running])
        return Burst(TurnClaim.TAKEN_OVER, customer_id, _pending(running))
    if not rows:
        return Burst(TurnClaim.DONE, customer_id)
    if rows[0]["type"] != JOINABLE:
        batch = rows[:1]
    else:
        batch = []
        for row in rows:
            if row["type"] != JOINABLE:
                break
            batch.append(row)
        if len(batch) == len(rows) and rows[0]["window_left"] > timedelta(0):
            return Burst(TurnClaim.NOT_DUE, customer_id, wait=rows[0]["window_left"])
    _mark_running(conn, [r["id"] for r in batch])
    return Burst(TurnClaim.CLAIMED, customer_id, _pending(batch))


def complete_turns(conn: Connection, message_ids: Sequence[UUID]) -> None:
    conn.execute(
        "UPDATE messages SET turn_state = 'done', updated_at = now()"
        " WHERE id = ANY(%s)",
        (list(message_ids),),
    )


def _mark_running(conn: Connection, message_ids: list[UUID]) -> None:
    conn.execute(
        "UPDATE messages SET turn_state = 'running', turn_claimed_at = now()"
        " WHERE id = ANY(%s)",
        (message_ids,),
    )


def _pending(rows: list[dict[str, Any]]) -> tuple[PendingMessage, ...]:
    return tuple(
        PendingMessage(
            id=r["id"], wamid=r["wamid"], type=r["type"], payload=r["payload"]
        )
        for r in rows
    )
