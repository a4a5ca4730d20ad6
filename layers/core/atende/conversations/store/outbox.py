"""Replies waiting to go out, in order per conversation, with their own retry
budget; their wamids once Meta took them."""

# The only interpolated parts are this module's constant column lists;
# every value is a bound parameter.

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from atende.conversations.store.statuses import _STATUS_RANK, apply_status, lock_wamid
from atende.db import Connection


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


def attach_media(conn: Connection, message_id: UUID, media_ref: str) -> None:
    """Where a queued message's file is stored (its key, by message id)."""
    conn.execute(
        "UPDATE messages SET media_ref = %s WHERE id = %s", (media_ref, message_id)
    )


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


def consent_prompts(
    conn: Connection, conversation_id: UUID, version: int
) -> tuple[int, int]:
    """How many times this conversation asked for consent to text ``version``,
    and how many customer messages came after the latest ask."""
    row = conn.execute(
        "SELECT count(*) AS asked, max(created_at) AS last_at FROM messages"
        " WHERE conversation_id = %s AND direction = 'outbound'"
        " AND payload->>'consent_prompt' = %s",
        (conversation_id, str(version)),
    ).fetchone()
    assert row is not None
    if not row["asked"]:
        return 0, 0
    since = conn.execute(
        "SELECT count(*) AS n FROM messages WHERE conversation_id = %s"
        " AND direction = 'inbound' AND created_at > %s",
        (conversation_id, row["last_at"]),
    ).fetchone()
    assert since is not None
    return int(row["asked"]), int(since["n"])
