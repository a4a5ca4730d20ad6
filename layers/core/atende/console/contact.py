"""The contact panel beside an open conversation: who the customer is, their
consent, their past conversations and how each ended, the labels, the data
they gave, and (for admins) the LGPD actions of the Privacidade page.

Whoever may read the conversation may open its panel. The data the customer
gave follows the contacts rule: CPFs whole only for admins
(:func:`atende.contacts.cpf_visible_to`). Opening the panel is audited on the
customer as the Privacidade lookup is (``CUSTOMER_LOOKED_UP``), so the
customer's export lists who looked them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from atende import consent, contacts
from atende.audit import RequestContext, record_event
from atende.console.access import load, may_read
from atende.console.annotations import labels_of
from atende.console.views import LabelView
from atende.contacts import ContactValue
from atende.db import Connection, tenant_transaction
from atende.errors import Forbidden
from atende.identity import AttendantPrincipal, Role

__all__ = ["ConsentView", "ContactPanel", "PastConversation", "contact_panel"]

PAST_LIMIT = 20
_OPEN_STATES = {
    "bot": "Com o assistente",
    "waiting_human": "Na fila",
    "with_human": "Em atendimento",
}


@dataclass(frozen=True)
class ConsentView:
    state: str  # granted, refused, withdrawn, never
    label: str  # in words
    text_version: int | None
    recorded_at: datetime | None


@dataclass(frozen=True)
class PastConversation:
    conversation_id: UUID
    current: bool  # the conversation the panel is beside
    opened_at: datetime
    closed_at: datetime | None
    outcome: str  # in words: "Encerrada por Ana", "Encerrada por inatividade"…
    attendant: str | None  # who handled it last
    csat_score: int | None  # 1-5, when the customer rated it
    labels: list[LabelView]


@dataclass(frozen=True)
class ContactPanel:
    customer_id: UUID
    name: str
    phone: str | None
    username: str | None
    first_seen_at: datetime
    consent: ConsentView
    conversations: list[PastConversation]  # newest first, at most 20
    labels: list[LabelView]  # the open conversation's
    data: list[ContactValue]  # what the customer gave, CPFs masked unless admin
    cpf_masked: bool
    # Admins: export and erasure through the Privacidade page's API.
    lgpd_actions: bool


def _consent_view(status: consent.ConsentStatus) -> ConsentView:
    if status.granted is None:
        state, label = "never", "Ainda não respondeu"
    elif status.granted:
        state, label = "granted", "Autorizou o uso dos dados"
    elif status.withdrawal:
        state, label = "withdrawn", "Retirou a autorização"
    else:
        state, label = "refused", "Não autorizou"
    if status.text_version is not None:
        label = f"{label} (texto versão {status.text_version})"
    return ConsentView(state, label, status.text_version, status.recorded_at)


def _outcome(row: dict[str, Any]) -> str:
    if row["state"] != "closed":
        return _OPEN_STATES.get(row["state"], "Em andamento")
    if row["close_reason"] == "inactivity":
        return "Encerrada por inatividade"
    if row["closed_by"]:
        return f"Encerrada por {row['closed_by']}"
    return "Encerrada"


def _past(conn: Connection, customer_id: UUID, current: UUID) -> list[PastConversation]:
    rows = conn.execute(
        "SELECT v.id, v.state, v.opened_at, v.closed_at, v.close_reason,"
        " a.display_name AS attendant, s.score,"
        " (SELECT b.display_name FROM audit_events e JOIN attendants b"
        "   ON b.tenant_id = e.tenant_id AND b.id::text = e.actor_id"
        "  WHERE e.subject_type = 'conversation' AND e.subject_id = v.id::text"
        "   AND e.action = 'CONVERSATION_CLOSED' AND e.actor_type = 'attendant'"
        "  ORDER BY e.id DESC LIMIT 1) AS closed_by"
        " FROM conversations v"
        " LEFT JOIN attendants a ON a.tenant_id = v.tenant_id"
        "  AND a.id = v.assigned_attendant_id"
        " LEFT JOIN satisfaction_surveys s ON s.tenant_id = v.tenant_id"
        "  AND s.conversation_id = v.id"
        " WHERE v.customer_id = %s ORDER BY v.opened_at DESC, v.id LIMIT %s",
        (customer_id, PAST_LIMIT),
    ).fetchall()
    labels = labels_of(conn, [r["id"] for r in rows])
    return [
        PastConversation(
            conversation_id=r["id"],
            current=r["id"] == current,
            opened_at=r["opened_at"],
            closed_at=r["closed_at"],
            outcome=_outcome(r),
            attendant=r["attendant"],
            csat_score=r["score"],
            labels=labels.get(r["id"], []),
        )
        for r in rows
    ]


def contact_panel(
    principal: AttendantPrincipal, conversation_id: UUID, context: RequestContext
) -> ContactPanel:
    """The panel of the conversation's customer; audited on the customer.

    Raises:
        NotFound: no such conversation for this tenant.
        Forbidden: the conversation is another attendant's.
    """
    show_cpf = contacts.cpf_visible_to(principal.role)
    with tenant_transaction(principal.tenant_id) as conn:
        conv = load(conn, conversation_id)
        if not may_read(principal, conv):
            raise Forbidden("Esta conversa está com outro atendente.")
        customer_id = conv["customer_id"]
        first_seen = conn.execute(
            "SELECT created_at FROM customers WHERE id = %s", (customer_id,)
        ).fetchone()
        assert first_seen is not None
        panel = ContactPanel(
            customer_id=customer_id,
            name=conv["display_name"] or conv["username"] or "Cliente",
            phone=conv["phone"],
            username=conv["username"],
            first_seen_at=first_seen["created_at"],
            consent=_consent_view(consent.status(conn, customer_id)),
            conversations=_past(conn, customer_id, conversation_id),
            labels=labels_of(conn, [conversation_id]).get(conversation_id, []),
            data=contacts.contact_values(conn, [customer_id], show_cpf=show_cpf)[
                customer_id
            ],
            cpf_masked=not show_cpf,
            lgpd_actions=principal.role == Role.ADMIN,
        )
        record_event(
            conn,
            action="CUSTOMER_LOOKED_UP",
            subject_type="customer",
            subject_id=str(customer_id),
            context=context,
            details={"by": "contact_panel", "conversation_id": str(conversation_id)},
        )
    return panel
