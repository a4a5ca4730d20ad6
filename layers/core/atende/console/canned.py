"""Canned responses ("Respostas rápidas"): texts inserted with ``/atalho``.

A team response (no owner) is the whole tenant's: everyone uses it,
supervisors and admins manage it. A personal one is seen and managed only by
the attendant who wrote it. Bodies may carry the variables in
:data:`VARIABLES`, filled by the console from the open conversation.
"""

# Queries compose only fixed fragments; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import re
from typing import Any, Literal
from uuid import UUID

from psycopg import errors as pg_errors

from atende.audit import RequestContext, record_event
from atende.console.views import CannedResponseView
from atende.db import Connection, tenant_transaction
from atende.db.paging import Page, decode_cursor, keyset_page, page_limit
from atende.errors import (
    CannedBodyTooLong,
    CannedShortcutInvalid,
    CannedShortcutTaken,
    Forbidden,
    InvalidInput,
    NotFound,
    UnknownTemplateVariable,
)
from atende.identity import AttendantPrincipal, Role

__all__ = [
    "CANNED_LIMIT",
    "MAX_CANNED_CHARS",
    "VARIABLES",
    "Scope",
    "create_canned",
    "delete_canned",
    "list_canned",
    "update_canned",
]

Scope = Literal["team", "personal"]
MAX_CANNED_CHARS = 4096  # WhatsApp's text limit
MAX_TITLE_CHARS = 80
CANNED_LIMIT = 200
VARIABLES = frozenset({"nome", "protocolo", "atendente"})
_SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_COLUMNS = "id, owner_id, shortcut, title, body, updated_at"


def _view(row: dict[str, Any]) -> CannedResponseView:
    return CannedResponseView(
        id=row["id"],
        scope="team" if row["owner_id"] is None else "personal",
        shortcut=row["shortcut"],
        title=row["title"],
        body=row["body"],
        updated_at=row["updated_at"],
    )


def _clean(shortcut: str, title: str, body: str) -> tuple[str, str, str]:
    """The fields as stored, or the error that names what is wrong."""
    key = (shortcut or "").strip().removeprefix("/").lower()
    if not _SHORTCUT.fullmatch(key):
        raise CannedShortcutInvalid()
    name = " ".join((title or "").split())
    if not 1 <= len(name) <= MAX_TITLE_CHARS:
        raise InvalidInput(
            f"O título da resposta rápida deve ter de 1 a {MAX_TITLE_CHARS} caracteres."
        )
    text = (body or "").strip()
    if not text:
        raise InvalidInput("Escreva o texto da resposta rápida.")
    if len(text) > MAX_CANNED_CHARS:
        raise CannedBodyTooLong(
            f"O texto tem {len(text)} caracteres; o limite é {MAX_CANNED_CHARS}."
        )
    for variable in _VARIABLE.findall(text):
        if variable not in VARIABLES:
            raise UnknownTemplateVariable(
                f"Variável desconhecida: {{{{{variable}}}}}. Use {{{{nome}}}},"
                " {{protocolo}} ou {{atendente}}.",
                variable=variable,
            )
    return key, name, text


def list_canned(
    principal: AttendantPrincipal,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[CannedResponseView]:
    """The team's responses and the principal's own, by shortcut."""
    limit = page_limit(limit, default=CANNED_LIMIT, maximum=CANNED_LIMIT)
    params: list[Any] = [principal.attendant_id]
    after = ""
    if cursor is not None:
        params += decode_cursor(cursor, str, UUID)
        after = " AND (shortcut, id) > (%s, %s)"
    with tenant_transaction(principal.tenant_id) as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM canned_responses"
            " WHERE (owner_id IS NULL OR owner_id = %s)"
            + after
            + " ORDER BY shortcut, id LIMIT %s",
            (*params, limit + 1),
        ).fetchall()
    page, next_cursor = keyset_page(rows, limit, lambda r: (r["shortcut"], r["id"]))
    return Page([_view(r) for r in page], next_cursor)


def _may_manage_team(principal: AttendantPrincipal) -> None:
    if principal.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise Forbidden(
            "Só supervisores e administradores gerenciam as respostas da equipe."
        )


def create_canned(
    principal: AttendantPrincipal,
    *,
    scope: str,
    shortcut: str,
    title: str,
    body: str,
    context: RequestContext,
) -> CannedResponseView:
    """A new team response (supervisors, admins) or a personal one (anyone)."""
    if scope not in ("team", "personal"):
        raise InvalidInput("O escopo deve ser 'team' (equipe) ou 'personal' (pessoal).")
    if scope == "team":
        _may_manage_team(principal)
    key, name, text = _clean(shortcut, title, body)
    owner = principal.attendant_id if scope == "personal" else None
    try:
        with tenant_transaction(principal.tenant_id) as conn:
            row = conn.execute(
                "INSERT INTO canned_responses (tenant_id, owner_id, shortcut, title,"
                " body) VALUES (current_tenant_id(), %s, %s, %s, %s)"
                f" RETURNING {_COLUMNS}",
                (owner, key, name, text),
            ).fetchone()
            assert row is not None
            view = _view(row)
            _audit(conn, "CANNED_RESPONSE_CREATED", view, context)
    except pg_errors.UniqueViolation as exc:
        raise CannedShortcutTaken(
            f"Já existe uma resposta rápida /{key} nesse escopo."
        ) from exc
    return view


def _managed(
    conn: Connection, principal: AttendantPrincipal, canned_id: UUID
) -> dict[str, Any]:
    """The row the principal may change: the team's (supervisors, admins)
    or their own; another attendant's personal one does not exist for them."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM canned_responses WHERE id = %s"
        " AND (owner_id IS NULL OR owner_id = %s) FOR UPDATE",
        (canned_id, principal.attendant_id),
    ).fetchone()
    if row is None:
        raise NotFound("Resposta rápida não encontrada.")
    if row["owner_id"] is None:
        _may_manage_team(principal)
    return row


def update_canned(
    principal: AttendantPrincipal,
    canned_id: UUID,
    *,
    shortcut: str,
    title: str,
    body: str,
    context: RequestContext,
) -> CannedResponseView:
    """Rewrite a response (its scope stays)."""
    key, name, text = _clean(shortcut, title, body)
    try:
        with tenant_transaction(principal.tenant_id) as conn:
            _managed(conn, principal, canned_id)
            row = conn.execute(
                "UPDATE canned_responses SET shortcut = %s, title = %s, body = %s,"
                f" updated_at = now() WHERE id = %s RETURNING {_COLUMNS}",
                (key, name, text, canned_id),
            ).fetchone()
            assert row is not None
            view = _view(row)
            _audit(conn, "CANNED_RESPONSE_UPDATED", view, context)
    except pg_errors.UniqueViolation as exc:
        raise CannedShortcutTaken(
            f"Já existe uma resposta rápida /{key} nesse escopo."
        ) from exc
    return view


def delete_canned(
    principal: AttendantPrincipal, canned_id: UUID, *, context: RequestContext
) -> None:
    with tenant_transaction(principal.tenant_id) as conn:
        view = _view(_managed(conn, principal, canned_id))
        conn.execute("DELETE FROM canned_responses WHERE id = %s", (canned_id,))
        _audit(conn, "CANNED_RESPONSE_DELETED", view, context)


def _audit(
    conn: Connection, action: str, view: CannedResponseView, context: RequestContext
) -> None:
    record_event(
        conn,
        action=action,
        subject_type="canned_response",
        subject_id=str(view.id),
        context=context,
        details={"scope": view.scope, "shortcut": view.shortcut},
    )
