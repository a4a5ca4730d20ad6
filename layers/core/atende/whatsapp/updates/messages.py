"""The update for a message a customer sent: :class:`InboundMessage`.

The sender is known by business-scoped user ID (BSUID), phone number or both:
Meta may omit the phone of users who adopted a WhatsApp username.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from atende.whatsapp.updates._base import _UpdateBase
from atende.whatsapp.updates.values import (
    ApiError,
    Button,
    Contact,
    Context,
    Interactive,
    Location,
    Media,
    Order,
    Reaction,
    Referral,
    SharedContact,
    SystemInfo,
)

__all__ = ["InboundMessage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage(_UpdateBase):
    """A message a customer sent to the business.

    Attributes:
        phone_number_id: Business phone number ID (``metadata``).
        display_phone_number: Business display phone number.
        wamid: WhatsApp message ID.
        timestamp: When Meta received it (UTC).
        type: ``text``, ``image``, ``audio``, ``video``, ``document``,
            ``sticker``, ``location``, ``contacts``, ``interactive``,
            ``button``, ``reaction``, ``order``, ``system``,
            ``request_welcome``, ``unsupported``, ... as sent.
        user_id: Sender's BSUID (``from_user_id`` or ``contacts[].user_id``).
        wa_id: Sender's phone (``from`` or ``contacts[].wa_id``); None for
            username users whose phone Meta does not share.
        parent_user_id: Sender's parent BSUID.
        username: Sender's WhatsApp username.
        profile_name: Sender's display name.
        text: Text body; button/row title or flow body for interactive
            replies; button text; media caption; order text.
        media: Media of image/audio/video/document/sticker messages.
        location: Shared location.
        shared_contacts: Shared contact cards.
        interactive: Interactive reply.
        button: Template quick-reply tap.
        reaction: Reaction.
        order: Order.
        system: System message content.
        referral: Click-to-WhatsApp referral.
        context: Reply/forward context.
        errors: Errors (``unsupported`` messages).
    """

    KIND: ClassVar[str] = "inbound_message"

    phone_number_id: str
    display_phone_number: str | None = None
    wamid: str
    timestamp: datetime
    type: str
    user_id: str | None = None
    wa_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    profile_name: str | None = None
    text: str | None = None
    media: Media | None = None
    location: Location | None = None
    shared_contacts: tuple[SharedContact, ...] = ()
    interactive: Interactive | None = None
    button: Button | None = None
    reaction: Reaction | None = None
    order: Order | None = None
    system: SystemInfo | None = None
    referral: Referral | None = None
    context: Context | None = None
    errors: tuple[ApiError, ...] = ()

    def __post_init__(self) -> None:
        """Reject a message with no way to identify its sender.

        Raises:
            ValueError: Neither ``user_id`` nor ``wa_id`` is set.
        """
        if not self.user_id and not self.wa_id:
            raise ValueError("an inbound message needs user_id or wa_id")

    @property
    def customer_key(self) -> str:
        """The sender's BSUID when known, otherwise the phone number."""
        key = self.user_id or self.wa_id
        assert key is not None  # guaranteed by __post_init__
        return key

    @property
    def dedup_id(self) -> str:
        """The wamid: Meta retries deliver the same message ID."""
        return self.wamid

    @property
    def sender(self) -> Contact:
        """The sender's identity as a :class:`Contact`."""
        return Contact(
            user_id=self.user_id,
            wa_id=self.wa_id,
            parent_user_id=self.parent_user_id,
            username=self.username,
            profile_name=self.profile_name,
        )
