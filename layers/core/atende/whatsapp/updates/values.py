"""The parts an update carries: who, which media, which reply, which error.

Each part is a frozen dataclass with keyword-only fields, built by the parser
from one object of the payload (``contacts[]``, ``image``, ``interactive``,
``errors[]``, ...) and held by the update types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "MEDIA_TYPES",
    "ApiError",
    "Button",
    "Contact",
    "Context",
    "Interactive",
    "Location",
    "Media",
    "Order",
    "ProductItem",
    "Reaction",
    "Referral",
    "SharedContact",
    "SystemInfo",
]


MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
"""Message types whose content is a media object."""


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
