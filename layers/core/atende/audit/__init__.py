"""The audit trail: one call records who did what to which record.

Events are written in the caller's tenant transaction, so an action and its
audit event commit or roll back together. audit_events is append-only for the
application role. The payload must not carry personal data: record ids, never
values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from psycopg.types.json import Jsonb

from atende.db import Connection
from atende.observability import contains_pii

__all__ = [
    "SYSTEM",
    "SYSTEM_CONTEXT",
    "Actor",
    "AuditEvent",
    "RequestContext",
    "list_events",
    "record_event",
]

ActorType = Literal["system", "api_key", "attendant", "customer", "operator"]
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Actor:
    """Who acted: a kind and an id (API key id, attendant id, …)."""

    type: ActorType
    id: str | None = None


SYSTEM = Actor("system")


@dataclass(frozen=True)
class RequestContext:
    """Who acts, and where the request came from: what every audit event
    records. Use cases that serve a request take one; jobs use
    :data:`SYSTEM_CONTEXT`."""

    actor: Actor
    request_id: str | None = None
    ip: str | None = None


SYSTEM_CONTEXT = RequestContext(SYSTEM)


@dataclass(frozen=True)
class AuditEvent:
    """One stored audit event."""

    id: int
    action: str
    subject_type: str
    subject_id: str | None
    actor_type: str
    actor_id: str | None
    request_id: str | None
    ip: str | None
    details: dict[str, Scalar]


def _check_no_pii(details: Mapping[str, Scalar]) -> None:
    for name, value in details.items():
        if contains_pii(name) or (isinstance(value, str) and contains_pii(value)):
            raise ValueError(f"audit detail {name!r} looks like personal data")


def record_event(
    conn: Connection,
    *,
    action: str,
    subject_type: str,
    subject_id: str | None,
    context: RequestContext,
    details: Mapping[str, Scalar] | None = None,
) -> int:
    """Append an audit event for the transaction's tenant; returns its id.

    Raises:
        ValueError: when ``details`` carries something shaped like PII.
    """
    payload = dict(details or {})
    _check_no_pii(payload)
    row = conn.execute(
        """
        INSERT INTO audit_events (tenant_id, action, subject_type, subject_id,
                                  actor_type, actor_id, request_id, ip, details)
        VALUES (current_tenant_id(), %s, %s, %s, %s, %s, %s, %s, %s)
        RETURNING id
        """,
        (
            action,
            subject_type,
            subject_id,
            context.actor.type,
            context.actor.id,
            context.request_id,
            context.ip,
            Jsonb(payload),
        ),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def list_events(
    conn: Connection, *, subject_type: str, subject_id: str
) -> list[AuditEvent]:
    """The events about one subject, oldest first."""
    rows = conn.execute(
        """
        SELECT id, action, subject_type, subject_id, actor_type, actor_id,
               request_id, host(ip) AS ip, details
        FROM audit_events
        WHERE subject_type = %s AND subject_id = %s
        ORDER BY occurred_at, id
        """,
        (subject_type, subject_id),
    ).fetchall()
    return [AuditEvent(**row) for row in rows]
