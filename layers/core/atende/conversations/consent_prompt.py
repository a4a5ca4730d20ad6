"""Asking the LGPD consent question at the right moment of a conversation.

A fitting moment is a bot turn that leaves nothing else pending: the
conversation is still with the bot (never right after the handoff text, when
people take over) and the bot's replies asked no question of their own (a
form's "me manda o CPF", a greeting's "como posso ajudar?", buttons). An
ignored question is asked again at a later fitting moment, once the customer
has sent a couple of messages since, and at most :data:`MAX_ASKS` times per
conversation; a tap on its buttons is processed in any state (bot/ rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from atende.bot import BotReply
from atende.consent import PROMPT_BUTTONS, prompt_due
from atende.conversations import store
from atende.conversations.store import State
from atende.db import Connection

__all__ = ["MAX_ASKS", "ask_if_due", "asks_something"]

MAX_ASKS = 3
# Customer messages since the last ask before it is asked again.
MESSAGES_BEFORE_ASKING_AGAIN = 2


def asks_something(replies: Sequence[BotReply]) -> bool:
    """Whether the bot's replies leave a question for the customer to answer."""
    return any(reply.buttons or "?" in reply.text for reply in replies)


def ask_if_due(
    conn: Connection, conversation_id: UUID, *, question_pending: bool
) -> bool:
    """Queue the consent question after the bot's replies when it is due and
    the moment fits; returns whether it was queued."""
    conversation = store.get_conversation(conn, conversation_id)
    if conversation.state is not State.BOT or question_pending:
        return False
    text = prompt_due(conn, conversation.customer_id)
    if text is None:
        return False
    asked, messages_since = store.consent_prompts(conn, conversation_id, text.version)
    ignored_just_now = asked > 0 and messages_since < MESSAGES_BEFORE_ASKING_AGAIN
    if asked >= MAX_ASKS or ignored_just_now:
        return False
    store.enqueue_outbound(
        conn,
        conversation_id=conversation_id,
        body=text.body,
        type_="interactive",
        payload={
            "buttons": [list(b) for b in PROMPT_BUTTONS],
            "consent_prompt": text.version,
        },
    )
    return True
