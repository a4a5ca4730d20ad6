"""What attendants read: the queue, their conversations, one conversation.

Reading a conversation is an access to personal data: it is audited with the
attendant, the request id and the IP.
"""

# Queries below compose only fixed column lists and conditions; values are
# always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from atende.audit import RequestContext
from atende.console.access import audit, load, masked_phone, may_read
from atende.console.views import (
    ConversationDetail,
    ConversationItem,
    CustomerView,
    HandoffView,
    MessageView,
    Queue,
    QueueItem,
)
from atende.conversations import messages_ptbr as texts
from atende.conversations.store import State
from atende.db import tenant_transaction
from atende.errors import Forbidden, InvalidInput
from atende.identity import AttendantPrincipal, Role
from atende.whatsapp.graph import CUSTOMER_WINDOW

__all__ = ["QUEUE_LIMIT", "conversation_detail", "list_conversations", "queue"]

QUEUE_LIMIT = 200


def queue(principal: AttendantPrincipal, *, limit: int = QUEUE_LIMIT) -> Queue:
    """Conversations waiting for people: highest priority, then longest wait.

    Attendants see the general queue and their team's. At most
    ``limit`` items come back (the head of the queue); ``total`` counts all.
    """
    # Attendants: the general queue and their team's (none for no team), the
    # same rule may_read applies to opening and claiming.
    team_filter = (
        "" if principal.oversees else " AND (h.team IS NULL OR h.team = %(team)s)"
    )
    with tenant_transaction(principal.tenant_id) as conn:
        rows = conn.execute(
            "SELECT v.id, h.reason, h.summary, h.priority, h.team, h.requested_at,"
            " c.display_name, c.phone, c.username, count(*) OVER () AS total"
            " FROM handoffs h"
            " JOIN conversations v ON v.tenant_id = h.tenant_id"
            "  AND v.id = h.conversation_id AND v.state = 'waiting_human'"
            " JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id"
            " WHERE h.accepted_at IS NULL AND h.resolved_at IS NULL"
            + team_filter
            + " ORDER BY h.priority DESC, h.requested_at LIMIT %(limit)s",
            {"team": principal.team, "limit": max(1, min(limit, QUEUE_LIMIT))},
        ).fetchall()
    now = datetime.now(UTC)
    items = [
        QueueItem(
            conversation_id=r["id"],
            customer=r["display_name"] or r["username"] or "Cliente",
            phone=masked_phone(r["phone"]),
            reason=r["reason"],
            summary=r["summary"],
            priority=r["priority"],
            team=r["team"],
            requested_at=r["requested_at"],
            waiting_s=int((now - r["requested_at"]).total_seconds()),
        )
        for r in rows
    ]
    return Queue(queue=items, total=rows[0]["total"] if rows else 0)


def list_conversations(
    principal: AttendantPrincipal, *, scope: str = "mine"
) -> list[ConversationItem]:
    """Conversations with people: one's own, or (supervisors) all open ones."""
    if scope not in {"mine", "all"}:
        raise InvalidInput("Use scope=mine ou scope=all.")
    if scope == "all":
        principal.require(Role.ADMIN, Role.SUPERVISOR)
    condition = (
        "v.state IN ('waiting_human', 'with_human')"
        if scope == "all"
        else "v.state = 'with_human' AND v.assigned_attendant_id = %(me)s"
    )
    with tenant_transaction(principal.tenant_id) as conn:
        rows = conn.execute(
            "SELECT v.id, v.state, v.team, v.last_activity_at, v.last_inbound_at,"
            " v.assigned_attendant_id, a.display_name AS attendant,"
            " c.display_name, c.username"
            " FROM conversations v"
            " JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id"
            " LEFT JOIN attendants a ON a.tenant_id = v.tenant_id"
            "  AND a.id = v.assigned_attendant_id"
            f" WHERE {condition} ORDER BY v.last_activity_at DESC LIMIT 500",
            {"me": principal.attendant_id},
        ).fetchall()
    return [
        ConversationItem(
            conversation_id=r["id"],
            state=State(r["state"]),
            team=r["team"],
            customer=r["display_name"] or r["username"] or "Cliente",
            assigned_attendant_id=r["assigned_attendant_id"],
            attendant=r["attendant"],
            last_activity_at=r["last_activity_at"],
        )
        for r in rows
    ]


def conversation_detail(
    principal: AttendantPrincipal, conversation_id: UUID, context: RequestContext
) -> ConversationDetail:
    """The conversation, its customer and its messages with delivery statuses."""
    with tenant_transaction(principal.tenant_id) as conn:
        conv = load(conn, conversation_id)
        if not may_read(principal, conv):
            raise Forbidden("Esta conversa está com outro atendente.")
        messages = conn.execute(
            "SELECT m.id, m.direction, m.type, m.status, m.error_code,"
            " CASE WHEN (m.payload->>'secret')::boolean THEN %s ELSE m.body END"
            " AS body,"
            " m.error_title, m.created_at, a.display_name AS attendant"
            " FROM messages m LEFT JOIN attendants a ON a.tenant_id = m.tenant_id"
            "  AND a.id = m.sent_by_attendant_id"
            " WHERE m.conversation_id = %s ORDER BY m.created_at, m.id",
            (texts.ONE_TIME_LINKS_HIDDEN, conversation_id),
        ).fetchall()
        handoff = conn.execute(
            "SELECT reason, summary, requested_at FROM handoffs"
            " WHERE conversation_id = %s ORDER BY requested_at DESC LIMIT 1",
            (conversation_id,),
        ).fetchone()
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
        ),
        window_open=bool(window_ends and window_ends > datetime.now(UTC)),
        window_ends_at=window_ends,
        handoff=HandoffView(
            reason=handoff["reason"],
            summary=handoff["summary"],
            requested_at=handoff["requested_at"],
        )
        if handoff
        else None,
        messages=[MessageView(**m) for m in messages],
    )
