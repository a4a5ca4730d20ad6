"""LGPD: consent, data-subject requests, and their fulfilment.

- :mod:`atende.consent` (its own package): versioned consent texts and decisions.
- :mod:`atende.lgpd.access`: the access/portability export (JSON and XLSX).
- :mod:`atende.lgpd.erasure`: erasure everywhere, with a proof record.
- :mod:`atende.lgpd.retention`: the scheduled per-tenant retention.

This module keeps the small surface the bot uses: consent, requests and the
Rasa tracker erasure.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from atende.audit import RequestContext, record_event
from atende.bot.tracker import delete_trackers
from atende.consent import PURPOSE, has_consent, record_consent
from atende.db import Connection

__all__ = [
    "PURPOSE",
    "RequestKind",
    "close_request",
    "erase_bot_memory",
    "has_consent",
    "open_request",
    "record_consent",
]

RequestKind = Literal["access", "erasure"]


def open_request(
    conn: Connection,
    *,
    customer_id: UUID,
    kind: RequestKind,
    conversation_id: UUID | None,
    context: RequestContext,
) -> tuple[UUID, bool]:
    """Open an access or erasure request; an open one of that kind is reused.

    Returns:
        (request id, True when newly opened).
    """
    row = conn.execute(
        "INSERT INTO lgpd_requests (tenant_id, customer_id, kind, conversation_id,"
        " opened_by_type, opened_by_id)"
        " VALUES (current_tenant_id(), %s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, customer_id, kind)"
        " WHERE status IN ('open', 'in_progress') DO NOTHING RETURNING id",
        (customer_id, kind, conversation_id, context.actor.type, context.actor.id),
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
        context=context,
        details={"request_id": str(request_id)},
    )
    return request_id, True


def close_request(
    conn: Connection, *, customer_id: UUID, kind: RequestKind, context: RequestContext
) -> UUID | None:
    """Mark the customer's open request of ``kind`` done; returns its id.

    Fulfilment without a request (an admin acting on their own) returns None.
    """
    row = conn.execute(
        "UPDATE lgpd_requests SET status = 'done', resolved_at = now()"
        " WHERE customer_id = %s AND kind = %s AND status IN ('open', 'in_progress')"
        " RETURNING id",
        (customer_id, kind),
    ).fetchone()
    if row is None:
        return None
    request_id = UUID(str(row["id"]))
    record_event(
        conn,
        action="LGPD_REQUEST_DONE",
        subject_type="customer",
        subject_id=str(customer_id),
        context=context,
        details={"request_id": str(request_id), "kind": kind},
    )
    return request_id


def erase_bot_memory(
    conn: Connection, *, customer_id: UUID, tracker_db_url: str, context: RequestContext
) -> int:
    """Delete the Rasa trackers of every conversation of a customer (erasure).

    Rasa keys trackers by sender id, which is the conversation id; its SQL
    tracker store keeps them in ``events``. Returns how many events went.
    """
    rows = conn.execute(
        "SELECT id::text AS id FROM conversations WHERE customer_id = %s",
        (customer_id,),
    ).fetchall()
    deleted = delete_trackers(tracker_db_url, [r["id"] for r in rows])
    record_event(
        conn,
        action="BOT_MEMORY_ERASED",
        subject_type="customer",
        subject_id=str(customer_id),
        context=context,
        details={"conversations": len(rows), "events": deleted},
    )
    return deleted
