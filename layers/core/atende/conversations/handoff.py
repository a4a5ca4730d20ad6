"""Moving conversations between the bot and people."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from atende import consent, live
from atende.audit import Actor, RequestContext, record_event
from atende.conversations import assignment, reasons, store
from atende.conversations.notices import tell_customer
from atende.conversations.store import State
from atende.db import Connection, tenant_transaction
from atende.tenancy.hours import open_at


class BotResumer(Protocol):
    def resume(self, sender: str) -> None: ...


def handoff_to_human(
    tenant_id: UUID | str, conversation_id: UUID, *, reason: str, summary: str | None
) -> bool:
    """Queue a bot conversation for attendants (the bot's ``action_handoff``).

    Returns:
        False when the conversation was no longer with the bot (nothing done).
    """
    with tenant_transaction(tenant_id) as conn:
        conversation = store.get_conversation(conn, conversation_id, lock=True)
        if conversation.state is not State.BOT:
            return False
        if reason == reasons.LLM_UNAVAILABLE and not consent.has_consent(
            conn, conversation.customer_id
        ):
            # The bot never asked the LLM: it may not read this customer.
            reason = reasons.NO_AI_CONSENT
        # Outside business hours it stays queued (conversations.after_hours).
        outside_hours = not open_at(conn, datetime.now(UTC))
        handoff_id = store.request_handoff(
            conn,
            conversation_id,
            reason=reason,
            summary=summary,
            outside_hours=outside_hours,
        )
        record_event(
            conn,
            action="HANDOFF_REQUESTED",
            subject_type="conversation",
            subject_id=str(conversation_id),
            context=RequestContext(Actor("system", "bot")),
            details={
                "handoff_id": str(handoff_id),
                "reason": reason,
                "outside_hours": outside_hours,
            },
        )
        # To an online attendant with room now, else it waits in the queue.
        assignment.assign_waiting(conn, conversation_id)
    live.publish(tenant_id, "queue.changed", conversation_id=conversation_id)
    return True


def return_to_bot(
    tenant_id: UUID | str,
    conversation_id: UUID,
    *,
    context: RequestContext,
    bot: BotResumer,
    still_allowed: Callable[[Connection], None] | None = None,
    deliver: Callable[[UUID, UUID], object] | None = None,
) -> None:
    """Give a conversation back to the bot, which starts afresh; the customer
    is told (sent by ``deliver(tenant_id, conversation_id)``, else by the
    sweeper's relay).

    Rasa is resumed first: if it can't be, nothing changes (a tracker still
    with people would leave the customer without answers).

    Raises:
        NotFound: no such conversation for this tenant.
        Conflict: the conversation is closed or already with the bot.
        BotUnavailable: Rasa could not resume the conversation.
    """
    with tenant_transaction(tenant_id) as conn:
        current = store.get_conversation(conn, conversation_id)
        if State.BOT not in store.TRANSITIONS[current.state]:
            store.transition(conn, conversation_id, State.BOT)  # raises Conflict
    bot.resume(str(conversation_id))
    with tenant_transaction(tenant_id) as conn:
        store.get_conversation(conn, conversation_id, lock=True)
        if still_allowed is not None:
            # Checked again under the row lock: the conversation may have been
            # reassigned while Rasa was resuming.
            still_allowed(conn)
        store.return_to_bot(conn, conversation_id)
        tell_customer(conn, conversation_id, "returned_to_bot")
        record_event(
            conn,
            action="CONVERSATION_RETURNED_TO_BOT",
            subject_type="conversation",
            subject_id=str(conversation_id),
            context=context,
        )
    live.publish(tenant_id, "queue.changed", conversation_id=conversation_id)
    if deliver is not None:
        deliver(UUID(str(tenant_id)), conversation_id)
