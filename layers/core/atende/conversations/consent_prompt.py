"""Asking the LGPD consent question at the right moment of a conversation."""

from __future__ import annotations

from uuid import UUID

from atende.consent import PROMPT_BUTTONS, prompt_due
from atende.conversations import store
from atende.db import Connection

__all__ = ["ask_if_due"]


def ask_if_due(conn: Connection, conversation_id: UUID) -> bool:
    """Queue the consent question after the bot's replies when it is due."""
    customer_id = store.get_conversation(conn, conversation_id).customer_id
    text = prompt_due(conn, customer_id)
    if text is None:
        return False
    store.enqueue_outbound(
        conn,
        conversation_id=conversation_id,
        body=text.body,
        type_="interactive",
        payload={"buttons": [list(b) for b in PROMPT_BUTTONS]},
    )
    return True
