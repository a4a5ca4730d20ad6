"""API keys: random, shown once, stored as a SHA-256 hash plus a short prefix,
each with the scopes chosen when it was created.

Keys carry 256 bits of randomness, so a fast hash is enough (no password
stretching needed) and lets authentication find the key by its hash.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from atende.audit import SYSTEM, Actor, RequestContext, record_event
from atende.db import Connection, lookup_transaction, tenant_transaction
from atende.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

KEY_PREFIX = "atd_"
_READABLE_CHARS = 12


class Scope(StrEnum):
    """What a key may do; every API-key route requires one."""

    DOCUMENTS = "documents"  # upload PDFs, read their jobs and results
    CONVERSATIONS = "conversations"  # integrate with conversations (return to bot)
    REPORTS = "reports"  # read the reports' numbers (GET /v1/reports)


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """The caller behind an API key."""

    tenant_id: UUID
    api_key_id: UUID
    scopes: frozenset[Scope]

    @property
    def actor(self) -> Actor:
        return Actor("api_key", str(self.api_key_id))

    def require(self, scope: Scope) -> None:
        """Raises Forbidden (403 ACESSO_NEGADO) naming ``scope`` if the key lacks it."""
        if scope not in self.scopes:
            raise Forbidden(
                f"Esta chave de API não tem o escopo '{scope.value}', necessário"
                " para esta operação.",
                scope=scope.value,
            )


@dataclass(frozen=True)
class ApiKey:
    """A key as operators see it (never the key itself)."""

    id: UUID
    name: str
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    revoked_at: datetime | None


def generate_api_key() -> str:
    """A new API key (``atd_`` + 43 URL-safe characters)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(raw_key: str) -> bytes:
    """The stored form of a key."""
    return hashlib.sha256(raw_key.encode()).digest()


def readable_prefix(raw_key: str) -> str:
    """The part of a key kept readable, to tell keys apart in the console."""
    return raw_key[:_READABLE_CHARS]


def looks_like_api_key(raw_key: str) -> bool:
    """Cheap shape check before touching the database."""
    return raw_key.startswith(KEY_PREFIX) and 20 <= len(raw_key) <= 100


def scopes_of(values: Iterable[str]) -> frozenset[Scope]:
    """Scope names as scopes (400 naming an unknown one; at least one)."""
    chosen = set()
    for value in values:
        try:
            chosen.add(Scope(value))
        except ValueError as exc:
            known = ", ".join(s.value for s in Scope)
            raise InvalidInput(
                f"Escopo desconhecido: '{value}'. Use: {known}."
            ) from exc
    if not chosen:
        raise InvalidInput("Escolha ao menos um escopo para a chave de API.")
    return frozenset(chosen)


def _sorted(scopes: Iterable[Scope]) -> list[str]:
    return sorted(s.value for s in scopes)


def issue_api_key(
    conn: Connection,
    *,
    name: str,
    scopes: Iterable[Scope | str],
    actor: Actor = SYSTEM,
) -> tuple[UUID, str]:
    """Create an API key with ``scopes`` for the transaction's tenant; returns
    (id, raw key). Audited with its prefix and scopes.

    Raises:
        InvalidInput: no scope, an unknown one, or a bad name.
    """
    chosen = scopes_of(scopes)
    clean_name = " ".join(name.split())
    if not 1 <= len(clean_name) <= 100:
        raise InvalidInput("O nome da chave deve ter entre 1 e 100 caracteres.")
    raw_key = generate_api_key()
    row = conn.execute(
        """
        INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes)
        VALUES (current_tenant_id(), %s, %s, %s, %s) RETURNING id
        """,
        (clean_name, readable_prefix(raw_key), hash_api_key(raw_key), _sorted(chosen)),
    ).fetchone()
    assert row is not None
    key_id: UUID = row["id"]
    record_event(
        conn,
        action="API_KEY_CREATED",
        subject_type="api_key",
        subject_id=str(key_id),
        context=RequestContext(actor),
        details={
            "prefix": readable_prefix(raw_key),
            "scopes": ",".join(_sorted(chosen)),
        },
    )
    return key_id, raw_key


def create_api_key(
    tenant_id: UUID, *, name: str, scopes: Iterable[Scope | str], actor: Actor
) -> tuple[ApiKey, str]:
    """A new key of ``tenant_id`` (its own transaction); the raw key is
    returned only here."""
    with tenant_transaction(tenant_id) as conn:
        key_id, raw_key = issue_api_key(conn, name=name, scopes=scopes, actor=actor)
        [key] = [k for k in _keys(conn) if k.id == key_id]
    return key, raw_key


def _keys(conn: Connection) -> list[ApiKey]:
    rows = conn.execute(
        "SELECT id, name, prefix, scopes, created_at, revoked_at FROM api_keys"
        " ORDER BY created_at, name"
    ).fetchall()
    return [
        ApiKey(**{**row, "scopes": frozenset(Scope(s) for s in row["scopes"])})
        for row in rows
    ]


def list_api_keys(tenant_id: UUID) -> list[ApiKey]:
    """The tenant's keys, revoked ones included, oldest first."""
    with tenant_transaction(tenant_id) as conn:
        return _keys(conn)


def revoke_api_key(tenant_id: UUID, key_id: UUID, *, actor: Actor) -> None:
    """Revoke a key at once; audited.

    Raises:
        NotFound: no such live key in this tenant.
    """
    with tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            "UPDATE api_keys SET revoked_at = now()"
            " WHERE id = %s AND revoked_at IS NULL RETURNING id",
            (key_id,),
        ).fetchone()
        if row is None:
            raise NotFound("Chave de API não encontrada ou já revogada.")
        record_event(
            conn,
            action="API_KEY_REVOKED",
            subject_type="api_key",
            subject_id=str(key_id),
            context=RequestContext(actor),
        )


def authenticate_api_key(raw_key: str | None) -> ApiKeyPrincipal:
    """Resolve an ``X-API-Key`` value to its tenant and scopes.

    Raises:
        Unauthenticated: missing, malformed, unknown or revoked key; the error is
            the same in every case, so callers learn nothing about which keys exist.
    """
    if not raw_key or not looks_like_api_key(raw_key):
        raise Unauthenticated()
    key_hash = hash_api_key(raw_key)
    with lookup_transaction(api_key_hash=key_hash) as conn:
        row = conn.execute(
            "SELECT tenant_id, id, scopes FROM api_keys"
            " WHERE key_hash = %s AND revoked_at IS NULL",
            (key_hash,),
        ).fetchone()
    if row is None:
        raise Unauthenticated()
    return ApiKeyPrincipal(
        tenant_id=row["tenant_id"],
        api_key_id=row["id"],
        scopes=frozenset(Scope(s) for s in row["scopes"]),
    )
