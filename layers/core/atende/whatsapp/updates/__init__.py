"""Typed parsing of WhatsApp Cloud API webhook updates (pure, no I/O).

:func:`parse_webhook` turns the body of ``POST /whatsapp/webhook`` into a flat
list of frozen dataclasses:

* :class:`InboundMessage` for each ``messages[]`` item sent by a customer;
* :class:`StatusUpdate` for each ``statuses[]`` item (sent, delivered, read,
  failed, ...);
* :class:`UserIdUpdate` when a customer's business-scoped user ID (BSUID)
  changes;
* :class:`WebhookError` for webhook-level ``value.errors``, so they can be
  logged.

Every update exposes ``phone_number_id``, ``customer_key`` (the FIFO group key
with the tenant), ``dedup_id`` and ``to_json()``; :func:`update_from_json`
restores the exact same object from ``to_json()``'s output.

Modules, one concern each:

- :mod:`~atende.whatsapp.updates.values` — the parts an update carries
  (:class:`Contact`, :class:`Media`, :class:`ApiError`, ...).
- :mod:`~atende.whatsapp.updates.messages` — :class:`InboundMessage`.
- :mod:`~atende.whatsapp.updates.statuses` — :class:`StatusUpdate`.
- :mod:`~atende.whatsapp.updates.system` — :class:`UserIdUpdate` and
  :class:`WebhookError`.
- :mod:`~atende.whatsapp.updates.kinds` — the :data:`Update` union.
- :mod:`~atende.whatsapp.updates.parsing` — the envelope, the customer
  identity fields and the tolerance rules: :func:`parse_webhook`.
- :mod:`~atende.whatsapp.updates.codec` — :func:`update_from_json`.
"""

from __future__ import annotations

from atende.whatsapp.updates.codec import update_from_json
from atende.whatsapp.updates.kinds import Update
from atende.whatsapp.updates.messages import InboundMessage
from atende.whatsapp.updates.parsing import (
    SkippedItem,
    WebhookParse,
    parse_webhook,
    parse_webhook_detailed,
)
from atende.whatsapp.updates.statuses import StatusUpdate
from atende.whatsapp.updates.system import UserIdUpdate, WebhookError
from atende.whatsapp.updates.values import (
    ApiError,
    Button,
    Contact,
    Context,
    Interactive,
    Location,
    Media,
    Order,
    ProductItem,
    Reaction,
    Referral,
    SharedContact,
    SystemInfo,
)

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
