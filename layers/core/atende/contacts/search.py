"""Reading contacts: one row per customer, searched and paged, CPFs masked
for whoever may not see them.

A search is a lookup, not a way to list the base: its term is literal text
(``%``, ``_`` and ``\\`` match themselves), needs 3 letters or digits, and an
attendant sees at most the first :data:`ATTENDANT_REACH` matches of each
search. Browsing without a term is for supervisors and admins, a page at a
time. Every listing is audited with counts and the search's kind and length,
never the term.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from atende.audit import RequestContext, record_event
from atende.db import Connection, tenant_transaction
from atende.db.paging import page_limit
from atende.errors import InvalidInput
from atende.identity import AttendantPrincipal, Role
from atende.validators import mask_cpf, only_digits

MAX_PAGE = 50
#: How far into one search's results an attendant may page.
ATTENDANT_REACH = 50
#: Letters or digits a search term needs: fewer would match nearly everyone.
MIN_SEARCH = 3


class SearchTooShort(InvalidInput):
    code = "BUSCA_CURTA_DEMAIS"
    message = f"A busca precisa de pelo menos {MIN_SEARCH} letras ou números."


class SearchRequired(InvalidInput):
    code = "BUSCA_OBRIGATORIA"
    message = "Informe o que procurar (parâmetro 'q')."


class SearchTooBroad(InvalidInput):
    code = "BUSCA_AMPLA_DEMAIS"
    message = (
        f"Atendentes veem até {ATTENDANT_REACH} resultados por busca."
        " Refine a busca para encontrar o cliente."
    )


@dataclass(frozen=True)
class ContactValue:
    kind: str
    value: str
    found_by: str
    source_message_id: UUID | None
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class CustomerContacts:
    """One customer's values, newest first within each kind."""

    customer_id: UUID
    updated_at: datetime
    values: list[ContactValue]


@dataclass(frozen=True)
class ContactRow:
    """One customer's contact data, several values per kind joined by ``; ``."""

    customer_id: UUID
    name: str | None
    cpf: str | None
    email: str | None
    phone: str | None
    address: str | None
    cep: str | None
    updated_at: datetime


def _significant(term: str) -> int:
    return sum(ch.isalnum() for ch in term)


def _like_literal(text: str) -> str:
    """``text`` for a LIKE pattern with ``ESCAPE '\\'``: wildcards match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_clause(
    search: str | None, *, show_cpf: bool
) -> tuple[str, tuple[Any, ...]]:
    if search is None:
        return "", ()
    term = search.strip()
    if _significant(term) < MIN_SEARCH:
        raise SearchTooShort()
    digits = only_digits(term)
    # Accents and case folded; digits (never wildcards) also match formatted
    # CPFs and phones. Who sees CPFs masked finds a customer by CPF only with
    # all 11 digits: a partial match would let them rebuild a masked CPF digit
    # by digit.
    masked = "" if show_cpf else " AND kind <> 'cpf'"
    return (
        " WHERE customer_id IN (SELECT customer_id FROM contacts"  # noqa: S608
        " WHERE ((fold_accents(value) LIKE '%%' || fold_accents(%s) || '%%'"
        " ESCAPE '\\'"
        " OR (%s <> '' AND regexp_replace(value, '\\D', '', 'g')"
        f" LIKE '%%' || %s || '%%')){masked})"
        " OR (kind = 'cpf' AND regexp_replace(value, '\\D', '', 'g') = %s))",
        (
            _like_literal(term),
            digits if len(digits) >= 4 else "",
            digits,
            digits if len(digits) == 11 else "",
        ),
    )


def _rows_sql(search: str | None, *, show_cpf: bool) -> tuple[str, tuple[Any, ...]]:
    where, params = _search_clause(search, show_cpf=show_cpf)
    columns = ", ".join(
        f"string_agg(value, '; ' ORDER BY last_seen_at DESC)"
        f" FILTER (WHERE kind = '{kind}') AS {kind}"
        for kind in ("name", "cpf", "email", "phone", "address", "cep")
    )
    return (
        f"SELECT customer_id, {columns}, max(last_seen_at) AS updated_at"  # noqa: S608
        f" FROM contacts{where} GROUP BY customer_id"
        " ORDER BY max(last_seen_at) DESC, customer_id",
        params,
    )


def iter_contact_rows(
    conn: Connection,
    *,
    search: str | None = None,
    show_cpf: bool = False,
    batch: int = 2000,
) -> Iterator[ContactRow]:
    """Every customer's merged contacts, streamed with a server-side cursor."""
    query, params = _rows_sql(search, show_cpf=show_cpf)
    with conn.cursor(name="contacts_export") as cursor:
        cursor.itersize = batch
        cursor.execute(query, params)
        for row in cursor:
            yield ContactRow(**row)


