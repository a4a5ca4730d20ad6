"""Reading Meta's HTTP answers: JSON bodies, ``Retry-After``, sent messages."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from atende.whatsapp.graph.errors import GraphApiError
from atende.whatsapp.graph.values import SentMessage


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), if any."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise _unexpected(response) from None
    if not isinstance(data, dict):
        raise _unexpected(response)
    return data


def _unexpected(response: httpx.Response) -> GraphApiError:
    return GraphApiError(
        "Resposta inesperada do WhatsApp.", http_status=response.status_code
    )


def _sent_message(response: httpx.Response, attempts: int) -> SentMessage:
    data = _json_object(response)
    messages = data.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, dict) else None
    if not isinstance(wamid, str) or not wamid:
        raise _unexpected(response)
    contacts = data.get("contacts")
    contact = contacts[0] if isinstance(contacts, list) and contacts else {}
    contact = contact if isinstance(contact, dict) else {}
    assert isinstance(first, dict)
    return SentMessage(
        wamid=wamid,
        input=contact.get("input"),
        wa_id=contact.get("wa_id"),
        user_id=contact.get("user_id"),
        message_status=first.get("message_status"),
        attempts=attempts,
    )
