"""Conversations: customers, the bot → human state machine, messages, handoffs.

The engine (:mod:`atende.conversations.engine`) applies WhatsApp updates; the SQL
lives in :mod:`atende.conversations.store`.
"""

from atende.conversations.store import State

__all__ = ["State"]
