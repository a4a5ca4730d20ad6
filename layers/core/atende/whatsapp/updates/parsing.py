"""The webhook envelope parser: :func:`parse_webhook`.

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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from atende.errors import InvalidInput
from atende.whatsapp.updates._fields import (
    _invalid,
    _is_obj,
    _list,
    _obj,
    _objects,
    _text,
    _timestamp,
)
from atende.whatsapp.updates._parts import (
    _api_error,
    _contact,
    _context,
    _interactive,
    _location,
    _match_contact,
    _media,
    _order,
    _referral,
    _shared_contact,
    _system,
)
from atende.whatsapp.updates.kinds import Update
from atende.whatsapp.updates.messages import InboundMessage
from atende.whatsapp.updates.statuses import StatusUpdate
from atende.whatsapp.updates.system import UserIdUpdate, WebhookError
from atende.whatsapp.updates.values import MEDIA_TYPES, Button, Contact, Reaction

__all__ = [
    "WEBHOOK_OBJECT",
    "SkippedItem",
    "WebhookParse",
    "parse_webhook",
    "parse_webhook_detailed",
]


WEBHOOK_OBJECT = "whatsapp_business_account"
"""The ``object`` of every WhatsApp Business Account webhook."""

_IDENTITY_SYSTEM_TYPES = frozenset({"user_changed_number", "user_changed_user_id"})


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
