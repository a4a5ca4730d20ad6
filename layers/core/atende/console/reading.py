"""What attendants read: the queue, their conversations, one conversation.

Reading a conversation is an access to personal data: it is audited with the
attendant, the request id and the IP. Every list comes in pages with a cap and
a keyset cursor; a conversation opens on its latest messages and pages back
(``before``), so one chatty customer never makes it unopenable.
"""

# Queries below compose only fixed column lists and conditions; values are
# always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from atende.audit import RequestContext
from atende.console.access import audit, load, masked_phone, may_read, shown_text
from atende.console.annotations import labels_of, notes_of, require_label
from atende.console.media import location_view, media_view
from atende.console.views import (
    ActivityView,
    ConversationDetail,
    ConversationItem,
    CustomerView,
    HandoffView,
    MessagesPage,
    MessageView,
    Queue,
    QueueItem,
)
from atende.conversations import messages_ptbr as texts
from atende.conversations import protocol, reasons
from atende.conversations.store import State
from atende.db import Connection, tenant_transaction
from atende.db.paging import Page, decode_cursor, keyset_page, page_limit
from atende.errors import Forbidden, InvalidInput
from atende.identity import AttendantPrincipal, Role
from atende.whatsapp.graph import CUSTOMER_WINDOW

__all__ = [
    "LIST_LIMIT",
    "MESSAGES_LIMIT",
    "MESSAGES_PAGE",
    "QUEUE_LIMIT",
    "conversation_detail",
    "conversation_messages",
    "list_conversations",
    "queue",
]

# The lists' label filter (the label is checked to be the tenant's first).
_LABELLED = (
    " AND EXISTS (SELECT 1 FROM conversation_labels cl"
    " WHERE cl.conversation_id = v.id AND cl.label_id = %(label)s)"
)
QUEUE_LIMIT = 200
LIST_LIMIT = 200
MESSAGES_PAGE = 50  # what a conversation opens on
MESSAGES_LIMIT = 200


def queue(
    principal: AttendantPrincipal,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    label: UUID | None = None,
) -> Queue:
    """Conversations waiting for people: highest priority, then longest wait.

    Attendants see the general queue and their team's. A page of at most
    ``limit`` items (the head of the queue first); ``total`` counts all
    (with that ``label``, when given).
    """
    limit = page_limit(limit, default=QUEUE_LIMIT, maximum=QUEUE_LIMIT)
    params: dict[str, Any] = {
        "team": principal.team,
        "limit": limit + 1,
        "label": label,
    }
    # Attendants: the general queue and their team's (none for no team), the
    # same rule may_read applies to opening and claiming.
    waiting = (
        " FROM handoffs h"
        " JOIN conversations v ON v.tenant_id = h.tenant_id"
        "  AND v.id = h.conversation_id AND v.state = 'waiting_human'"
        " JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id"
        " WHERE h.accepted_at IS NULL AND h.resolved_at IS NULL"
        + ("" if principal.oversees else " AND (h.team IS NULL OR h.team = %(team)s)")
        + (_LABELLED if label is not None else "")
    )
    after = ""
    if cursor is not None:
        params["p"], params["at"], params["h"] = decode_cursor(
            cursor, int, datetime, UUID
        )
        after = (
            " AND (h.priority < %(p)s OR (h.priority = %(p)s"
            " AND (h.requested_at, h.id) > (%(at)s, %(h)s)))"
        )
    with tenant_transaction(principal.tenant_id) as conn:
        if label is not None:
            require_label(conn, label)
        rows = conn.execute(
            "SELECT v.id, h.id AS handoff_id, h.reason, h.summary, h.priority,"
            " h.team, h.requested_at, c.display_name, c.phone, c.username,"
            " h.outside_hours"
            + waiting
            + after
            + " ORDER BY h.priority DESC, h.requested_at, h.id LIMIT %(limit)s",
            params,
        ).fetchall()
        counted = conn.execute("SELECT count(*) AS n" + waiting, params).fetchone()
        page, next_cursor = keyset_page(
            rows, limit, lambda r: (r["priority"], r["requested_at"], r["handoff_id"])
        )
        labels = labels_of(conn, [r["id"] for r in page])
    now = datetime.now(UTC)
    items = [
        QueueItem(
            conversation_id=r["id"],
            customer=r["display_name"] or r["username"] or "Cliente",
            phone=masked_phone(r["phone"]),
            reason=r["reason"],
            reason_label=reasons.label(r["reason"]),
            summary=shown_text(r["summary"]),
            priority=r["priority"],
            team=r["team"],
            requested_at=r["requested_at"],
            waiting_s=int((now - r["requested_at"]).total_seconds()),
            labels=labels.get(r["id"], []),
            outside_hours=r["outside_hours"],
        )
        for r in page
    ]
    return Queue(
        queue=items, total=counted["n"] if counted else 0, next_cursor=next_cursor
    )


