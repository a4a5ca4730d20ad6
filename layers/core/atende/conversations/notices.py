"""Telling the customer what people did with their conversation: a transfer,
a return to the bot, a close. One message per event, queued in the caller's
transaction (so it goes only if the change commits) and sent with the outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

from atende.conversations import messages_ptbr as texts
from atende.conversations import store
from atende.db import Connection

__all__ = ["Notice", "tell_customer"]

Notice = Literal[
    "transferred_to_person", "transferred_to_queue", "returned_to_bot", "closed"
]

_TEXTS: dict[Notice, str] = {
    "transferred_to_person": texts.TRANSFERRED_TO_PERSON,
    "transferred_to_queue": texts.TRANSFERRED_TO_QUEUE,
    "returned_to_bot": texts.RETURNED_TO_BOT,
    "closed": texts.CLOSED_BY_PEOPLE,
}
# Meta's free-form window, less the time the outbox may need to send.
_SENDABLE_FOR = timedelta(hours=24) - timedelta(minutes=5)


def tell_customer(conn: Connection, conversation_id: UUID, notice: Notice) -> bool:
    """Queue the customer's PT-BR message for ``notice``; returns whether it
    was queued (not when WhatsApp's 24-hour window has closed: a free text
    could not be sent, and a template isn't worth it for this)."""
    last_inbound_at = store.get_conversation(conn, conversation_id).last_inbound_at
    if last_inbound_at is None or datetime.now(UTC) - last_inbound_at > _SENDABLE_FOR:
        return False
    store.enqueue_outbound(
        conn,
        conversation_id=conversation_id,
        body=_TEXTS[notice],
        payload={"notice": notice},
    )
    return True
