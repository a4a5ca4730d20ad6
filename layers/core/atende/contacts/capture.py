"""Capturing contact data from a customer's messages: validators, then the private LLM.

Nothing is kept unless the customer's consent is in force. Every value
remembers the message it first came from and how it was found."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import httpx
import ollama

from atende import llm
from atende.config import get_settings
from atende.consent import has_consent
from atende.db import Connection, tenant_transaction
from atende.entities import extract_entities
from atende.observability import logger

ContactKind = Literal["name", "cpf", "email", "phone", "address", "cep"]


FoundBy = Literal["validator", "llm"]


_VALIDATED: tuple[ContactKind, ...] = ("cpf", "email", "phone", "cep")


@dataclass(frozen=True)
class Found:
    kind: ContactKind
    value: str
    found_by: FoundBy


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