@dataclass(frozen=True)
class ContactsPage:
    contacts: list[CustomerContacts]
    next_offset: int | None  # None: this was the last page


def contact_values(
    conn: Connection, customer_ids: list[UUID], *, show_cpf: bool
) -> dict[UUID, list[ContactValue]]:
    """Each customer's values, newest first within each kind; CPFs masked
    unless ``show_cpf`` (:func:`cpf_visible_to`)."""
    values: dict[UUID, list[ContactValue]] = {i: [] for i in customer_ids}
    for v in conn.execute(
        "SELECT customer_id, kind, value, found_by, source_message_id,"
        " first_seen_at, last_seen_at FROM contacts WHERE customer_id = ANY(%s)"
        " ORDER BY kind, last_seen_at DESC",
        (customer_ids,),
    ):
        value = v["value"] if v["kind"] != "cpf" or show_cpf else mask_cpf(v["value"])
        values[v["customer_id"]].append(
            ContactValue(
                kind=v["kind"],
                value=value,
                found_by=v["found_by"],
                source_message_id=v["source_message_id"],
                first_seen_at=v["first_seen_at"],
                last_seen_at=v["last_seen_at"],
            )
        )
    return values


def list_contacts(
    conn: Connection,
    *,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    show_cpf: bool,
) -> ContactsPage:
    """A page of customers with each value, how it was found and its source."""
    limit = page_limit(limit, default=MAX_PAGE, maximum=MAX_PAGE)
    if offset < 0:
        raise InvalidInput("O parâmetro 'offset' não pode ser negativo.")
    query, params = _rows_sql(search, show_cpf=show_cpf)
    customers = conn.execute(
        f"SELECT customer_id, updated_at FROM ({query}) page LIMIT %s OFFSET %s",  # noqa: S608
        (*params, limit + 1, offset),
    ).fetchall()
    more, customers = len(customers) > limit, customers[:limit]
    ids = [c["customer_id"] for c in customers]
    values = contact_values(conn, ids, show_cpf=show_cpf)
    return ContactsPage(
        contacts=[
            CustomerContacts(
                c["customer_id"], c["updated_at"], values[c["customer_id"]]
            )
            for c in customers
        ],
        next_offset=offset + limit if more else None,
    )


def _search_kind(term: str) -> Literal["email", "digits", "text"]:
    if "@" in term:
        return "email"
    return "text" if any(ch.isalpha() for ch in term) else "digits"


def search_contacts(
    principal: AttendantPrincipal,
    *,
    search: str | None,
    limit: int | None = None,
    offset: int = 0,
    context: RequestContext,
) -> ContactsPage:
    """Look contacts up (attendants) or browse them (supervisors, admins).

    Raises:
        SearchRequired: an attendant without a term.
        SearchTooShort: fewer than 3 letters or digits.
        SearchTooBroad: an attendant past the first 50 results of a search.
        PageLimitInvalid: ``limit`` outside 1..50.
    """
    if search is None and not principal.oversees:
        raise SearchRequired()
    limit = page_limit(limit, default=MAX_PAGE, maximum=MAX_PAGE)
    if not principal.oversees and offset + limit > ATTENDANT_REACH:
        raise SearchTooBroad()
    show_cpf = cpf_visible_to(principal.role)
    with tenant_transaction(principal.tenant_id) as conn:
        page = list_contacts(
            conn, search=search, limit=limit, offset=offset, show_cpf=show_cpf
        )
        term = search.strip() if search is not None else None
        record_event(
            conn,
            action="CONTACTS_LISTED",
            subject_type="contacts",
            subject_id=None,
            context=context,
            details={
                "rows": len(page.contacts),
                "offset": offset,
                "cpf_visible": show_cpf,
                # What was searched for, never the term: it is personal data.
                "search_kind": None if term is None else _search_kind(term),
                "search_length": None if term is None else _significant(term),
            },
        )
    return page


def cpf_visible_to(role: str) -> bool:
    """Only admins see whole CPFs; supervisors and attendants see them masked."""
    return role == Role.ADMIN
