"""Inbound messages, stored once per wamid, and their bot turns, claimed with a
lease (pending → running → done; NULL when no turn is due)."""

# The only interpolated parts are this module's constant column lists;
# every value is a bound parameter.

from __future__ import annotations

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
