"""The end of the channel's data: retention (old messages, old summaries) and
LGPD erasure of one customer (their conversations and all they hold)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from atende.db import Connection

__all__ = [
    "anonymize_customer",
    "delete_messages",
    "erase_conversations",
    "forget_handoff_summaries",
    "messages_older_than",
]


def messages_older_than(
    conn: Connection, days: int, limit: int
) -> list[dict[str, Any]]:
    """Messages past retention (id, media_ref), oldest first; never the outbox
    or a turn in progress."""
    return conn.execute(
        "SELECT id, media_ref FROM messages"
        " WHERE created_at < now() - make_interval(days => %s)"
        " AND status <> 'pending' AND turn_state IS DISTINCT FROM 'running'"
        " ORDER BY created_at LIMIT %s",
        (days, limit),
    ).fetchall()


def delete_messages(conn: Connection, ids: Sequence[UUID]) -> int:
    return conn.execute(
        "DELETE FROM messages WHERE id = ANY(%s)", (list(ids),)
    ).rowcount


def forget_handoff_summaries(conn: Connection, days: int, limit: int) -> int:
    """The bot's summaries quote the customer: they age like messages."""
    return conn.execute(
        "UPDATE handoffs SET summary = NULL WHERE id IN (SELECT id FROM handoffs"
        " WHERE summary IS NOT NULL"
        " AND requested_at < now() - make_interval(days => %s) LIMIT %s)",
        (days, limit),
    ).rowcount


def erase_conversations(
    conn: Connection, customer_id: UUID, customer_keys: Sequence[str]
) -> dict[str, int]:
    """Delete the customer's handoffs, messages (with their wamids, the dedupe
    records), parked statuses and conversations; returns the counts."""
    counts = {
        "handoffs": conn.execute(
            "DELETE FROM handoffs WHERE conversation_id IN"
            " (SELECT id FROM conversations WHERE customer_id = %s)",
            (customer_id,),
        ).rowcount,
        "messages": conn.execute(
            "DELETE FROM messages WHERE conversation_id IN"
            " (SELECT id FROM conversations WHERE customer_id = %s)",
            (customer_id,),
        ).rowcount,
        "parked_statuses": conn.execute(
            "DELETE FROM parked_statuses WHERE customer_key = ANY(%s)",
            (list(customer_keys),),
        ).rowcount,
    }
    counts["conversations"] = conn.execute(
        "DELETE FROM conversations WHERE customer_id = %s", (customer_id,)
    ).rowcount
    return counts


def anonymize_customer(conn: Connection, customer_id: UUID) -> None:
    """Keep the row (it anchors consents, requests, proofs), drop who it was."""
    conn.execute(
        "UPDATE customers SET wa_user_id = 'apagado:' || id::text,"
        " wa_parent_user_id = NULL, phone = NULL, username = NULL,"
        " display_name = NULL, previous_user_ids = '{}',"
        " erased_at = now(), updated_at = now()"
        " WHERE id = %s",
        (customer_id,),
    )
