"""What the team writes about a conversation and never sends: private notes
in its timeline, and the tenant's labels on it.

Notes are added by anyone who may read the conversation, never edited, and
audited (their id and length, never their text). Labels are the tenant's
(supervisors and admins manage them); anyone who may read a conversation
labels it; the lists filter by label.
"""

# Queries compose only fixed fragments; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from psycopg import errors as pg_errors

from atende import live
from atende.audit import RequestContext, record_event
from atende.console.access import audit, load, may_read
from atende.console.views import LabelView, NoteView
from atende.db import Connection, tenant_transaction
from atende.db.paging import Page, decode_cursor, keyset_page, page_limit
from atende.errors import Conflict, Forbidden, InvalidInput, NotFound, UnknownLabel
from atende.identity import AttendantPrincipal, Role

__all__ = [
    "LABELS_LIMIT",
    "MAX_NOTE_CHARS",
    "NOTES_SHOWN",
    "add_note",
    "create_label",
    "delete_label",
    "label_conversation",
    "labels_of",
    "list_labels",
    "notes_of",
    "require_label",
    "unlabel_conversation",
]

MAX_NOTE_CHARS = 2000
NOTES_SHOWN = 200  # the latest ones, in the conversation's timeline
LABELS_LIMIT = 200
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def notes_of(conn: Connection, conversation_id: UUID) -> list[NoteView]:
    """The conversation's latest notes, oldest first."""
    rows = conn.execute(
        "SELECT n.id, n.body, n.created_at, a.display_name AS attendant"
        " FROM conversation_notes n JOIN attendants a ON a.tenant_id = n.tenant_id"
        "  AND a.id = n.attendant_id WHERE n.conversation_id = %s"
        " ORDER BY n.created_at DESC, n.id DESC LIMIT %s",
        (conversation_id, NOTES_SHOWN),
    ).fetchall()
    return [NoteView(**r) for r in reversed(rows)]


def labels_of(
    conn: Connection, conversation_ids: list[UUID]
) -> dict[UUID, list[LabelView]]:
    """The labels of each conversation, by name."""
    if not conversation_ids:
        return {}
    rows = conn.execute(
        "SELECT cl.conversation_id, l.id, l.name, l.color FROM conversation_labels cl"
        " JOIN labels l ON l.tenant_id = cl.tenant_id AND l.id = cl.label_id"
        " WHERE cl.conversation_id = ANY(%s) ORDER BY lower(l.name)",
        (conversation_ids,),
    ).fetchall()
    found: dict[UUID, list[LabelView]] = {}
    for r in rows:
        found.setdefault(r["conversation_id"], []).append(
            LabelView(id=r["id"], name=r["name"], color=r["color"])
        )
    return found


def require_label(conn: Connection, label_id: UUID) -> LabelView:
    """The tenant's label, or 400 ``ETIQUETA_INEXISTENTE``."""
    row = conn.execute(
        "SELECT id, name, color FROM labels WHERE id = %s", (label_id,)
    ).fetchone()
    if row is None:
        raise UnknownLabel()
    return LabelView(**row)


def _readable(
    conn: Connection, principal: AttendantPrincipal, conversation_id: UUID
) -> dict[str, Any]:
    conv = load(conn, conversation_id)
    if not may_read(principal, conv):
        raise Forbidden("Esta conversa está com outro atendente.")
    return conv


def add_note(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    text: str,
    context: RequestContext,
) -> NoteView:
    """A private note in the conversation's timeline (never sent)."""
    clean = (text or "").strip()
    if not clean:
        raise InvalidInput("Escreva a nota antes de salvar.")
    if len(clean) > MAX_NOTE_CHARS:
        raise InvalidInput(f"A nota passa de {MAX_NOTE_CHARS} caracteres.")
    with tenant_transaction(principal.tenant_id) as conn:
        _readable(conn, principal, conversation_id)
        row = conn.execute(
            "INSERT INTO conversation_notes (tenant_id, conversation_id,"
            " attendant_id, body) VALUES (current_tenant_id(), %s, %s, %s)"
            " RETURNING id, body, created_at",
            (conversation_id, principal.attendant_id, clean),
        ).fetchone()
        assert row is not None
        audit(
            conn,
            action="NOTE_ADDED",
            conversation_id=conversation_id,
            context=context,
            details={"note_id": str(row["id"]), "length": str(len(clean))},
        )
    live.publish(
        principal.tenant_id, "conversation.updated", conversation_id=conversation_id
    )
    return NoteView(attendant=principal.display_name, **row)


