"""What a customer handed off outside business hours is told: when a person
will answer (the tenant's out-of-office text, :mod:`atende.tenancy.hours`).
The handoff stays queued, marked ``outside_hours`` for the console."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from atende.conversations import store
from atende.db import tenant_transaction
from atende.tenancy.business_hours import out_of_office_text
from atende.tenancy.hours import current_hours

__all__ = ["out_of_hours_reply"]


def out_of_hours_reply(
    tenant_id: UUID | str, conversation_id: UUID, *, now: datetime | None = None
) -> str | None:
    """The out-of-office text when the conversation's open handoff was asked
    for outside business hours; None otherwise (inside hours nothing changes)."""
    with tenant_transaction(tenant_id) as conn:
        if not store.open_handoff_outside_hours(conn, conversation_id):
            return None
        hours = current_hours(conn)
        return out_of_office_text(hours, now or datetime.now(UTC)) if hours else None
