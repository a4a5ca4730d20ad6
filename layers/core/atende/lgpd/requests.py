"""LGPD requests from the admin's side: the list with its legal deadline,
requests admins open for a customer, and fulfilment that tells the customer
on WhatsApp, as the bot promised ("te avisamos por aqui").

The deadline is LGPD's 15 days from the request (art. 19 II). Listing shows
customers' names and numbers, so it is audited; so is each notice.

How the customer is told:
- access: the export's one-time links go to the customer's latest
  conversation through the outbox, as a secret reply (hidden from the history
  once sent), exactly as the bot sends them;
- erasure: the conversations are gone with the data, so one text is sent
  straight through the Graph API to the number read before erasing, and
  nothing about it is stored.
A notice WhatsApp refuses (the customer wrote more than 24 hours ago, the
number is unreachable) is recorded on the request, for the admin to tell the
customer another way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from atende import lgpd
from atende.audit import RequestContext, record_event
from atende.config import get_settings
from atende.conversations import protocol, store
from atende.conversations.engine import ConversationEngine
from atende.db import Connection, tenant_transaction
from atende.db.paging import Page, decode_cursor, keyset_page, page_limit
from atende.errors import AtendeError, InvalidInput
from atende.lgpd import access, erasure
from atende.lgpd.access import CustomerNotFound
from atende.observability import logger

__all__ = [
    "DEADLINE",
    "ExportDone",
    "LgpdRequestView",
    "RequestStatus",
    "erase_and_notify",
    "export_and_notify",
    "list_requests",
    "open_for_customer",
    "protocol",
]

DEADLINE = timedelta(days=15)
PAGE = 100
MAX_PAGE = 200
RequestStatus = Literal["open", "all"]

ACCESS_DONE = (
    "Seu pedido de acesso aos seus dados foi atendido (protocolo {protocolo}):\n"
    "• Página para ler: {html}\n"
    "• Planilha: {xlsx}\n"
    "• Arquivo JSON: {json}\n"
    "Cada link abre uma única vez e vale por {minutos} minutos."
)
ERASURE_DONE = (
    "Seu pedido de exclusão de dados foi concluído (protocolo {protocolo}). "
    "Apagamos o que a lei não nos obriga a guardar. Esta é a última mensagem "
    "sobre ele."
)
NOT_SENT = "Não foi possível enviar o aviso pelo WhatsApp."


@dataclass(frozen=True)
class LgpdRequestView:
    id: UUID
    protocol: str
    kind: str
    status: str
    requested_at: datetime
    due_at: datetime
    overdue: bool
    resolved_at: datetime | None
    opened_by_type: str
    opened_by: str | None
    notified_at: datetime | None
    notice_error: str | None
    customer_id: UUID
    customer_name: str | None
    customer_phone: str | None
    customer_erased: bool


@dataclass(frozen=True)
class ExportDone:
    link: access.ExportLink
    request_id: UUID | None
    customer_notified: bool
    notice_error: str | None


def list_requests(
    conn: Connection,
    *,
    status: RequestStatus,
    context: RequestContext,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[LgpdRequestView]:
    """Open requests, the oldest (closest deadline) first; or all, the latest
    first; a page at a time (100 by default, 200 at most). Audited."""
    limit = page_limit(limit, default=PAGE, maximum=MAX_PAGE)
    descending = status == "all"
    params: list[Any] = [DEADLINE, DEADLINE, status]
    after = ""
    if cursor is not None:
        params += decode_cursor(cursor, datetime, UUID)
        after = (
            " AND (r.requested_at, r.id) " + ("<" if descending else ">") + " (%s, %s)"
        )
    order = " DESC" if descending else ""
    rows = conn.execute(
        # Fixed fragments of this function; every value is bound.
        "SELECT r.id, r.kind, r.status, r.requested_at, r.requested_at + %s AS due_at,"  # noqa: S608
        " r.status IN ('open', 'in_progress') AND r.requested_at + %s < now()"
        " AS overdue, r.resolved_at, r.opened_by_type, a.display_name AS opened_by,"
        " r.notified_at, r.notice_error, c.id AS customer_id,"
        " c.display_name AS customer_name, c.phone AS customer_phone,"
        " c.erased_at IS NOT NULL AS customer_erased"
        " FROM lgpd_requests r JOIN customers c ON c.id = r.customer_id"
        " LEFT JOIN attendants a ON r.opened_by_type = 'attendant'"
        "  AND a.tenant_id = r.tenant_id AND a.id::text = r.opened_by_id"
        " WHERE (%s = 'all' OR r.status IN ('open', 'in_progress'))"
        + after
        + " ORDER BY r.requested_at"
        + order
        + ", r.id"
        + order
        + " LIMIT %s",
        (*params, limit + 1),
    ).fetchall()
    page, next_cursor = keyset_page(rows, limit, lambda r: (r["requested_at"], r["id"]))
    views = [LgpdRequestView(protocol=protocol(row["id"]), **row) for row in page]
    record_event(
        conn,
        action="LGPD_REQUESTS_LISTED",
        subject_type="lgpd_request",
        subject_id=None,
        context=context,
        details={"status": status, "results": len(views)},
    )
    return Page(views, next_cursor)


def open_for_customer(
    conn: Connection, customer_id: UUID, kind: str, *, context: RequestContext
) -> tuple[UUID, bool]:
    """An admin records a request the customer made another way (phone,
    e-mail, in the shop); an open one of that kind is reused.

    Raises:
        InvalidInput: ``kind`` is neither access nor erasure.
        CustomerNotFound: no such customer in this tenant.
        CustomerErased: the customer's data was already erased.
    """
    if kind not in ("access", "erasure"):
        raise InvalidInput('O tipo do pedido deve ser "access" ou "erasure".')
    row = conn.execute(
        "SELECT erased_at FROM customers WHERE id = %s", (customer_id,)
    ).fetchone()
    if row is None:
        raise CustomerNotFound()
    if row["erased_at"] is not None:
        raise access.CustomerErased()
    return lgpd.open_request(
        conn,
        customer_id=customer_id,
        kind="access" if kind == "access" else "erasure",
        conversation_id=None,
        context=context,
    )


def _record_notice(
    conn: Connection,
    request_id: UUID,
    customer_id: UUID,
    error: str | None,
    context: RequestContext,
) -> None:
    conn.execute(
        "UPDATE lgpd_requests SET notified_at = CASE WHEN %s::text IS NULL"
        " THEN now() END, notice_error = %s WHERE id = %s",
        (error, error, request_id),
    )
    record_event(
        conn,
        action="LGPD_CUSTOMER_NOTIFIED" if error is None else "LGPD_NOTICE_FAILED",
        subject_type="customer",
        subject_id=str(customer_id),
        context=context,
        details={"request_id": str(request_id)},
    )


def _latest_conversation(conn: Connection, customer_id: UUID) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT v.id, v.phone_number_id, v.last_inbound_at, c.wa_user_id, c.phone"
        " FROM conversations v JOIN customers c ON c.id = v.customer_id"
        " WHERE v.customer_id = %s AND c.erased_at IS NULL"
        " ORDER BY v.last_activity_at DESC LIMIT 1",
        (customer_id,),
    ).fetchone()
    return dict(row) if row else None


def export_and_notify(
    tenant_id: UUID,
    customer_id: UUID,
    *,
    engine: ConversationEngine,
    context: RequestContext,
    base_url: str | None = None,
) -> ExportDone:
    """Build the customer's export; when it answers their open access request,
    send them the links on WhatsApp.

    Raises:
        CustomerNotFound, CustomerErased: see :func:`access.create_export`.
    """
    link = access.create_export(tenant_id, customer_id, context=context)
    with tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            "SELECT request_id FROM lgpd_exports WHERE id = %s", (link.export_id,)
        ).fetchone()
        request_id = row["request_id"] if row else None
        latest = _latest_conversation(conn, customer_id)
        if request_id is None:
            return ExportDone(link, None, customer_notified=False, notice_error=None)
        if latest is None:
            error: str | None = NOT_SENT
            _record_notice(conn, request_id, customer_id, error, context)
            return ExportDone(link, request_id, False, error)
        conversation_id: UUID = latest["id"]
        message_id = store.enqueue_outbound(
            conn,
            conversation_id=conversation_id,
            body=ACCESS_DONE.format(
                protocolo=protocol(request_id),
                html=link.url("dados.html", base_url=base_url),
                xlsx=link.url("dados.xlsx", base_url=base_url),
                json=link.url("dados.json", base_url=base_url),
                minutos=round(get_settings().lgpd_export_link_ttl_min),
            ),
            secret=True,
        )
    # WhatsApp down: the links wait in the outbox for the sweeper's relay.
    engine.deliver_outbox(tenant_id, conversation_id)
    with tenant_transaction(tenant_id) as conn:
        sent = conn.execute(
            "SELECT status, error_title FROM messages WHERE id = %s", (message_id,)
        ).fetchone()
        assert sent is not None  # the outbox keeps its rows
        error = (
            (sent["error_title"] or NOT_SENT) if sent["status"] == "failed" else None
        )
        _record_notice(conn, request_id, customer_id, error, context)
    return ExportDone(link, request_id, error is None, error)


def erase_and_notify(
    tenant_id: UUID,
    customer_id: UUID,
    *,
    engine: ConversationEngine,
    context: RequestContext,
) -> tuple[erasure.ErasureProof, str | None]:
    """Erase the customer; when that answers their request, tell them on
    WhatsApp. Returns the proof and why the notice failed (None: sent or
    nothing to tell). Idempotent: a second run neither erases nor tells again.

    Raises:
        CustomerNotFound: no such customer in this tenant.
    """
    with tenant_transaction(tenant_id) as conn:
        latest = _latest_conversation(conn, customer_id)
    proof = erasure.erase_customer(tenant_id, customer_id, context=context)
    if latest is None or proof.request_id is None:
        return proof, None
    with tenant_transaction(tenant_id) as conn:
        # Claimed before sending: of two erasures at once, one tells.
        claimed = conn.execute(
            "UPDATE lgpd_requests SET notified_at = now() WHERE id = %s"
            " AND notified_at IS NULL AND notice_error IS NULL RETURNING id",
            (proof.request_id,),
        ).fetchone()
    if claimed is None:
        return proof, None
    error: str | None = None
    try:
        engine.send_notice(
            phone_number_id=latest["phone_number_id"] or "",
            wa_user_id=latest["wa_user_id"],
            phone=latest["phone"],
            text=ERASURE_DONE.format(protocolo=protocol(proof.request_id)),
            last_inbound_at=latest["last_inbound_at"],
        )
    except AtendeError as exc:
        # Outside the 24-hour window, or WhatsApp refused: the admin sees why.
        logger.warning("erasure notice not sent", extra={"code": exc.code})
        error = exc.user_message
    with tenant_transaction(tenant_id) as conn:
        _record_notice(conn, proof.request_id, customer_id, error, context)
    return proof, error
