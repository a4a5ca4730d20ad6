"""Delivery statuses: applied forward only; parked when their message is not
recorded (yet), dropped at their TTL."""

# The only interpolated parts are this module's constant column lists;
# every value is a bound parameter.

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from atende.db import Connection


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


def conversation_of_wamid(conn: Connection, wamid: str) -> UUID | None:
    """The conversation of the outbound message ``wamid``."""
    row = conn.execute(
        "SELECT conversation_id FROM messages WHERE wamid = %s AND direction ="
        " 'outbound'",
        (wamid,),
    ).fetchone()
    return row["conversation_id"] if row else None


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