def list_conversations(
    principal: AttendantPrincipal,
    *,
    scope: str = "mine",
    limit: int | None = None,
    cursor: str | None = None,
    label: UUID | None = None,
) -> Page[ConversationItem]:
    """Conversations with people, latest activity first: one's own, or
    (supervisors) all open ones; only those with ``label``, when given."""
    if scope not in {"mine", "all"}:
        raise InvalidInput("Use scope=mine ou scope=all.")
    if scope == "all":
        principal.require(Role.ADMIN, Role.SUPERVISOR)
    limit = page_limit(limit, default=LIST_LIMIT, maximum=LIST_LIMIT)
    params: dict[str, Any] = {
        "me": principal.attendant_id,
        "limit": limit + 1,
        "label": label,
    }
    condition = (
        "v.state IN ('waiting_human', 'with_human')"
        if scope == "all"
        else "v.state = 'with_human' AND v.assigned_attendant_id = %(me)s"
    )
    if cursor is not None:
        params["at"], params["id"] = decode_cursor(cursor, datetime, UUID)
        condition += " AND (v.last_activity_at, v.id) < (%(at)s, %(id)s)"
    if label is not None:
        condition += _LABELLED
    with tenant_transaction(principal.tenant_id) as conn:
        if label is not None:
            require_label(conn, label)
        rows = conn.execute(
            "SELECT v.id, v.state, v.team, v.last_activity_at, v.last_inbound_at,"
            " v.assigned_attendant_id, a.display_name AS attendant,"
            " c.display_name, c.username"
            " FROM conversations v"
            " JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id"
            " LEFT JOIN attendants a ON a.tenant_id = v.tenant_id"
            "  AND a.id = v.assigned_attendant_id"
            f" WHERE {condition}"
            " ORDER BY v.last_activity_at DESC, v.id DESC LIMIT %(limit)s",
            params,
        ).fetchall()
        page, next_cursor = keyset_page(
            rows, limit, lambda r: (r["last_activity_at"], r["id"])
        )
        labels = labels_of(conn, [r["id"] for r in page])
    return Page(
        [
            ConversationItem(
                conversation_id=r["id"],
                state=State(r["state"]),
                team=r["team"],
                customer=r["display_name"] or r["username"] or "Cliente",
                assigned_attendant_id=r["assigned_attendant_id"],
                attendant=r["attendant"],
                last_activity_at=r["last_activity_at"],
                labels=labels.get(r["id"], []),
            )
            for r in page
        ],
        next_cursor,
    )


