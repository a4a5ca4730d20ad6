"""Contacts: personal data customers give in their messages, merged per customer.

CPF, e-mail, phone and CEP are found by the validators (check digits, real area
codes); names and addresses by the private LLM, each value cross-checked
against the message. Nothing is kept unless the customer's consent is in force.
Every value remembers the message it first came from and how it was found.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Literal
from uuid import UUID, uuid4

import httpx
import ollama

from atende import llm
from atende.audit import Actor, record_event
from atende.config import get_settings
from atende.contacts.excel import mask_cpf, write_contacts_xlsx
from atende.db import Connection, tenant_transaction
from atende.documents import storage
from atende.documents.entities import extract_entities
from atende.errors import InvalidInput
from atende.lgpd.consent import has_consent
from atende.observability import logger
from atende.tenancy import get_tenant, tenant_key
from atende.validators import only_digits

__all__ = [
    "ContactKind",
    "ContactRow",
    "ContactValue",
    "Found",
    "capture_from_message",
    "capture_names_and_addresses",
    "capture_with_llm",
    "cpf_visible_to",
    "export_xlsx",
    "found_by_validators",
    "iter_contact_rows",
    "list_contacts",
    "mask_cpf",
    "merge",
]

ContactKind = Literal["name", "cpf", "email", "phone", "address", "cep"]
FoundBy = Literal["validator", "llm"]
_VALIDATED: tuple[ContactKind, ...] = ("cpf", "email", "phone", "cep")
MAX_PAGE = 200


class SearchTooShort(InvalidInput):
    code = "BUSCA_CURTA_DEMAIS"
    message = "A busca precisa de pelo menos 2 caracteres."


@dataclass(frozen=True)
class Found:
    kind: ContactKind
    value: str
    found_by: FoundBy


@dataclass(frozen=True)
class ContactValue:
    kind: str
    value: str
    found_by: str
    source_message_id: UUID | None
    first_seen_at: datetime
    last_seen_at: datetime


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


def found_by_validators(text: str) -> list[Found]:
    """CPF, e-mail, phone and CEP in ``text``, validated and normalised."""
    return [
        Found(e.kind, e.value, "validator")
        for e in extract_entities(text)
        if e.kind in _VALIDATED
    ]


def merge(
    conn: Connection,
    *,
    customer_id: UUID,
    message_id: UUID | None,
    found: Iterable[Found],
) -> int:
    """Add values to the customer's contacts; a known value only gets seen again.

    Returns how many values were new.
    """
    new = 0
    for item in found:
        row = conn.execute(
            "INSERT INTO contacts (tenant_id, customer_id, kind, value, found_by,"
            " source_message_id) VALUES (current_tenant_id(), %s, %s, %s, %s, %s)"
            " ON CONFLICT (tenant_id, customer_id, kind, value) DO UPDATE SET"
            " last_seen_at = now(), seen_count = contacts.seen_count + 1,"
            " source_message_id = coalesce(contacts.source_message_id,"
            " EXCLUDED.source_message_id)"
            " RETURNING (xmax = 0) AS inserted",
            (customer_id, item.kind, item.value[:300], item.found_by, message_id),
        ).fetchone()
        new += bool(row and row["inserted"])
    return new


def capture_from_message(
    conn: Connection, *, customer_id: UUID, message_id: UUID, text: str | None
) -> int:
    """The validators' findings in an inbound message, kept only with consent."""
    if not text or not has_consent(conn, customer_id):
        return 0
    return merge(
        conn,
        customer_id=customer_id,
        message_id=message_id,
        found=found_by_validators(text),
    )


_LLM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "nome": {"type": "string"},
        "endereco": {"type": "string"},
    },
    "required": ["nome", "endereco"],
}
_LLM_SYSTEM = (
    "Extraia da mensagem de um cliente o nome completo da pessoa e o endereço "
    "(rua, número, bairro, cidade), copiando exatamente como escritos. Se não "
    'houver, use "". Não invente nada.'
)


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


def capture_with_llm(
    tenant_id: UUID,
    *,
    customer_id: UUID,
    message_id: UUID,
    text: str,
    client: ollama.Client | None = None,
) -> int:
    """Names and addresses by the private LLM, only with consent in force.

    The LLM runs outside any transaction; a value it returns is kept only when
    the message really contains it (no invented data).

    Raises:
        LlmUnavailable: no LLM configured, or it failed.
    """
    with tenant_transaction(tenant_id) as conn:
        if not has_consent(conn, customer_id):
            return 0
    model = client or llm.default_client()
    try:
        response = model.chat(
            model=get_settings().ollama_model,
            messages=[
                {"role": "system", "content": _LLM_SYSTEM},
                {"role": "user", "content": text},
            ],
            format=_LLM_SCHEMA,
            options={"temperature": 0},
        )
        content = json.loads(response.message.content or "{}")
    except (ollama.ResponseError, ConnectionError, httpx.HTTPError, ValueError) as exc:
        logger.warning("llm unavailable", extra={"error": type(exc).__name__})
        raise llm.LlmUnavailable() from exc
    source = _fold(text)
    answers: tuple[tuple[ContactKind, str], ...] = (
        ("name", str(content.get("nome") or "")),
        ("address", str(content.get("endereco") or "")),
    )
    found = [
        Found(kind, " ".join(value.split()), "llm")
        for kind, value in answers
        if value.strip() and _fold(value) in source
    ]
    with tenant_transaction(tenant_id) as conn:
        # Consent may have been withdrawn while the LLM was thinking.
        if not found or not has_consent(conn, customer_id):
            return 0
        return merge(conn, customer_id=customer_id, message_id=message_id, found=found)


