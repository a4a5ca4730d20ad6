"""The attendant console's use cases: queue, claim, read, reply, transfer, close.

- :mod:`~atende.console.access` — who may see and move a conversation; audit.
- :mod:`~atende.console.reading` — the queue, the lists, one conversation.
- :mod:`~atende.console.actions` — claim, reply, transfer, return to bot, close.
- :mod:`~atende.console.views` — what they return (the API makes it JSON).
- :mod:`~atende.console.annotations` — private notes and labels.
- :mod:`~atende.console.canned` — canned responses ("Respostas rápidas").
- :mod:`~atende.console.media` — files in the timeline: opening a customer's,
  sending an image, PDF or voice note.
- :mod:`~atende.console.search` — searching conversations (text, name, phone,
  @username, protocol, label).
- :mod:`~atende.console.attendants` — managing attendants (deactivation closes
  their live consoles).
- :mod:`~atende.console.templates` — WhatsApp templates: listed, cached, checked.
- :mod:`~atende.console.typing_indicator` — "digitando…" to the customer.
"""

from atende.console.actions import (
    claim,
    close,
    reply,
    return_to_bot,
    teams,
    transfer,
)
from atende.console.annotations import (
    add_note,
    create_label,
    delete_label,
    label_conversation,
    list_labels,
    unlabel_conversation,
)
from atende.console.attendants import update_attendant
from atende.console.canned import (
    create_canned,
    delete_canned,
    list_canned,
    update_canned,
)
from atende.console.media import MediaFile, open_media, send_media
from atende.console.reading import (
    conversation_detail,
    conversation_messages,
    list_conversations,
    queue,
)
from atende.console.search import SearchHit, SearchPage, search_conversations
from atende.console.templates import (
    TemplateCatalog,
    TemplateView,
    list_templates,
    refresh_templates,
)
from atende.console.typing_indicator import TypingSignal, signal_typing
from atende.console.views import (
    ActivityView,
    CannedResponseView,
    ConversationDetail,
    ConversationItem,
    LabelView,
    MessagesPage,
    MessageView,
    NoteView,
    Queue,
    QueueItem,
    StateChange,
)

__all__ = [
    "ActivityView",
    "CannedResponseView",
    "ConversationDetail",
    "ConversationItem",
    "LabelView",
    "MediaFile",
    "MessageView",
    "MessagesPage",
    "NoteView",
    "Queue",
    "QueueItem",
    "SearchHit",
    "SearchPage",
    "StateChange",
    "TemplateCatalog",
    "TemplateView",
    "TypingSignal",
    "add_note",
    "claim",
    "close",
    "conversation_detail",
    "conversation_messages",
    "create_canned",
    "create_label",
    "delete_canned",
    "delete_label",
    "label_conversation",
    "list_canned",
    "list_conversations",
    "list_labels",
    "list_templates",
    "open_media",
    "queue",
    "refresh_templates",
    "reply",
    "return_to_bot",
    "search_conversations",
    "send_media",
    "signal_typing",
    "teams",
    "transfer",
    "unlabel_conversation",
    "update_attendant",
    "update_canned",
]
