"""LGPD: consent records and data-subject requests (access, erasure).

This issue opens requests from the chat; their fulfilment workflow (export,
erasure across tables, trackers and backups) is a later issue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal
from uuid import UUID

import psycopg

from atende.audit import Actor, record_event
from atende.db import Connection

__all__ = ["erase_bot_memory", "open_request", "record_consent"]

RequestKind = Literal["access", "erasure"]


def record_consent(
    conn: Connection,
    *,
    customer_id: UUID,
    purpose: str,
    granted: bool,
    source: str,
    actor: Actor,
) -> UUID:
    """Append a consent decision (the latest per purpose is the one in force)."""
    row = conn.execute(
        "INSERT INTO consents (tenant_id, customer_id, purpose, granted, source)"
        " VALUES (current_tenant_id(), %s, %s, %s, %s) RETURNING id",
        (customer_id, purpose, granted, source),
    ).fetchone()
    assert row is not None
    record_event(
        conn,
        action="CONSENT_GRANTED" if granted else "CONSENT_REFUSED",
        subject_type="customer",
        subject_id=str(customer_id),
        actor=actor,
        details={"purpose": purpose, "source": source},
    )
    return UUID(str(row["id"]))


def open_request(
    conn: Connection,
    *,
    customer_id: UUID,
    kind: RequestKind,
    conversation_id: UUID | None,
    actor: Actor,
) -> tuple[UUID, bool]:
    """Open an access or erasure request; an open one of that kind is reused.

    Returns:
        (request id, True when newly opened).
    """
    row = conn.execute(
        "INSERT INTO lgpd_requests (tenant_id, customer_id, kind, conversation_id)"
        " VALUES (current_tenant_id(), %s, %s, %s)"
        " ON CONFLICT (tenant_id, customer_id, kind)"
        " WHERE status IN ('open', 'in_progress') DO NOTHING RETURNING id",
        (customer_id, kind, conversation_id),
    ).fetchone()
    if row is None:
        existing = conn.execute(
            "SELECT id FROM lgpd_requests WHERE customer_id = %s AND kind = %s"
            " AND status IN ('open', 'in_progress')",
            (customer_id, kind),
        ).fetchone()
        assert existing is not None
        return UUID(str(existing["id"])), False
    request_id = UUID(str(row["id"]))
    record_event(
        conn,
        action="LGPD_ACCESS_REQUESTED"
        if kind == "access"
        else "LGPD_ERASURE_REQUESTED",
        subject_type="customer",
        subject_id=str(customer_id),
        actor=actor,
        details={"request_id": str(request_id)},
    )
    return request_id, True


def erase_bot_memory(
    conn: Connection, *, customer_id: UUID, tracker_db_url: str, actor: Actor
) -> int:
    """Delete the Rasa trackers of every conversation of a customer (erasure).

    Rasa keys trackers by sender id, which is the conversation id; its SQL
    tracker store keeps them in ``events``. Returns how many events went.
    """
    rows = conn.execute(
        "SELECT id::text AS id FROM conversations WHERE customer_id = %s",
        (customer_id,),
    ).fetchall()
    deleted = _delete_trackers(tracker_db_url, [r["id"] for r in rows])
    record_event(
        conn,
        action="BOT_MEMORY_ERASED",
        subject_type="customer",
        subject_id=str(customer_id),
        actor=actor,
        details={"conversations": len(rows), "events": deleted},
    )
    return deleted


def _delete_trackers(tracker_db_url: str, sender_ids: Sequence[str]) -> int:
    if not sender_ids:
        return 0
    with psycopg.connect(tracker_db_url, autocommit=True) as tracker_db:
        return tracker_db.execute(
            "DELETE FROM events WHERE sender_id = ANY(%s)", (list(sender_ids),)
        ).rowcount