# Names and addresses come with words like these; other messages don't go to
# the LLM at all (it costs a few seconds of GPU per message).
_NAME_OR_ADDRESS_CUE = re.compile(
    r"\b(nome|chamo|rua|r\.|avenida|av\.|alameda|travessa|estrada|rodovia"
    r"|endere[cç]o|moro|bairro|apto|apartamento)\b",
    re.IGNORECASE,
)


def capture_names_and_addresses(
    tenant_id: UUID, *, customer_id: UUID, message_id: UUID, text: str
) -> int:
    """Best effort, after the bot turn: the LLM capture when the message looks
    like it holds a name or an address; without an LLM nothing happens."""
    if not _NAME_OR_ADDRESS_CUE.search(text):
        return 0
    try:
        return capture_with_llm(
            tenant_id, customer_id=customer_id, message_id=message_id, text=text
        )
    except llm.LlmUnavailable:
        return 0


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
) -> list[dict[str, Any]]:
    """A page of customers with each value, how it was found and its source."""
    limit = max(1, min(limit, MAX_PAGE))
    query, params = _rows_sql(search, show_cpf=show_cpf)
    customers = conn.execute(
        f"SELECT customer_id, updated_at FROM ({query}) page LIMIT %s OFFSET %s",  # noqa: S608
        (*params, limit, max(offset, 0)),
    ).fetchall()
    ids = [c["customer_id"] for c in customers]
    values: dict[UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    for v in conn.execute(
        "SELECT customer_id, kind, value, found_by, source_message_id,"
        " first_seen_at, last_seen_at FROM contacts WHERE customer_id = ANY(%s)"
        " ORDER BY kind, last_seen_at DESC",
        (ids,),
    ):
        value = v["value"] if v["kind"] != "cpf" or show_cpf else mask_cpf(v["value"])
        values[v["customer_id"]].append(
            {
                "kind": v["kind"],
                "value": value,
                "found_by": v["found_by"],
                "source_message_id": (
                    str(v["source_message_id"]) if v["source_message_id"] else None
                ),
                "first_seen_at": v["first_seen_at"].isoformat(),
                "last_seen_at": v["last_seen_at"].isoformat(),
            }
        )
    return [
        {
            "customer_id": str(c["customer_id"]),
            "updated_at": c["updated_at"].isoformat(),
            "values": values[c["customer_id"]],
        }
        for c in customers
    ]


def cpf_visible_to(role: str) -> bool:
    """Only admins see whole CPFs; supervisors and attendants see them masked."""
    return role == "admin"


@dataclass(frozen=True)
class OfferedExport:
    url: str
    rows: int
    expires_in: int


def offer_xlsx(
    tenant_id: UUID,
    *,
    role: str,
    actor: Actor,
    search: str | None = None,
    request_id: str | None = None,
    ip: str | None = None,
    expires_in: int = 300,
) -> OfferedExport:
    """The contacts spreadsheet as a short presigned download (audited).

    Any size: the file goes from S3 to the browser, not through the API.
    """
    out = io.BytesIO()
    rows = export_xlsx(
        tenant_id,
        out,
        role=role,
        actor=actor,
        search=search,
        request_id=request_id,
        ip=ip,
    )
    with tenant_transaction(tenant_id) as conn:
        key = tenant_key(get_tenant(conn))
    url = storage.offer_download(
        key,
        f"tenants/{tenant_id}/exports/contacts/{uuid4()}.xlsx",
        out.getvalue(),
        filename="contatos.xlsx",
        expires_s=expires_in,
    )
    return OfferedExport(url=url, rows=rows, expires_in=expires_in)


def export_xlsx(
    tenant_id: UUID,
    out: BinaryIO,
    *,
    role: str,
    actor: Actor,
    search: str | None = None,
    request_id: str | None = None,
    ip: str | None = None,
) -> int:
    """Write the tenant's contacts as XLSX to ``out`` (audited); returns rows."""
    show_cpf = cpf_visible_to(role)
    with tenant_transaction(tenant_id) as conn:
        rows = write_contacts_xlsx(
            iter_contact_rows(conn, search=search, show_cpf=show_cpf),
            out,
            show_cpf=show_cpf,
        )
        record_event(
            conn,
            action="CONTACTS_EXPORTED",
            subject_type="contacts",
            subject_id=None,
            actor=actor,
            request_id=request_id,
            ip=ip,
            details={
                "rows": rows,
                "format": "xlsx",
                "cpf_visible": show_cpf,
                "filtered": search is not None,
            },
        )
    return rows
