"""Conversations: customers, the bot → human state machine, messages, handoffs.

The engine (:mod:`atende.conversations.engine`) applies WhatsApp updates; the SQL
lives in :mod:`atende.conversations.store`.
"""

from uuid import UUID

from atende.conversations.store import State

__all__ = ["State", "protocol"]


def protocol(record_id: UUID) -> str:
    """The protocol a customer is given for a conversation or a request: the
    id's first group, upper case ("1A2B3C4D")."""
    return str(record_id).split("-")[0].upper()
