"""Consent: each tenant's versioned text, and every customer's decisions.

Decisions are appended, never edited; the latest one per purpose is in force.
A refusal after a grant is a withdrawal and is recorded as one. Without a grant
in force nothing beyond answering the customer is done with their messages:
no contact extraction and no LLM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from atende.audit import RequestContext, record_event
from atende.db import Connection
from atende.db.paging import Page, decode_cursor, keyset_page, page_limit
from atende.errors import InvalidInput

__all__ = [
    "HISTORY_LIMIT",
    "PROMPT_BUTTONS",
    "PURPOSE",
    "ConsentStatus",
    "ConsentText",
    "ConsentTextVersion",
    "current_text",
    "ensure_text",
    "has_consent",
    "history",
    "list_texts",
    "prompt_due",
    "publish_text",
    "record_consent",
    "status",
]

#: The purpose the WhatsApp bot asks about: using the customer's data to serve
#: them (contact data kept, messages read by the private LLM).
PURPOSE = "atendimento_whatsapp"
MAX_TEXT_CHARS = 1000
HISTORY_PAGE = 100
HISTORY_LIMIT = 200


class ConsentTextInvalid(InvalidInput):
    code = "TEXTO_DE_CONSENTIMENTO_INVALIDO"
    message = "O texto de consentimento deve ter entre 1 e 1000 caracteres."


@dataclass(frozen=True)
class ConsentText:
    version: int
    body: str
    published_at: datetime


@dataclass(frozen=True)
class ConsentTextVersion:
    """A published version with who published it (a name when an attendant
    did, else the kind of actor: ``system`` for the demo's seed)."""

    version: int
    body: str
    published_at: datetime
    published_by: str | None


@dataclass(frozen=True)
class ConsentStatus:
    """The decision in force: ``granted`` is None when the customer never answered."""

    granted: bool | None
    text_version: int | None
    recorded_at: datetime | None
    withdrawal: bool


NO_DECISION = ConsentStatus(None, None, None, False)


def publish_text(
    conn: Connection, body: str, *, context: RequestContext
) -> ConsentText:
    """Publish a new version of the tenant's consent text (the bot asks again).

    Raises:
        ConsentTextInvalid: empty or longer than 1,000 characters.
    """
    body = body.strip()
    if not 1 <= len(body) <= MAX_TEXT_CHARS:
        raise ConsentTextInvalid()
    # The tenant row lock serialises concurrent publications of one tenant.
    conn.execute("SELECT 1 FROM tenants WHERE id = current_tenant_id() FOR UPDATE")
    row = conn.execute(
        "INSERT INTO consent_texts (tenant_id, version, body, published_by_type,"
        " published_by_id) SELECT current_tenant_id(), coalesce(max(version), 0) + 1,"
        " %s, %s, %s FROM consent_texts RETURNING version, body, published_at",
        (body, context.actor.type, context.actor.id),
    ).fetchone()
    assert row is not None
    record_event(
        conn,
        action="CONSENT_TEXT_PUBLISHED",
        subject_type="consent_text",
        subject_id=str(row["version"]),
        context=context,
        details={"version": row["version"]},
    )
    return ConsentText(**row)


def current_text(conn: Connection) -> ConsentText | None:
    """The tenant's latest consent text; None when it never published one."""
    row = conn.execute(
        "SELECT version, body, published_at FROM consent_texts"
        " ORDER BY version DESC LIMIT 1"
    ).fetchone()
    return ConsentText(**row) if row else None


def ensure_text(conn: Connection, body: str, *, context: RequestContext) -> ConsentText:
    """The tenant's current text, publishing ``body`` as version 1 when it has
    none (a demo tenant's seed: running it again changes nothing)."""
    conn.execute("SELECT 1 FROM tenants WHERE id = current_tenant_id() FOR UPDATE")
    return current_text(conn) or publish_text(conn, body, context=context)


def list_texts(conn: Connection) -> list[ConsentTextVersion]:
    """Every published version, newest first, with who published it."""
    rows = conn.execute(
        "SELECT t.version, t.body, t.published_at,"
        " coalesce(a.display_name, t.published_by_type) AS published_by"
        " FROM consent_texts t LEFT JOIN attendants a"
        " ON t.published_by_type = 'attendant' AND a.tenant_id = t.tenant_id"
        " AND a.id::text = t.published_by_id ORDER BY t.version DESC"
    ).fetchall()
    return [ConsentTextVersion(**row) for row in rows]


def status(
    conn: Connection, customer_id: UUID, *, purpose: str = PURPOSE
) -> ConsentStatus:
    """The customer's decision in force for ``purpose``."""
    row = conn.execute(
        "SELECT granted, text_version, recorded_at, withdrawal FROM consents"
        " WHERE customer_id = %s AND purpose = %s"
        " ORDER BY recorded_at DESC, id DESC LIMIT 1",
        (customer_id, purpose),
    ).fetchone()
    return ConsentStatus(**row) if row else NO_DECISION


def has_consent(conn: Connection, customer_id: UUID) -> bool:
    """True only while a grant is in force (never asked, refused or withdrawn: no)."""
    return status(conn, customer_id).granted is True


def record_consent(
    conn: Connection,
    *,
    customer_id: UUID,
    granted: bool,
    source: str,
    context: RequestContext,
    purpose: str = PURPOSE,
) -> ConsentStatus:
    """Append a decision against the current text; a refusal after a grant is
    recorded (and audited) as a withdrawal."""
    previous = status(conn, customer_id, purpose=purpose)
    withdrawal = not granted and previous.granted is True
    text = current_text(conn)
    row = conn.execute(
        "INSERT INTO consents (tenant_id, customer_id, purpose, granted, source,"
        " text_version, withdrawal, recorded_at)"
        " VALUES (current_tenant_id(), %s, %s, %s, %s, %s, %s, clock_timestamp())"
        " RETURNING id, granted, text_version, recorded_at, withdrawal",
        (
            customer_id,
            purpose,
            granted,
            source,
            text.version if text else None,
            withdrawal,
        ),
    ).fetchone()
    assert row is not None
    action = (
        "CONSENT_GRANTED"
        if granted
        else ("CONSENT_WITHDRAWN" if withdrawal else "CONSENT_REFUSED")
    )
    # What was collected under the consent goes with it (LGPD art. 16, 18 VI).
    dropped = (
        conn.execute(
            "DELETE FROM contacts WHERE customer_id = %s", (customer_id,)
        ).rowcount
        if withdrawal
        else 0
    )
    record_event(
        conn,
        action=action,
        subject_type="customer",
        subject_id=str(customer_id),
        context=context,
        details={
            "purpose": purpose,
            "source": source,
            "consent_id": str(row["id"]),
            "text_version": row["text_version"],
            **({"contacts_deleted": dropped} if withdrawal else {}),
        },
    )
    return ConsentStatus(
        granted=row["granted"],
        text_version=row["text_version"],
        recorded_at=row["recorded_at"],
        withdrawal=row["withdrawal"],
    )


def prompt_due(conn: Connection, customer_id: UUID) -> ConsentText | None:
    """The text to ask this customer about: the tenant's latest, unless the
    customer already answered it (when to ask is the conversation's call,
    ``atende.conversations.consent_prompt``)."""
    text = current_text(conn)
    if text is None:
        return None
    decided = status(conn, customer_id)
    if decided.text_version is not None and decided.text_version >= text.version:
        return None
    return text


#: The prompt's reply buttons: their titles are what Rasa reads back.
PROMPT_BUTTONS = (
    ("/consentimento_aceitar", "Sim, autorizo"),
    ("/consentimento_recusar", "Não autorizo"),
)


def history(
    conn: Connection,
    customer_id: UUID,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """The customer's decisions, oldest first, a page at a time."""
    limit = page_limit(limit, default=HISTORY_PAGE, maximum=HISTORY_LIMIT)
    params: list[Any] = [customer_id]
    after = ""
    if cursor is not None:
        params += decode_cursor(cursor, datetime, UUID)
        after = " AND (recorded_at, id) > (%s, %s)"
    rows = conn.execute(
        # A fixed condition is appended; values are bound parameters.
        "SELECT id, purpose, granted, withdrawal, text_version, source, recorded_at"  # noqa: S608
        " FROM consents WHERE customer_id = %s" + after + " ORDER BY recorded_at, id"
        " LIMIT %s",
        (*params, limit + 1),
    ).fetchall()
    page, next_cursor = keyset_page(rows, limit, lambda r: (r["recorded_at"], r["id"]))
    return Page(
        [
            {
                "purpose": row["purpose"],
                "granted": row["granted"],
                "withdrawal": row["withdrawal"],
                "text_version": row["text_version"],
                "source": row["source"],
                "recorded_at": row["recorded_at"].isoformat(),
            }
            for row in page
        ],
        next_cursor,
    )
