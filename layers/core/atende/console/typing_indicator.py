"""The typing indicator: the customer sees "digitando…" while the attendant
writes.

Meta's call marks the customer's last message read and shows the indicator
for up to 25 s or until a message is sent (``POST /{phone-number-id}/messages``
with ``status: read`` and ``typing_indicator``). Only the conversation's
holder triggers it, only inside the 24-hour window, at most once per
:data:`THROTTLE` per conversation (a row in ``typing_signals`` decides, so
every API instance agrees). A failure at Meta is logged and reported as not
sent, never as an error: the attendant keeps typing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from uuid import UUID

from atende.console.access import load
from atende.conversations.store import State
from atende.db import Connection, tenant_transaction
from atende.errors import Forbidden
from atende.identity import AttendantPrincipal
from atende.observability import logger
from atende.whatsapp.graph import (
    CircuitOpenError,
    GraphApiError,
    GraphClient,
    ensure_within_window,
)

__all__ = ["THROTTLE", "TypingSignal", "forget_typing", "signal_typing"]

THROTTLE: Final = timedelta(seconds=20)

Outcome = Literal["sent", "throttled", "no_message", "whatsapp_failed"]


@dataclass(frozen=True)
class TypingSignal:
    conversation_id: UUID
    outcome: Outcome


def signal_typing(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    graph_for: Callable[[str], GraphClient],
) -> TypingSignal:
    """Show the customer that the holder is typing (throttled).

    Raises:
        Forbidden: the conversation is not with this attendant.
        OutsideCustomerWindow: the 24-hour window is closed.
    """
    now = datetime.now(UTC)
    with tenant_transaction(principal.tenant_id) as conn:
        conv = load(conn, conversation_id)
        if conv["state"] != State.WITH_HUMAN or (
            conv["assigned_attendant_id"] != principal.attendant_id
        ):
            raise Forbidden("Só quem atende a conversa avisa que está digitando.")
        # Free-form rules: no indicator where no free text may follow.
        ensure_within_window("text", conv["last_inbound_at"], now)
        last = conn.execute(
            "SELECT m.wamid, v.phone_number_id FROM messages m"
            " JOIN conversations v ON v.tenant_id = m.tenant_id"
            "  AND v.id = m.conversation_id"
            " WHERE m.conversation_id = %s AND m.direction = 'inbound'"
            "  AND m.wamid IS NOT NULL"
            " ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
            (conversation_id,),
        ).fetchone()
        if last is None or not last["phone_number_id"]:
            return TypingSignal(conversation_id, "no_message")
        claimed = conn.execute(
            "INSERT INTO typing_signals (tenant_id, conversation_id, sent_at)"
            " VALUES (current_tenant_id(), %s, %s)"
            " ON CONFLICT (tenant_id, conversation_id) DO UPDATE"
            " SET sent_at = EXCLUDED.sent_at"
            " WHERE typing_signals.sent_at <= EXCLUDED.sent_at - %s"
            " RETURNING sent_at",
            (conversation_id, now, THROTTLE),
        ).fetchone()
    if claimed is None:
        return TypingSignal(conversation_id, "throttled")
    try:
        graph_for(last["phone_number_id"]).mark_read(
            last["wamid"], typing_indicator=True
        )
    except (GraphApiError, CircuitOpenError) as error:
        logger.warning(
            "typing indicator not sent",
            extra={"conversation_id": str(conversation_id), "error_code": error.code},
        )
        return TypingSignal(conversation_id, "whatsapp_failed")
    return TypingSignal(conversation_id, "sent")


def forget_typing(conn: Connection, conversation_id: UUID) -> None:
    """A message went out: WhatsApp hid the indicator, the next keystroke may
    show it again at once."""
    conn.execute(
        "DELETE FROM typing_signals WHERE conversation_id = %s", (conversation_id,)
    )
