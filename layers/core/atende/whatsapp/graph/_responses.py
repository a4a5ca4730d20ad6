"""Reading Meta's HTTP answers: JSON bodies, ``Retry-After``, sent messages,
template listings."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from atende.errors import InvalidInput
from atende.whatsapp.graph.errors import GraphApiError
from atende.whatsapp.graph.values import MessageTemplate, SentMessage, TemplatePage


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


TEMPLATE_FIELDS = "name,status,category,language,components,parameter_format"


def _templates_url(base: str, waba_id: str, *, after: str | None, limit: int) -> str:
    """``{base}/{waba-id}/message_templates`` with the fields the composer uses."""
    if not waba_id.isdigit():  # a path segment: nothing else gets in
        raise InvalidInput("Identificador da conta do WhatsApp (WABA) inválido.")
    query: dict[str, str | int] = {"fields": TEMPLATE_FIELDS, "limit": limit}
    if after:
        query["after"] = after
    return str(httpx.URL(f"{base}/{waba_id}/message_templates", params=query))


def _template_page(response: httpx.Response) -> TemplatePage:
    """A ``message_templates`` page: Meta gives an ``after`` cursor on every
    page, ``next`` only when more follow."""
    data = _json_object(response)
    rows = data.get("data")
    if not isinstance(rows, list):
        raise _unexpected(response)
    templates = tuple(t for t in map(_template, rows) if t is not None)
    paging = _dict(data.get("paging"))
    cursor = _dict(paging.get("cursors")).get("after")
    more = bool(paging.get("next")) and isinstance(cursor, str) and bool(cursor)
    return TemplatePage(templates, str(cursor) if more else None)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _template(row: object) -> MessageTemplate | None:
    """A listed template; one without a name or language is skipped."""
    if not isinstance(row, dict):
        return None
    name, language = row.get("name"), row.get("language")
    if not isinstance(name, str) or not isinstance(language, str):
        return None
    components = row.get("components")
    return MessageTemplate(
        name=name,
        language=language,
        status=str(row.get("status") or "UNKNOWN").upper(),
        category=str(row.get("category") or "UNKNOWN").upper(),
        parameter_format=str(row.get("parameter_format") or "POSITIONAL").upper(),
        components=tuple(
            dict(c)
            for c in (components if isinstance(components, list) else ())
            if isinstance(c, dict)
        ),
    )
