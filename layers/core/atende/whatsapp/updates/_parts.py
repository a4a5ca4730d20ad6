"""Readers of an item's parts (contact, media, reply, error...) into values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from atende.whatsapp.updates._fields import (
    _decimal,
    _float,
    _int,
    _obj,
    _objects,
    _text,
)
from atende.whatsapp.updates.values import (
    ApiError,
    Contact,
    Context,
    Interactive,
    Location,
    Media,
    Order,
    ProductItem,
    Referral,
    SharedContact,
    SystemInfo,
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