def list_labels(
    principal: AttendantPrincipal,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[LabelView]:
    """The tenant's labels by name, a page at a time."""
    limit = page_limit(limit, default=LABELS_LIMIT, maximum=LABELS_LIMIT)
    params: list[Any] = []
    after = ""
    if cursor is not None:
        params += decode_cursor(cursor, str, UUID)
        after = " WHERE (lower(name), id) > (%s, %s)"
    with tenant_transaction(principal.tenant_id) as conn:
        rows = conn.execute(
            "SELECT id, name, color, lower(name) AS sort_name FROM labels"
            + after
            + " ORDER BY lower(name), id LIMIT %s",
            (*params, limit + 1),
        ).fetchall()
    page, next_cursor = keyset_page(rows, limit, lambda r: (r["sort_name"], r["id"]))
    return Page(
        [LabelView(id=r["id"], name=r["name"], color=r["color"]) for r in page],
        next_cursor,
    )


def create_label(
    principal: AttendantPrincipal, *, name: str, color: str, context: RequestContext
) -> LabelView:
    """A new label of the tenant (supervisors and admins)."""
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    clean = " ".join((name or "").split())
    if not 1 <= len(clean) <= 40:
        raise InvalidInput("O nome da etiqueta deve ter de 1 a 40 caracteres.")
    if not _COLOR.fullmatch(color or ""):
        raise InvalidInput("A cor deve estar no formato #RRGGBB.")
    try:
        with tenant_transaction(principal.tenant_id) as conn:
            row = conn.execute(
                "INSERT INTO labels (tenant_id, name, color)"
                " VALUES (current_tenant_id(), %s, %s) RETURNING id, name, color",
                (clean, color.lower()),
            ).fetchone()
            assert row is not None
            _audit_label(conn, "LABEL_CREATED", row["id"], context)
    except pg_errors.UniqueViolation as exc:
        raise Conflict("Já existe uma etiqueta com esse nome.") from exc
    return LabelView(**row)


def delete_label(
    principal: AttendantPrincipal, label_id: UUID, *, context: RequestContext
) -> None:
    """Remove a label from the tenant and from every conversation."""
    principal.require(Role.ADMIN, Role.SUPERVISOR)
    with tenant_transaction(principal.tenant_id) as conn:
        if not conn.execute("DELETE FROM labels WHERE id = %s", (label_id,)).rowcount:
            raise NotFound("Etiqueta não encontrada.")
        _audit_label(conn, "LABEL_DELETED", label_id, context)


def _audit_label(
    conn: Connection, action: str, label_id: UUID, context: RequestContext
) -> None:
    record_event(
        conn,
        action=action,
        subject_type="label",
        subject_id=str(label_id),
        context=context,
    )


def label_conversation(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    label_id: UUID,
    *,
    context: RequestContext,
) -> list[LabelView]:
    """Put a label on a conversation (idempotent); returns its labels."""
    return _set_label(principal, conversation_id, label_id, True, context)


def unlabel_conversation(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    label_id: UUID,
    *,
    context: RequestContext,
) -> list[LabelView]:
    """Take a label off a conversation (idempotent); returns its labels."""
    return _set_label(principal, conversation_id, label_id, False, context)


def _set_label(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    label_id: UUID,
    on: bool,
    context: RequestContext,
) -> list[LabelView]:
    with tenant_transaction(principal.tenant_id) as conn:
        _readable(conn, principal, conversation_id)
        require_label(conn, label_id)
        if on:
            changed = conn.execute(
                "INSERT INTO conversation_labels (tenant_id, conversation_id,"
                " label_id, added_by) VALUES (current_tenant_id(), %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (conversation_id, label_id, principal.attendant_id),
            ).rowcount
        else:
            changed = conn.execute(
                "DELETE FROM conversation_labels WHERE conversation_id = %s"
                " AND label_id = %s",
                (conversation_id, label_id),
            ).rowcount
        if changed:
            audit(
                conn,
                action="CONVERSATION_LABELLED" if on else "CONVERSATION_UNLABELLED",
                conversation_id=conversation_id,
                context=context,
                details={"label_id": str(label_id)},
            )
        labels = labels_of(conn, [conversation_id]).get(conversation_id, [])
    if changed:
        live.publish(
            principal.tenant_id, "conversation.updated", conversation_id=conversation_id
        )
    return labels
