"""Finding a customer to answer an LGPD request: by WhatsApp number (any way
it is written), @username, name or the protocol the bot gave them.

Customers are found in ``customers`` itself (every customer who ever wrote,
with or without consent), not in the contacts found in messages. Phones are
stored as Meta sends them (digits with the country code, plain text under the
tenant's row-level security), so a number is matched by its exact forms
through the (tenant, phone) index: with and without 55, with and without the
mobile ninth digit. Every customer a search shows is audited on that customer
(their export lists who looked them up); the search term itself is not kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from atende.audit import RequestContext, record_event
from atende.db import Connection
from atende.errors import InvalidInput
from atende.validators import only_digits

__all__ = [
    "CustomerHit",
    "SearchBy",
    "phone_forms",
    "search_customers",
    "search_kind",
]

SearchBy = Literal["protocol", "username", "phone", "name"]
MAX_RESULTS = 20
_PROTOCOL = re.compile(r"#?([0-9a-f]{8})", re.IGNORECASE)
_PHONE = re.compile(r"\+?[\d\s().-]+")


class SearchTermInvalid(InvalidInput):
    code = "BUSCA_INVALIDA"
    message = (
        "Digite um telefone (com DDD), um @usuário, um nome (2 letras ou mais)"
        " ou um protocolo (8 caracteres)."
    )


@dataclass(frozen=True)
class CustomerHit:
    id: UUID
    name: str | None
    username: str | None
    phone: str | None
    first_seen_at: datetime
    last_contact_at: datetime | None
    consent: bool | None  # None: never answered
    erased: bool
    open_requests: list[str]  # kinds of the open requests: access, erasure


def search_kind(term: str) -> tuple[SearchBy, str]:
    """What the admin typed, and the normalised value to look up.

    Raises:
        SearchTermInvalid: empty, too long, or too short to mean anything.
    """
    term = term.strip()
    if not 2 <= len(term) <= 100:
        raise SearchTermInvalid()
    if protocol := _PROTOCOL.fullmatch(term):
        return "protocol", protocol.group(1).lower()
    if term.startswith("@") and len(term) > 1:
        return "username", term[1:].lower()
    if _PHONE.fullmatch(term):
        digits = only_digits(term)
        if len(digits) < 10:
            raise SearchTermInvalid()
        return "phone", digits
    return "name", term


def phone_forms(digits: str) -> list[str]:
    """The ways Meta may have given us this number: a Brazilian one with the
    country code, with and without the mobile ninth digit."""
    national = digits[2:] if digits.startswith("55") and len(digits) >= 12 else digits
    forms = {digits}
    if len(national) in (10, 11):
        forms.add("55" + national)
        if len(national) == 11 and national[2] == "9":
            forms.add("55" + national[:2] + national[3:])
        if len(national) == 10:
            forms.add("55" + national[:2] + "9" + national[2:])
    return sorted(forms)


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_CONDITIONS: dict[SearchBy, str] = {
    "protocol": "c.id IN (SELECT customer_id FROM lgpd_requests"
    " WHERE id::text LIKE %s)",
    "username": "lower(ltrim(c.username, '@')) = %s",
    "phone": "(c.phone = ANY(%s) OR c.wa_user_id = ANY(%s))",
    "name": "fold_accents(c.display_name) LIKE fold_accents(%s)",
}


def search_customers(
    conn: Connection, term: str, *, context: RequestContext
) -> list[CustomerHit]:
    """The customers matching ``term`` (at most 20, latest contact first);
    each one shown is audited.

    Raises:
        SearchTermInvalid: see :func:`search_kind`.
    """
    by, value = search_kind(term)
    params: tuple[object, ...]
    if by == "protocol":
        params = (f"{value}-%",)
    elif by == "phone":
        forms = phone_forms(value)
        params = (forms, forms)
    elif by == "name":
        params = (_like(value),)
    else:
        params = (value,)
    rows = conn.execute(
        # One of this module's fixed conditions; every value is bound.
        "SELECT c.id, c.display_name AS name, c.username, c.phone,"  # noqa: S608
        " c.created_at AS first_seen_at, c.erased_at IS NOT NULL AS erased,"
        " (SELECT max(last_activity_at) FROM conversations v"
        "   WHERE v.customer_id = c.id) AS last_contact_at,"
        " (SELECT granted FROM consents k WHERE k.customer_id = c.id"
        "   ORDER BY recorded_at DESC, id DESC LIMIT 1) AS consent,"
        " ARRAY(SELECT kind FROM lgpd_requests r WHERE r.customer_id = c.id"
        "   AND r.status IN ('open', 'in_progress') ORDER BY kind) AS open_requests"
        " FROM customers c WHERE " + _CONDITIONS[by] + " ORDER BY"
        " last_contact_at DESC NULLS LAST, c.created_at DESC LIMIT %s",
        (*params, MAX_RESULTS),
    ).fetchall()
    hits = [CustomerHit(**row) for row in rows]
    for hit in hits:
        record_event(
            conn,
            action="CUSTOMER_LOOKED_UP",
            subject_type="customer",
            subject_id=str(hit.id),
            context=context,
            details={"by": by},
        )
    return hits
