"""SQL of the WhatsApp channel's tables: the one module family that writes
customers, conversations, handoffs, messages and parked statuses. Every
function runs in the caller's tenant transaction
(``atende.db.tenant_transaction``).

- :mod:`~atende.conversations.store.customers` — customers and their ids.
- :mod:`~atende.conversations.store.conversations` — state, handoffs, idle.
- :mod:`~atende.conversations.store.turns` — inbound messages and bot turns.
- :mod:`~atende.conversations.store.outbox` — replies waiting to go out.
- :mod:`~atende.conversations.store.statuses` — delivery statuses, parked ones.
- :mod:`~atende.conversations.store.lifecycle` — retention and erasure.
- :mod:`~atende.conversations.store.satisfaction` — CSAT surveys and answers.
- :mod:`~atende.conversations.store.assignment` — presence, capacity and the
  assignment decision's locks.
"""

from atende.conversations.store.conversations import (
    HANDOFF_PRIORITY,
    TRANSITIONS,
    Conversation,
    State,
    assign,
    close_conversation,
    get_conversation,
    idle_conversations,
    last_attendant_reply_at,
    open_conversation,
    open_handoff_outside_hours,
    queue_position,
    request_handoff,
    requeue,
    resolve_handoffs,
    return_to_bot,
    returned_by_people,
    touch_inbound,
    transition,
)
from atende.conversations.store.customers import (
    Customer,
    change_customer_id,
    recipient_of,
    upsert_customer,
)
from atende.conversations.store.lifecycle import (
    anonymize_customer,
    delete_messages,
    erase_conversations,
    forget_handoff_summaries,
    messages_older_than,
)
from atende.conversations.store.outbox import (
    OutboxItem,
    attach_media,
    consent_prompts,
    defer_send,
    due_outboxes,
    enqueue_outbound,
    lock_outbox,
    mark_failed,
    mark_sent,
    redact,
)
from atende.conversations.store.satisfaction import (
    SURVEY_AFTER_INACTIVITY,
    SurveyAnswer,
    answer_survey,
    offer_survey,
)
from atende.conversations.store.statuses import (
    PARKABLE_STATUSES,
    apply_status,
    conversation_of_wamid,
    expire_parked_statuses,
    lock_wamid,
    park_status,
)
from atende.conversations.store.turns import (
    JOINABLE,
    Burst,
    PendingMessage,
    TurnClaim,
    claim_burst,
    claim_turn,
    complete_turn,
    complete_turns,
    find_inbound,
    first_pending,
    record_inbound,
)

__all__ = [
    "HANDOFF_PRIORITY",
    "JOINABLE",
    "PARKABLE_STATUSES",
    "SURVEY_AFTER_INACTIVITY",
    "TRANSITIONS",
    "Burst",
    "Conversation",
    "Customer",
    "OutboxItem",
    "PendingMessage",
    "State",
    "SurveyAnswer",
    "TurnClaim",
    "anonymize_customer",
    "answer_survey",
    "apply_status",
    "assign",
    "attach_media",
    "change_customer_id",
    "claim_burst",
    "claim_turn",
    "close_conversation",
    "complete_turn",
    "complete_turns",
    "consent_prompts",
    "conversation_of_wamid",
    "defer_send",
    "delete_messages",
    "due_outboxes",
    "enqueue_outbound",
    "erase_conversations",
    "expire_parked_statuses",
    "find_inbound",
    "first_pending",
    "forget_handoff_summaries",
    "get_conversation",
    "idle_conversations",
    "last_attendant_reply_at",
    "lock_outbox",
    "lock_wamid",
    "mark_failed",
    "mark_sent",
    "messages_older_than",
    "offer_survey",
    "open_conversation",
    "open_handoff_outside_hours",
    "park_status",
    "queue_position",
    "recipient_of",
    "record_inbound",
    "redact",
    "request_handoff",
    "requeue",
    "resolve_handoffs",
    "return_to_bot",
    "returned_by_people",
    "touch_inbound",
    "transition",
    "upsert_customer",
]
