"""Typed parsing of WhatsApp Cloud API webhook updates (pure, no I/O).

The body of ``POST /whatsapp/webhook`` is an envelope::

    {"object": "whatsapp_business_account",
     "entry": [{"id": WABA_ID,
                "changes": [{"field": "messages",
                             "value": {"messaging_product": "whatsapp",
                                       "metadata": {...}, "contacts": [...],
                                       "messages": [...], "statuses": [...],
                                       "errors": [...]}}]}]}

:func:`parse_webhook` turns it into a flat list of frozen dataclasses:

* :class:`InboundMessage` for each ``messages[]`` item sent by a customer;
* :class:`StatusUpdate` for each ``statuses[]`` item (sent, delivered, read,
  failed, ...);
* :class:`UserIdUpdate` when a customer's business-scoped user ID (BSUID)
  changes: the ``system`` messages ``user_changed_user_id`` and
  ``user_changed_number`` that carry a new ``user_id``, and the (undocumented
  here, accepted anyway) ``user_id_update`` webhook field;
* :class:`WebhookError` for webhook-level ``value.errors``, so they can be
  logged.

Customer identity (2026): Meta sends a business-scoped user ID (``user_id``,
e.g. ``"BR.1502576394655843"``) for every user and, for users who adopted a
WhatsApp username, may omit the phone number (``contacts[].wa_id`` and
``messages[].from``). The sender's BSUID is ``messages[].from_user_id`` and
``contacts[].user_id``; the username is ``contacts[].profile.username``.
Statuses carry ``recipient_user_id`` (and ``recipient_id``, the phone, only
when it is known); failed statuses come without ``contacts``.

Tolerance rules:

* unknown keys are ignored everywhere;
* an envelope that is not a WhatsApp Business webhook (not an object, wrong
  ``object``, ``entry``/``changes`` not lists, an entry/change/value/item not
  an object, missing ``metadata.phone_number_id``) raises
  :class:`atende.errors.InvalidInput`;
* a single item that cannot become an update (no ``id``, bad ``timestamp``,
  a sender with neither BSUID nor phone, a status without ``status``) does
  not fail the whole payload: it is left out and reported in
  :attr:`WebhookParse.skipped` (see :func:`parse_webhook_detailed`);
* changes of other webhook fields (``account_update``, ``user_preferences``,
  ...) are skipped the same way.

Every update exposes ``phone_number_id``, ``customer_key`` (the FIFO group key
with the tenant), ``dedup_id`` and ``to_json()``; :func:`update_from_json`
restores the exact same object from ``to_json()``'s output.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

from atende.errors import InvalidInput

__all__ = [
    "ApiError",
    "Button",
    "Contact",
    "Context",
    "InboundMessage",
    "Interactive",
    "Location",
    "Media",
    "Order",
    "ProductItem",
    "Reaction",
    "Referral",
    "SharedContact",
    "SkippedItem",
    "StatusUpdate",
    "SystemInfo",
    "Update",
    "UserIdUpdate",
    "WebhookError",
    "WebhookParse",
    "parse_webhook",
    "parse_webhook_detailed",
    "update_from_json",
]

WEBHOOK_OBJECT = "whatsapp_business_account"
"""The ``object`` of every WhatsApp Business Account webhook."""

MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
"""Message types whose content is a media object."""

_IDENTITY_SYSTEM_TYPES = frozenset({"user_changed_number", "user_changed_user_id"})


# --------------------------------------------------------------------------
# Parts
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiError:
    """An error object as Meta sends it (message, status or webhook level).

    Attributes:
        code: Numeric error code (e.g. 131026); 0 when Meta's value is not a
            number.
        title: Short title.
        message: Message, when sent.
        details: ``error_data.details``, when sent.
    """

    code: int
    title: str | None = None
    message: str | None = None
    details: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    """An entry of ``value.contacts[]``: who a message or status is about.

    Attributes:
        user_id: Business-scoped user ID (BSUID).
        wa_id: Phone number; omitted by Meta for some username users.
        parent_user_id: Parent BSUID, when the business enabled it.
        username: WhatsApp username (``profile.username``).
        profile_name: Display name (``profile.name``).
    """

    user_id: str | None = None
    wa_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    profile_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Media:
    """Image, audio, video, document or sticker of an inbound message.

    Attributes:
        id: Media ID, to download it from the Graph API.
        mime_type: MIME type.
        sha256: SHA-256 of the file.
        caption: Caption (image, video, document).
        filename: File name (document).
        voice: True for voice notes (audio recorded in WhatsApp).
        animated: True for animated stickers.
        url: Download URL, when Meta sends it.
    """

    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    voice: bool = False
    animated: bool = False
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """A shared location.

    Attributes:
        latitude: Latitude in degrees.
        longitude: Longitude in degrees.
        name: Place name.
        address: Place address.
        url: Place URL.
    """

    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedContact:
    """A contact card shared by the customer, simplified.

    Attributes:
        formatted_name: ``name.formatted_name``.
        phones: ``phones[].phone`` in order.
        emails: ``emails[].email`` in order.
        wa_ids: ``phones[].wa_id`` (phones that are on WhatsApp) in order.
    """

    formatted_name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    wa_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Interactive:
    """A reply to an interactive message.

    Attributes:
        kind: ``button_reply``, ``list_reply`` or ``nfm_reply`` (WhatsApp
            Flows); other values are kept as sent.
        id: The button or row ID.
        title: The button or row title; the ``body`` of a flow reply.
        description: The row description (list replies).
        flow_name: ``nfm_reply.name`` (usually ``"flow"``).
        response: ``nfm_reply.response_json`` parsed; None when absent or not
            a JSON object.
    """

    kind: str
    id: str | None = None
    title: str | None = None
    description: str | None = None
    flow_name: str | None = None
    response: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Button:
    """A tap on a template quick-reply button.

    Attributes:
        payload: The button payload set by the business.
        text: The button label.
    """

    payload: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reaction:
    """A reaction to a message.

    Attributes:
        message_id: The wamid reacted to.
        emoji: The emoji; None when the customer removed the reaction.
    """

    message_id: str | None = None
    emoji: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductItem:
    """An item of an order.

    Attributes:
        product_retailer_id: The product's retailer ID (SKU).
        quantity: Quantity.
        item_price: Unit price, exact (from the JSON number's text).
        currency: ISO 4217 currency code.
    """

    product_retailer_id: str | None = None
    quantity: int | None = None
    item_price: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """A cart sent from a catalog.

    Attributes:
        catalog_id: Catalog ID.
        text: Text sent with the order.
        product_items: The items.
    """

    catalog_id: str | None = None
    text: str | None = None
    product_items: tuple[ProductItem, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemInfo:
    """The ``system`` object of a system message.

    Attributes:
        type: ``user_changed_number``, ``customer_identity_changed``,
            ``user_preference_changed``, ... as sent.
        body: Human-readable description.
        new_wa_id: New phone number (``wa_id``, older ``new_wa_id``).
        new_user_id: New BSUID (``user_id``).
        new_parent_user_id: New parent BSUID (``parent_user_id``).
        previous_user_id: Previous BSUID (``previous_user_id``).
        previous_parent_user_id: Previous parent BSUID.
    """

    type: str | None = None
    body: str | None = None
    new_wa_id: str | None = None
    new_user_id: str | None = None
    new_parent_user_id: str | None = None
    previous_user_id: str | None = None
    previous_parent_user_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Referral:
    """Where a message came from (click-to-WhatsApp ad or post).

    Attributes:
        source_url: URL of the ad or post.
        source_type: ``ad`` or ``post``.
        source_id: Meta ID of the ad or post.
        headline: Ad headline.
        body: Ad body.
        media_type: ``image`` or ``video``.
        image_url: Image URL.
        video_url: Video URL.
        thumbnail_url: Video thumbnail URL.
        ctwa_clid: Click ID for conversion tracking.
    """

    source_url: str | None = None
    source_type: str | None = None
    source_id: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What an inbound message refers to (reply, forward, product inquiry).

    Attributes:
        id: The wamid replied to.
        sender: ``context.from``: who sent the replied-to message.
        forwarded: The message was forwarded.
        frequently_forwarded: Forwarded more than 5 times.
        referred_product_catalog_id: Catalog of the product asked about.
        referred_product_retailer_id: Retailer ID of the product asked about.
    """

    id: str | None = None
    sender: str | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product_catalog_id: str | None = None
    referred_product_retailer_id: str | None = None


# --------------------------------------------------------------------------
# Updates
# --------------------------------------------------------------------------


class _UpdateBase:
    """Serialization shared by every update type."""

    __slots__ = ()
    KIND: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; :func:`update_from_json` restores the object.

        Returns:
            The fields (datetimes as ISO 8601, decimals as text) plus ``kind``.
        """
        encoded: dict[str, Any] = _encode(self)
        return {"kind": self.KIND, **encoded}


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


@dataclass(frozen=True, slots=True, kw_only=True)
class UserIdUpdate(_UpdateBase):
    """A customer's business-scoped user ID changed.

    Meta generates a new BSUID when a user changes phone number. Stored data
    keyed by ``previous_user_id`` (or ``previous_wa_id``) must be re-keyed to
    ``user_id``.

    Attributes:
        phone_number_id: Business phone number ID.
        display_phone_number: Business display phone number.
        timestamp: When Meta reported the change (UTC).
        user_id: The new BSUID.
        previous_user_id: The previous BSUID, when known.
        parent_user_id: The new parent BSUID.
        previous_parent_user_id: The previous parent BSUID.
        wa_id: The new phone number, when shared.
        previous_wa_id: The previous phone number, when shared.
        body: Human-readable description (system messages).
        wamid: The system message's ID, when it came as one.
        source: ``system`` (a system message) or ``user_id_update`` (the
            ``user_id_update`` webhook field).
    """

    KIND: ClassVar[str] = "user_id_update"

    phone_number_id: str
    display_phone_number: str | None = None
    timestamp: datetime
    user_id: str
    previous_user_id: str | None = None
    parent_user_id: str | None = None
    previous_parent_user_id: str | None = None
    wa_id: str | None = None
    previous_wa_id: str | None = None
    body: str | None = None
    wamid: str | None = None
    source: str = "system"

    @property
    def customer_key(self) -> str:
        """The new BSUID, so the change is ordered before later messages."""
        return self.user_id

    @property
    def dedup_id(self) -> str:
        """A digest of (previous ID, new ID, time), whatever the source."""
        previous = self.previous_user_id or self.previous_wa_id or ""
        basis = f"{previous}|{self.user_id}|{int(self.timestamp.timestamp())}"
        return "uid-" + hashlib.sha256(basis.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookError(_UpdateBase):
    """Webhook-level errors (``value.errors``), to be logged.

    Attributes:
        phone_number_id: Business phone number ID.
        display_phone_number: Business display phone number.
        errors: The errors.
    """

    KIND: ClassVar[str] = "webhook_error"

    phone_number_id: str
    display_phone_number: str | None = None
    errors: tuple[ApiError, ...] = ()

    @property
    def customer_key(self) -> str:
        """No customer: ``errors:{phone_number_id}``."""
        return f"errors:{self.phone_number_id}"

    @property
    def dedup_id(self) -> str:
        """A digest of the phone number ID and the errors.

        Identical errors repeated within the queue's deduplication window
        are therefore logged once.
        """
        basis = json.dumps(
            [self.phone_number_id, _encode(self.errors)],
            sort_keys=True,
            ensure_ascii=False,
        )
        return "err-" + hashlib.sha256(basis.encode()).hexdigest()


Update = InboundMessage | StatusUpdate | UserIdUpdate | WebhookError
"""Any update :func:`parse_webhook` can return."""

_KINDS: dict[str, type[InboundMessage | StatusUpdate | UserIdUpdate | WebhookError]] = {
    cls.KIND: cls for cls in (InboundMessage, StatusUpdate, UserIdUpdate, WebhookError)
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SkippedItem:
    """Something of the payload that did not become an update.

    Attributes:
        path: Where it was, e.g. ``entry[0].changes[1].value.messages[2]``.
        reason: Why (English, for logs).
        ref: The item's ID (wamid) when it had one.
    """

    path: str
    reason: str
    ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookParse:
    """Result of :func:`parse_webhook_detailed`.

    Attributes:
        updates: The updates, in payload order.
        skipped: What was left out, and why.
    """

    updates: tuple[Update, ...] = ()
    skipped: tuple[SkippedItem, ...] = ()


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


class _Skip(Exception):
    """An item that cannot become an update (internal)."""

    def __init__(self, reason: str, ref: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ref = ref


def parse_webhook(payload: Mapping[str, Any]) -> list[Update]:
    """Parse a webhook body into updates.

    Items that cannot become updates are left out; use
    :func:`parse_webhook_detailed` to see them.

    Args:
        payload: The decoded JSON body.

    Returns:
        The updates, in payload order.

    Raises:
        InvalidInput: The payload is not a WhatsApp Business webhook.
    """
    return list(parse_webhook_detailed(payload).updates)


def parse_webhook_detailed(payload: Mapping[str, Any]) -> WebhookParse:
    """Parse a webhook body into updates, reporting what was left out.

    Args:
        payload: The decoded JSON body.

    Returns:
        The updates and the skipped items.

    Raises:
        InvalidInput: The payload is not a WhatsApp Business webhook.
    """
    if not isinstance(payload, Mapping):
        raise InvalidInput("O corpo do webhook deve ser um objeto JSON.")
    if payload.get("object") != WEBHOOK_OBJECT:
        raise InvalidInput(
            "O webhook não é de uma conta do WhatsApp Business.",
            path="object",
        )
    updates: list[Update] = []
    skipped: list[SkippedItem] = []
    for e, entry in enumerate(_list(payload, "entry", "entry", required=True)):
        entry_path = f"entry[{e}]"
        if not isinstance(entry, Mapping):
            raise _invalid(entry_path)
        for c, change in enumerate(_list(entry, "changes", f"{entry_path}.changes")):
            change_path = f"{entry_path}.changes[{c}]"
            if not isinstance(change, Mapping):
                raise _invalid(change_path)
            value = change.get("value")
            if not isinstance(value, Mapping):
                raise _invalid(f"{change_path}.value")
            field_name = change.get("field", "messages")
            if field_name not in ("messages", "user_id_update"):
                skipped.append(
                    SkippedItem(
                        path=change_path,
                        reason=f"webhook field not handled: {field_name!r}",
                    )
                )
                continue
            _parse_value(value, f"{change_path}.value", updates, skipped)
    return WebhookParse(updates=tuple(updates), skipped=tuple(skipped))


def _parse_value(
    value: Mapping[str, Any],
    path: str,
    updates: list[Update],
    skipped: list[SkippedItem],
) -> None:
    """Parse one ``changes[].value`` into ``updates`` and ``skipped``."""
    metadata = value.get("metadata")
    if not isinstance(metadata, Mapping):
        raise InvalidInput(
            "O webhook não traz os dados do número do WhatsApp (metadata).",
            path=f"{path}.metadata",
        )
    phone_number_id = _text(metadata, "phone_number_id")
    if phone_number_id is None:
        raise InvalidInput(
            "O webhook não traz o identificador do número do WhatsApp.",
            path=f"{path}.metadata.phone_number_id",
        )
    business = _Business(phone_number_id, _text(metadata, "display_phone_number"))
    contacts = tuple(
        _contact(item) for item in _objects(value, "contacts", f"{path}.contacts")
    )

    def collect(key: str, parse: _ItemParser) -> None:
        for i, item in enumerate(_objects(value, key, f"{path}.{key}")):
            try:
                updates.append(parse(item, business, contacts))
            except _Skip as skip:
                skipped.append(
                    SkippedItem(
                        path=f"{path}.{key}[{i}]", reason=skip.reason, ref=skip.ref
                    )
                )

    collect("messages", _message)
    collect("statuses", _status)
    collect("user_id_update", _user_id_update_item)
    collect("user_id_updates", _user_id_update_item)
    errors = tuple(_api_error(e) for e in _objects(value, "errors", f"{path}.errors"))
    if errors:
        updates.append(
            WebhookError(
                phone_number_id=business.phone_number_id,
                display_phone_number=business.display_phone_number,
                errors=errors,
            )
        )


@dataclass(frozen=True, slots=True)
class _Business:
    phone_number_id: str
    display_phone_number: str | None


_ItemParser = Callable[[Mapping[str, Any], _Business, Sequence[Contact]], Update]


def _message(
    raw: Mapping[str, Any], business: _Business, contacts: Sequence[Contact]
) -> Update:
    """One ``messages[]`` item: an inbound message or a BSUID change."""
    wamid = _text(raw, "id")
    if wamid is None:
        raise _Skip("message without id")
    timestamp = _timestamp(raw.get("timestamp"))
    if timestamp is None:
        raise _Skip("message without a valid timestamp", wamid)
    mtype = _text(raw, "type") or "unknown"
    own_user_id = _text(raw, "from_user_id") or _text(raw, "user_id")
    own_phone = _text(raw, "from")
    contact = _match_contact(contacts, own_user_id, own_phone) or Contact()
    user_id = own_user_id or contact.user_id
    wa_id = own_phone or contact.wa_id
    parent_user_id = (
        _text(raw, "from_parent_user_id")
        or _text(raw, "parent_user_id")
        or contact.parent_user_id
    )

    system = _system(_obj(raw, "system")) if mtype == "system" else None
    if (
        system is not None
        and system.type in _IDENTITY_SYSTEM_TYPES
        and system.new_user_id
    ):
        previous_user_id = system.previous_user_id
        if previous_user_id is None and user_id != system.new_user_id:
            previous_user_id = user_id
        return UserIdUpdate(
            phone_number_id=business.phone_number_id,
            display_phone_number=business.display_phone_number,
            timestamp=timestamp,
            user_id=system.new_user_id,
            previous_user_id=previous_user_id,
            parent_user_id=system.new_parent_user_id,
            previous_parent_user_id=system.previous_parent_user_id,
            wa_id=system.new_wa_id,
            previous_wa_id=wa_id,
            body=system.body,
            wamid=wamid,
            source="system",
        )
    if not user_id and not wa_id:
        raise _Skip("sender has neither user_id nor phone number", wamid)

    content = _obj(raw, mtype)
    media = _media(content) if mtype in MEDIA_TYPES and content else None
    interactive = _interactive(content) if mtype == "interactive" else None
    button = (
        Button(payload=_text(content, "payload"), text=_text(content, "text"))
        if mtype == "button"
        else None
    )
    order = _order(content) if mtype == "order" else None
    text: str | None = None
    if mtype == "text":
        text = _text(content, "body")
    elif media is not None:
        text = media.caption
    elif interactive is not None:
        text = interactive.title
    elif button is not None:
        text = button.text
    elif order is not None:
        text = order.text
    return InboundMessage(
        phone_number_id=business.phone_number_id,
        display_phone_number=business.display_phone_number,
        wamid=wamid,
        timestamp=timestamp,
        type=mtype,
        user_id=user_id,
        wa_id=wa_id,
        parent_user_id=parent_user_id,
        username=contact.username,
        profile_name=contact.profile_name,
        text=text,
        media=media,
        location=_location(content) if mtype == "location" else None,
        shared_contacts=(
            tuple(_shared_contact(c) for c in _objects(raw, "contacts", "contacts"))
            if mtype == "contacts"
            else ()
        ),
        interactive=interactive,
        button=button,
        reaction=(
            Reaction(
                message_id=_text(content, "message_id"),
                emoji=_text(content, "emoji"),
            )
            if mtype == "reaction"
            else None
        ),
        order=order,
        system=system,
        referral=_referral(raw["referral"]) if _is_obj(raw, "referral") else None,
        context=_context(raw["context"]) if _is_obj(raw, "context") else None,
        errors=tuple(_api_error(e) for e in _objects(raw, "errors", "errors")),
    )


def _status(
    raw: Mapping[str, Any], business: _Business, contacts: Sequence[Contact]
) -> StatusUpdate:
    """One ``statuses[]`` item."""
    wamid = _text(raw, "id")
    if wamid is None:
        raise _Skip("status without id")
    status = _text(raw, "status")
    if status is None:
        raise _Skip("status without status", wamid)
    timestamp = _timestamp(raw.get("timestamp"))
    if timestamp is None:
        raise _Skip("status without a valid timestamp", wamid)
    own_user_id = _text(raw, "recipient_user_id")
    own_phone = _text(raw, "recipient_id")
    contact = _match_contact(contacts, own_user_id, own_phone) or Contact()
    recipient_user_id = own_user_id or contact.user_id
    recipient_id = own_phone or contact.wa_id
    if not recipient_user_id and not recipient_id:
        raise _Skip("recipient has neither user_id nor phone number", wamid)
    conversation = _obj(raw, "conversation")
    pricing = _obj(raw, "pricing")
    return StatusUpdate(
        phone_number_id=business.phone_number_id,
        display_phone_number=business.display_phone_number,
        wamid=wamid,
        status=status,
        timestamp=timestamp,
        recipient_id=recipient_id,
        recipient_user_id=recipient_user_id,
        recipient_parent_user_id=(
            _text(raw, "recipient_parent_user_id")
            or _text(raw, "parent_recipient_user_id")
            or contact.parent_user_id
        ),
        username=contact.username,
        conversation_id=_text(conversation, "id"),
        pricing_category=_text(pricing, "category"),
        pricing_model=_text(pricing, "pricing_model"),
        biz_opaque_callback_data=_text(raw, "biz_opaque_callback_data"),
        errors=tuple(_api_error(e) for e in _objects(raw, "errors", "errors")),
    )


def _user_id_update_item(
    raw: Mapping[str, Any], business: _Business, contacts: Sequence[Contact]
) -> UserIdUpdate:
    """One item of a ``user_id_update`` field value.

    Its exact shape could not be confirmed in Meta's reference, so both the
    ``previous_*``/``user_id`` names (as in system messages) and the
    ``old_*``/``new_*`` names are accepted.
    """
    del contacts  # not used: the item names both identities itself
    user_id = _text(raw, "user_id") or _text(raw, "new_user_id")
    if user_id is None:
        raise _Skip("user_id_update without the new user_id")
    timestamp = _timestamp(raw.get("timestamp"))
    if timestamp is None:
        raise _Skip("user_id_update without a valid timestamp", user_id)
    return UserIdUpdate(
        phone_number_id=business.phone_number_id,
        display_phone_number=business.display_phone_number,
        timestamp=timestamp,
        user_id=user_id,
        previous_user_id=_text(raw, "previous_user_id") or _text(raw, "old_user_id"),
        parent_user_id=_text(raw, "parent_user_id") or _text(raw, "new_parent_user_id"),
        previous_parent_user_id=(
            _text(raw, "previous_parent_user_id") or _text(raw, "old_parent_user_id")
        ),
        wa_id=_text(raw, "wa_id") or _text(raw, "new_wa_id"),
        previous_wa_id=_text(raw, "previous_wa_id") or _text(raw, "old_wa_id"),
        body=_text(raw, "detail") or _text(raw, "body"),
        wamid=None,
        source="user_id_update",
    )


def _contact(raw: Mapping[str, Any]) -> Contact:
    profile = _obj(raw, "profile")
    return Contact(
        user_id=_text(raw, "user_id"),
        wa_id=_text(raw, "wa_id"),
        parent_user_id=_text(raw, "parent_user_id"),
        username=_text(profile, "username") or _text(raw, "username"),
        profile_name=_text(profile, "name"),
    )


def _match_contact(
    contacts: Sequence[Contact], user_id: str | None, wa_id: str | None
) -> Contact | None:
    """The ``contacts[]`` entry of an item: by BSUID, by phone, or the only one.

    The only entry is used when it does not contradict the item's own IDs.
    """
    if user_id:
        for contact in contacts:
            if contact.user_id == user_id:
                return contact
    if wa_id:
        for contact in contacts:
            if contact.wa_id == wa_id:
                return contact
    if len(contacts) == 1:
        only = contacts[0]
        if not (user_id and only.user_id) and not (wa_id and only.wa_id):
            return only
    return None


def _media(raw: Mapping[str, Any]) -> Media:
    return Media(
        id=_text(raw, "id"),
        mime_type=_text(raw, "mime_type"),
        sha256=_text(raw, "sha256"),
        caption=_text(raw, "caption"),
        filename=_text(raw, "filename"),
        voice=raw.get("voice") is True,
        animated=raw.get("animated") is True,
        url=_text(raw, "url"),
    )


def _location(raw: Mapping[str, Any]) -> Location:
    return Location(
        latitude=_float(raw.get("latitude")),
        longitude=_float(raw.get("longitude")),
        name=_text(raw, "name"),
        address=_text(raw, "address"),
        url=_text(raw, "url"),
    )


def _shared_contact(raw: Mapping[str, Any]) -> SharedContact:
    phones = _objects(raw, "phones", "phones")
    return SharedContact(
        formatted_name=_text(_obj(raw, "name"), "formatted_name"),
        phones=tuple(p for p in (_text(x, "phone") for x in phones) if p),
        emails=tuple(
            m
            for m in (_text(x, "email") for x in _objects(raw, "emails", "emails"))
            if m
        ),
        wa_ids=tuple(w for w in (_text(x, "wa_id") for x in phones) if w),
    )


def _interactive(raw: Mapping[str, Any]) -> Interactive:
    kind = _text(raw, "type") or "unknown"
    reply = _obj(raw, kind)
    if kind == "nfm_reply":
        response: dict[str, Any] | None = None
        response_json = reply.get("response_json")
        if isinstance(response_json, str):
            try:
                decoded = json.loads(response_json)
            except ValueError:
                decoded = None
            response = decoded if isinstance(decoded, dict) else None
        elif isinstance(response_json, Mapping):
            response = dict(response_json)
        return Interactive(
            kind=kind,
            title=_text(reply, "body"),
            flow_name=_text(reply, "name"),
            response=response,
        )
    return Interactive(
        kind=kind,
        id=_text(reply, "id"),
        title=_text(reply, "title"),
        description=_text(reply, "description"),
    )


def _order(raw: Mapping[str, Any]) -> Order:
    return Order(
        catalog_id=_text(raw, "catalog_id"),
        text=_text(raw, "text"),
        product_items=tuple(
            ProductItem(
                product_retailer_id=_text(item, "product_retailer_id"),
                quantity=_int(item.get("quantity")),
                item_price=_decimal(item.get("item_price")),
                currency=_text(item, "currency"),
            )
            for item in _objects(raw, "product_items", "product_items")
        ),
    )


def _system(raw: Mapping[str, Any]) -> SystemInfo:
    return SystemInfo(
        type=_text(raw, "type"),
        body=_text(raw, "body"),
        new_wa_id=_text(raw, "wa_id") or _text(raw, "new_wa_id"),
        new_user_id=_text(raw, "user_id"),
        new_parent_user_id=_text(raw, "parent_user_id"),
        previous_user_id=_text(raw, "previous_user_id"),
        previous_parent_user_id=_text(raw, "previous_parent_user_id"),
    )


def _referral(raw: Mapping[str, Any]) -> Referral:
    return Referral(
        source_url=_text(raw, "source_url"),
        source_type=_text(raw, "source_type"),
        source_id=_text(raw, "source_id"),
        headline=_text(raw, "headline"),
        body=_text(raw, "body"),
        media_type=_text(raw, "media_type"),
        image_url=_text(raw, "image_url"),
        video_url=_text(raw, "video_url"),
        thumbnail_url=_text(raw, "thumbnail_url"),
        ctwa_clid=_text(raw, "ctwa_clid"),
    )


def _context(raw: Mapping[str, Any]) -> Context:
    product = _obj(raw, "referred_product")
    return Context(
        id=_text(raw, "id"),
        sender=_text(raw, "from"),
        forwarded=raw.get("forwarded") is True,
        frequently_forwarded=raw.get("frequently_forwarded") is True,
        referred_product_catalog_id=_text(product, "catalog_id"),
        referred_product_retailer_id=_text(product, "product_retailer_id"),
    )


def _api_error(raw: Mapping[str, Any]) -> ApiError:
    return ApiError(
        code=_int(raw.get("code")) or 0,
        title=_text(raw, "title"),
        message=_text(raw, "message"),
        details=_text(_obj(raw, "error_data"), "details"),
    )


# --------------------------------------------------------------------------
# Tolerant readers
# --------------------------------------------------------------------------


def _invalid(path: str) -> InvalidInput:
    return InvalidInput(
        "O webhook do WhatsApp tem um formato inválido: era esperado um objeto.",
        path=path,
    )


def _list(
    container: Mapping[str, Any], key: str, path: str, *, required: bool = False
) -> list[Any]:
    """A list member; absent is empty unless ``required``; else InvalidInput."""
    value = container.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise InvalidInput(
            "O webhook do WhatsApp tem um formato inválido: era esperada uma lista.",
            path=path,
        )
    return value


def _objects(container: Mapping[str, Any], key: str, path: str) -> list[Any]:
    """A list of objects; a non-object item raises InvalidInput."""
    items = _list(container, key, path)
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _invalid(f"{path}[{i}]")
    return items


def _is_obj(container: Mapping[str, Any], key: str) -> bool:
    return isinstance(container.get(key), Mapping)


def _obj(container: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """An optional sub-object; anything else reads as empty."""
    value = container.get(key)
    return value if isinstance(value, Mapping) else {}


def _text(container: Mapping[str, Any], key: str) -> str | None:
    """A string member (integers become text); empty or absent is None."""
    value = container.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _timestamp(value: Any) -> datetime | None:
    """Epoch seconds (string or number) as an aware UTC datetime."""
    seconds = _int(value)
    if seconds is None or seconds < 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


# --------------------------------------------------------------------------
# JSON round trip
# --------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    """Dataclasses, tuples, datetimes and decimals as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def update_from_json(data: Mapping[str, Any]) -> Update:
    """Restore an update from :meth:`to_json` output.

    Args:
        data: What ``update.to_json()`` returned (possibly through JSON text).

    Returns:
        An update equal to the original.

    Raises:
        ValueError: ``data`` is not a serialized update.
    """
    if not isinstance(data, Mapping):
        raise ValueError("a serialized update must be an object")
    cls = _KINDS.get(str(data.get("kind")))
    if cls is None:
        raise ValueError(f"unknown update kind: {data.get('kind')!r}")
    update: Update = _from_dict(cls, data)
    return update


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _from_dict(cls: type, data: Any) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__}: expected an object")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            raise ValueError(f"{cls.__name__}: missing {f.name!r}")
        kwargs[f.name] = _decode(
            hints[f.name], data[f.name], f"{cls.__name__}.{f.name}"
        )
    return cls(**kwargs)


def _decode(tp: Any, value: Any, where: str) -> Any:
    """Rebuild a value of type ``tp`` from its :func:`_encode` form."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return None
        inner = [arg for arg in get_args(tp) if arg is not type(None)]
        return _decode(inner[0], value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list")
        item_tp = get_args(tp)[0]
        return tuple(_decode(item_tp, item, where) for item in value)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: expected an object")
        return dict(value)
    if tp is datetime:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected an ISO 8601 datetime")
        return datetime.fromisoformat(value)
    if tp is Decimal:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected a decimal as text")
        return Decimal(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}: expected a number")
        return float(value)
    if tp in (str, int, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ValueError(f"{where}: expected {tp.__name__}")
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _from_dict(tp, value)
    raise ValueError(f"{where}: unsupported type {tp!r}")
