"""Reading contacts: one row per customer, searched and paged, CPFs masked
for whoever may not see them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from atende.db import Connection
from atende.errors import InvalidInput
from atende.validators import mask_cpf, only_digits

MAX_PAGE = 200


class SearchTooShort(InvalidInput):
    code = "BUSCA_CURTA_DEMAIS"
    message = "A busca precisa de pelo menos 2 caracteres."


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


def _search_clause(
    search: str | None, *, show_cpf: bool
) -> tuple[str, tuple[Any, ...]]:
    if search is None:
        return "", ()
    term = search.strip()
    if len(term) < 2:
        raise SearchTooShort()
    digits = only_digits(term)
    # Accents and case folded; digits also match formatted CPFs and phones.
    # Who sees CPFs masked finds a customer by CPF only with all 11 digits: a
    # partial match would let them rebuild a masked CPF digit by digit.
    masked = "" if show_cpf else " AND kind <> 'cpf'"
    return (
        " WHERE customer_id IN (SELECT customer_id FROM contacts"  # noqa: S608
        " WHERE ((fold_accents(value) LIKE '%%' || fold_accents(%s) || '%%'"
        " OR (%s <> '' AND regexp_replace(value, '\\D', '', 'g')"
        f" LIKE '%%' || %s || '%%')){masked})"
        " OR (kind = 'cpf' AND regexp_replace(value, '\\D', '', 'g') = %s))",
        (
            term,
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


def list_contacts(
    conn: Connection,
    *,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
    show_cpf: bool,
) -> list[CustomerContacts]:
    """A page of customers with each value, how it was found and its source."""
    limit = max(1, min(limit, MAX_PAGE))
    query, params = _rows_sql(search, show_cpf=show_cpf)
    customers = conn.execute(
        f"SELECT customer_id, updated_at FROM ({query}) page LIMIT %s OFFSET %s",  # noqa: S608
        (*params, limit, max(offset, 0)),
    ).fetchall()
    ids = [c["customer_id"] for c in customers]
    values: dict[UUID, list[ContactValue]] = {i: [] for i in ids}
    for v in conn.execute(
        "SELECT customer_id, kind, value, found_by, source_message_id,"
        " first_seen_at, last_seen_at FROM contacts WHERE customer_id = ANY(%s)"
        " ORDER BY kind, last_seen_at DESC",
        (ids,),
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
    return [
        CustomerContacts(c["customer_id"], c["updated_at"], values[c["customer_id"]])
        for c in customers
    ]


def cpf_visible_to(role: str) -> bool:
    """Only admins see whole CPFs; supervisors and attendants see them masked."""
    return role == "admin"
