"""The update for the status of a message the business sent: :class:`StatusUpdate`.

Statuses carry ``recipient_user_id`` (and ``recipient_id``, the phone, only
when it is known); failed statuses come without ``contacts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from atende.whatsapp.updates._base import _UpdateBase
from atende.whatsapp.updates.values import ApiError

__all__ = ["StatusUpdate"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusUpdate(_UpdateBase):
    """The status of a message the business sent.

    Attributes:
        phone_number_id: Business phone number ID.
        display_phone_number: Business display phone number.
        wamid: The sent message's ID (``statuses[].id``).
        status: ``sent``, ``delivered``, ``read``, ``failed``, ``deleted``,
            ``warning``, ... as sent.
        timestamp: When the status changed (UTC).
        recipient_id: Recipient's phone, when known.
        recipient_user_id: Recipient's BSUID, when known.
        recipient_parent_user_id: Recipient's parent BSUID.
        username: Recipient's username (``contacts[]``, delivered/read).
        conversation_id: ``conversation.id``.
        pricing_category: ``pricing.category``.
        pricing_model: ``pricing.pricing_model``.
        biz_opaque_callback_data: Tracking data sent with the message.
        errors: Errors (failed statuses, warnings).
    """

    KIND: ClassVar[str] = "status_update"

    phone_number_id: str
    display_phone_number: str | None = None
    wamid: str
    status: str
    timestamp: datetime
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    recipient_parent_user_id: str | None = None
    username: str | None = None
    conversation_id: str | None = None
    pricing_category: str | None = None
    pricing_model: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: tuple[ApiError, ...] = ()

    def __post_init__(self) -> None:
        """Reject a status with no way to identify its recipient.

        Raises:
            ValueError: Neither ``recipient_user_id`` nor ``recipient_id``.
        """
        if not self.recipient_user_id and not self.recipient_id:
            raise ValueError("a status needs recipient_user_id or recipient_id")

    @property
    def customer_key(self) -> str:
        """The recipient's BSUID when known, otherwise the phone number."""
        key = self.recipient_user_id or self.recipient_id
        assert key is not None  # guaranteed by __post_init__
        return key

    @property
    def dedup_id(self) -> str:
        """``{wamid}:{status}``: one per status transition of a message."""
        return f"{self.wamid}:{self.status}"