def _messages(
    conn: Connection, conversation_id: UUID, *, limit: int, before: str | None
) -> MessagesPage:
    """The ``limit`` messages before the cursor (the latest without one),
    oldest first, and the cursor of the page before them."""
    params: list[Any] = [texts.ONE_TIME_LINKS_HIDDEN, conversation_id]
    older = ""
    if before is not None:
        params += decode_cursor(before, datetime, UUID)
        older = " AND (m.created_at, m.id) < (%s, %s)"
    rows = conn.execute(
        "SELECT m.id, m.direction, m.type, m.status, m.error_code,"
        " CASE WHEN (m.payload->>'secret')::boolean THEN %s ELSE m.body END"
        " AS body,"
        " m.error_title, m.created_at, a.display_name AS attendant,"
        " CASE WHEN m.media_ref IS NOT NULL THEN m.payload->'media' END AS media,"
        " m.payload->'location' AS location"
        " FROM messages m LEFT JOIN attendants a ON a.tenant_id = m.tenant_id"
        "  AND a.id = m.sent_by_attendant_id"
        " WHERE m.conversation_id = %s" + older + " ORDER BY m.created_at DESC,"
        " m.id DESC LIMIT %s",
        (*params, limit + 1),
    ).fetchall()
    page, older_cursor = keyset_page(rows, limit, lambda r: (r["created_at"], r["id"]))
    return MessagesPage(
        messages=[
            MessageView(
                **{
                    **m,
                    "body": shown_text(m["body"]),
                    "media": media_view(m["type"], m["media"]),
                    "location": location_view(m["location"]),
                }
            )
            for m in reversed(page)
        ],
        older_cursor=older_cursor,
    )


ACTIVITY_SHOWN = 100
_ACTIVITY = (
    "HANDOFF_REQUESTED",
    "CONVERSATION_CLAIMED",
    "CONVERSATION_TRANSFERRED",
    "CONVERSATION_RETURNED_TO_BOT",
    "CONVERSATION_CLOSED",
    "CONVERSATION_ASSIGNED",
    "CONVERSATION_REQUEUED",
)


def _activity_text(row: dict[str, Any]) -> str:
    who = row["actor"] or "Equipe"
    details = row["details"] or {}
    action = row["action"]
    if action == "HANDOFF_REQUESTED":
        return f"Encaminhada para atendimento: {reasons.label(details.get('reason'))}"
    if action == "CONVERSATION_CLAIMED":
        return f"{who} assumiu a conversa"
    if action == "CONVERSATION_TRANSFERRED":
        if details.get("to_team"):
            return f"Transferida por {who} para a equipe {details['to_team']}"
        if row["target"] == row["actor"]:  # a supervisor took it over
            held = f" (estava com {row['source']})" if row["source"] else ""
            return f"{who} assumiu o atendimento{held}"
        return f"Transferida por {who} para {row['target'] or 'outro atendente'}"
    if action == "CONVERSATION_ASSIGNED":
        return f"Atribuída automaticamente a {row['target'] or 'um atendente'}"
    if action == "CONVERSATION_REQUEUED":
        source = row["source"] or "O atendente"
        if details.get("why") == "timeout":
            return f"Reatribuída: {source} não respondeu em {details['minutes']} min"
        return f"Reatribuída: {source} ficou offline"
    if action == "CONVERSATION_RETURNED_TO_BOT":
        return f"Devolvida ao bot por {who}"
    return f"Encerrada por {who}"


def _activity(conn: Connection, conversation_id: UUID) -> list[ActivityView]:
    """The conversation's latest moves, from its audit trail, oldest first."""
    rows = conn.execute(
        "SELECT e.id, e.action, e.occurred_at, e.details, a.display_name AS actor,"
        " t.display_name AS target, f.display_name AS source"
        " FROM audit_events e"
        " LEFT JOIN attendants a ON e.actor_type = 'attendant'"
        "  AND a.tenant_id = e.tenant_id AND a.id::text = e.actor_id"
        " LEFT JOIN attendants t ON t.tenant_id = e.tenant_id"
        "  AND t.id::text = e.details->>'to_attendant_id'"
        " LEFT JOIN attendants f ON f.tenant_id = e.tenant_id"
        "  AND f.id::text = e.details->>'from_attendant_id'"
        " WHERE e.subject_type = 'conversation' AND e.subject_id = %s"
        " AND e.action = ANY(%s)"
        " ORDER BY e.occurred_at DESC, e.id DESC LIMIT %s",
        (str(conversation_id), list(_ACTIVITY), ACTIVITY_SHOWN),
    ).fetchall()
    return [
        ActivityView(
            id=f"activity-{r['id']}",
            action=r["action"],
            text=_activity_text(r),
            created_at=r["occurred_at"],
        )
        for r in reversed(rows)
    ]


