"""Finding a customer to answer an LGPD request: by WhatsApp number (any way
it is written), @username, name or a protocol they were given (an LGPD
request's or a conversation's).

Customers are found in ``customers`` itself (every customer who ever wrote,
with or without consent), not in the contacts found in messages. Phones are
stored as Meta sends them (digits with the country code, plain text under the
tenant's row-level security), so a number is matched by its exact forms
through the (tenant, phone) index: with and without 55, with and without the
mobile ninth digit. Every customer a search shows is audited on that customer
(their export lists who looked them up); the search term itself is not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from atende.audit import RequestContext, record_event
from atende.contacts.lookup import (
    SearchBy,
    SearchTermInvalid,
    like_pattern,
    phone_forms,
    protocol_range,
    search_kind,
)
from atende.db import Connection

__all__ = [
    "CustomerHit",
    "SearchBy",
    "SearchTermInvalid",
    "phone_forms",
    "search_customers",
    "search_kind",
]

MAX_RESULTS = 20


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


_CONDITIONS: dict[SearchBy, str] = {
    # An LGPD request's protocol or a conversation's ({{protocolo}}).
    "protocol": "c.id IN (SELECT customer_id FROM lgpd_requests"
    " WHERE id BETWEEN %s AND %s UNION SELECT customer_id FROM conversations"
    " WHERE id BETWEEN %s AND %s)",
    "username": "c.username_key = %s",
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
        params = protocol_range(value) * 2
    elif by == "phone":
        forms = phone_forms(value)
        params = (forms, forms)
    elif by == "name":
        params = (like_pattern(value),)
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
