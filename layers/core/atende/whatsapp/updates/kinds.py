"""Every kind of update: the :data:`Update` union and the classes by ``kind``."""

from __future__ import annotations

from atende.whatsapp.updates.messages import InboundMessage
from atende.whatsapp.updates.statuses import StatusUpdate
from atende.whatsapp.updates.system import UserIdUpdate, WebhookError

__all__ = ["Update"]


Update = InboundMessage | StatusUpdate | UserIdUpdate | WebhookError
"""Any update :func:`parse_webhook` can return."""

_KINDS: dict[str, type[InboundMessage | StatusUpdate | UserIdUpdate | WebhookError]] = {
    cls.KIND: cls for cls in (InboundMessage, StatusUpdate, UserIdUpdate, WebhookError)
}