def _readable(
    conn: Connection, principal: AttendantPrincipal, conversation_id: UUID
) -> dict[str, Any]:
    conv = load(conn, conversation_id)
    if not may_read(principal, conv):
        raise Forbidden("Esta conversa está com outro atendente.")
    return conv


def conversation_messages(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    context: RequestContext,
    *,
    before: str | None = None,
    limit: int | None = None,
) -> MessagesPage:
    """A page of the conversation's messages before ``before`` (audited)."""
    limit = page_limit(limit, default=MESSAGES_PAGE, maximum=MESSAGES_LIMIT)
    with tenant_transaction(principal.tenant_id) as conn:
        conv = _readable(conn, principal, conversation_id)
        page = _messages(conn, conversation_id, limit=limit, before=before)
        details = {"customer_id": str(conv["customer_id"])}
        if before is not None:
            details["page"] = "older"
        audit(
            conn,
            action="CONVERSATION_VIEWED",
            conversation_id=conversation_id,
            context=context,
            details=details,
        )
    return page


def conversation_detail(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    context: RequestContext,
    *,
    limit: int | None = None,
) -> ConversationDetail:
    """The conversation, its customer and its latest messages with delivery
    statuses; ``older_cursor`` pages back (:func:`conversation_messages`)."""
    limit = page_limit(limit, default=MESSAGES_PAGE, maximum=MESSAGES_LIMIT)
    with tenant_transaction(principal.tenant_id) as conn:
        conv = _readable(conn, principal, conversation_id)
        latest = _messages(conn, conversation_id, limit=limit, before=None)
        handoff = conn.execute(
            "SELECT reason, summary, requested_at FROM handoffs"
            " WHERE conversation_id = %s ORDER BY requested_at DESC LIMIT 1",
            (conversation_id,),
        ).fetchone()
        notes = notes_of(conn, conversation_id)
        labels = labels_of(conn, [conversation_id]).get(conversation_id, [])
        activity = _activity(conn, conversation_id)
        audit(
            conn,
            action="CONVERSATION_VIEWED",
            conversation_id=conversation_id,
            context=context,
            details={"customer_id": str(conv["customer_id"])},
        )
    window_ends = (
        conv["last_inbound_at"] + CUSTOMER_WINDOW if conv["last_inbound_at"] else None
    )
    return ConversationDetail(
        conversation_id=conv["id"],
        state=State(conv["state"]),
        team=conv["team"],
        assigned_attendant_id=conv["assigned_attendant_id"],
        attendant=conv["attendant"],
        opened_at=conv["opened_at"],
        closed_at=conv["closed_at"],
        close_reason=conv["close_reason"],
        customer=CustomerView(
            name=conv["display_name"] or conv["username"] or "Cliente",
            phone=conv["phone"],
            username=conv["username"],
            id=conv["customer_id"],
        ),
        protocol=protocol(conv["id"]),
        window_open=bool(window_ends and window_ends > datetime.now(UTC)),
        window_ends_at=window_ends,
        handoff=HandoffView(
            reason=handoff["reason"],
            reason_label=reasons.label(handoff["reason"]),
            summary=shown_text(handoff["summary"]),
            requested_at=handoff["requested_at"],
        )
        if handoff
        else None,
        messages=latest.messages,
        older_cursor=latest.older_cursor,
        notes=notes,
        labels=labels,
        activity=activity,
    )
