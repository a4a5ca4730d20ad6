"""The attendant console's use cases: queue, claim, read, reply, transfer, close.

Who may do what:

- attendants see the queue (their team's and the general one), claim from it,
  and act only on conversations assigned to them;
- supervisors and admins see every conversation and may move any of them
  (reassign, return to the bot, close); replying stays with the assignee.

Reading a conversation is an access to personal data: it is audited with the
attendant, the request id and the IP. Every change is audited and, once
committed, announced to open consoles (``live.publish``).
"""

# Queries below compose only fixed column lists and conditions; values are
# always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from atende import live
from atende.audit import record_event
from atende.conversations import handoff as handoffs
from atende.conversations import messages_ptbr as texts
from atende.conversations import store
from atende.conversations.engine import ConversationEngine
from atende.conversations.store import State
from atende.db import Connection, tenant_transaction
from atende.errors import Conflict, Forbidden, InvalidInput, NotFound
from atende.identity import AttendantPrincipal, Role
from atende.whatsapp.graph import CUSTOMER_WINDOW, check_template, ensure_within_window

__all__ = [
    "RequestContext",
    "claim",
    "close",
    "conversation_detail",
    "list_conversations",
    "queue",
    "reply",
    "return_to_bot",
    "transfer",
]

MAX_REPLY_CHARS = 4096  # WhatsApp's text body limit
MAX_TEMPLATE_COMPONENTS = 10  # header, body, footer and up to 7 buttons
QUEUE_LIMIT = 200


@dataclass(frozen=True)
class RequestContext:
    """Where an action came from, for the audit trail."""

    request_id: str | None = None
    ip: str | None = None


def _masked_phone(phone: str | None) -> str | None:
    return f"•••• {phone[-4:]}" if phone and len(phone) >= 4 else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _audit(
    conn: Connection,
    principal: AttendantPrincipal,
    *,
    action: str,
    conversation_id: UUID,
    context: RequestContext,
    details: Mapping[str, str | None] | None = None,
) -> None:
    """An attendant's action on a conversation, with where it came from."""
    record_event(
        conn,
        action=action,
        subject_type="conversation",
        subject_id=str(conversation_id),
        actor=principal.actor,
        request_id=context.request_id,
        ip=context.ip,
        details=details,
    )


# -- reading --------------------------------------------------------------------


def queue(principal: AttendantPrincipal, *, limit: int = QUEUE_LIMIT) -> dict[str, Any]:
    """Conversations waiting for people: highest priority, then longest wait.

    Attendants see the general queue and their team's. At most
    ``limit`` items come back (the head of the queue); ``total`` counts all.
    """
    # Attendants: the general queue and their team's (none for no team), the
    # same rule _may_read applies to opening and claiming.
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
        {
            "conversation_id": str(r["id"]),
            "customer": r["display_name"] or r["username"] or "Cliente",
            "phone": _masked_phone(r["phone"]),
            "reason": r["reason"],
            "summary": r["summary"],
            "priority": r["priority"],
            "team": r["team"],
            "requested_at": _iso(r["requested_at"]),
            "waiting_s": int((now - r["requested_at"]).total_seconds()),
        }
        for r in rows
    ]
    return {"queue": items, "total": rows[0]["total"] if rows else 0}


def list_conversations(
    principal: AttendantPrincipal, *, scope: str = "mine"
) -> list[dict[str, Any]]:
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
        {
            "conversation_id": str(r["id"]),
            "state": r["state"],
            "team": r["team"],
            "customer": r["display_name"] or r["username"] or "Cliente",
            "assigned_attendant_id": str(r["assigned_attendant_id"])
            if r["assigned_attendant_id"]
            else None,
            "attendant": r["attendant"],
            "last_activity_at": _iso(r["last_activity_at"]),
        }
        for r in rows
    ]


def _load(
    conn: Connection, conversation_id: UUID, *, lock: bool = False
) -> dict[str, Any]:
    row = conn.execute(
        "SELECT v.id, v.state, v.team, v.assigned_attendant_id, v.last_inbound_at,"
        " v.opened_at, v.closed_at, v.close_reason, a.display_name AS attendant,"
        " c.id AS customer_id, c.display_name, c.phone, c.username"
        " FROM conversations v"
        " JOIN customers c ON c.tenant_id = v.tenant_id AND c.id = v.customer_id"
        " LEFT JOIN attendants a ON a.tenant_id = v.tenant_id"
        "  AND a.id = v.assigned_attendant_id"
        " WHERE v.id = %s" + (" FOR UPDATE OF v" if lock else ""),
        (conversation_id,),
    ).fetchone()
    if row is None:
        raise NotFound("Conversa não encontrada.")
    return dict(row)


def _may_read(principal: AttendantPrincipal, conv: dict[str, Any]) -> bool:
    if principal.oversees or conv["assigned_attendant_id"] == principal.attendant_id:
        return True
    # Attendants may look at a conversation in their queue before claiming it.
    return conv["state"] == State.WAITING_HUMAN and (
        conv["team"] is None or conv["team"] == principal.team
    )


def _require_handler(principal: AttendantPrincipal, conv: dict[str, Any]) -> None:
    """The assignee, or a supervisor/admin, may move a conversation."""
    if (
        not principal.oversees
        and conv["assigned_attendant_id"] != principal.attendant_id
    ):
        raise Forbidden("Esta conversa está com outro atendente.")


def conversation_detail(
    principal: AttendantPrincipal, conversation_id: UUID, context: RequestContext
) -> dict[str, Any]:
    """The conversation, its customer and its messages with delivery statuses."""
    with tenant_transaction(principal.tenant_id) as conn:
        conv = _load(conn, conversation_id)
        if not _may_read(principal, conv):
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
        _audit(
            conn,
            principal,
            action="CONVERSATION_VIEWED",
            conversation_id=conversation_id,
            context=context,
            details={"customer_id": str(conv["customer_id"])},
        )
    window_ends = (
        conv["last_inbound_at"] + CUSTOMER_WINDOW if conv["last_inbound_at"] else None
    )
    return {
        "conversation_id": str(conv["id"]),
        "state": conv["state"],
        "team": conv["team"],
        "assigned_attendant_id": str(conv["assigned_attendant_id"])
        if conv["assigned_attendant_id"]
        else None,
        "attendant": conv["attendant"],
        "opened_at": _iso(conv["opened_at"]),
        "closed_at": _iso(conv["closed_at"]),
        "close_reason": conv["close_reason"],
        "customer": {
            "name": conv["display_name"] or conv["username"] or "Cliente",
            "phone": conv["phone"],
            "username": conv["username"],
        },
        "window_open": bool(window_ends and window_ends > datetime.now(UTC)),
        "window_ends_at": _iso(window_ends),
        "handoff": {
            "reason": handoff["reason"],
            "summary": handoff["summary"],
            "requested_at": _iso(handoff["requested_at"]),
        }
        if handoff
        else None,
        "messages": [
            {
                "id": str(m["id"]),
                "direction": m["direction"],
                "type": m["type"],
                "body": m["body"],
                "status": m["status"],
                "error_code": m["error_code"],
                "error_title": m["error_title"],
                "created_at": _iso(m["created_at"]),
                "attendant": m["attendant"],
            }
            for m in messages
        ],
    }


# -- acting -----------------------------------------------------------------------


def claim(
    principal: AttendantPrincipal, conversation_id: UUID, context: RequestContext
) -> dict[str, Any]:
    """Take a waiting conversation. Of two attendants at once, one wins.

    Raises:
        Conflict: someone else claimed it first, or it is no longer waiting (409).
        Forbidden: it waits in another team's queue.
    """
    with tenant_transaction(principal.tenant_id) as conn:
        # The row lock serialises concurrent claims; the loser re-reads the
        # state after the winner commits and finds it no longer waiting.
        conv = _load(conn, conversation_id, lock=True)
        if conv["state"] != State.WAITING_HUMAN:
            raise Conflict(
                "Esta conversa já foi assumida por outro atendente."
                if conv["state"] == State.WITH_HUMAN
                else "Esta conversa não está mais na fila.",
                state=conv["state"],
            )
        if not _may_read(principal, conv):
            raise Forbidden("Esta conversa está na fila de outra equipe.")
        store.transition(conn, conversation_id, State.WITH_HUMAN)
        conn.execute(
            "UPDATE conversations SET assigned_attendant_id = %s WHERE id = %s",
            (principal.attendant_id, conversation_id),
        )
        conn.execute(
            "UPDATE handoffs SET accepted_by = %s, accepted_at = now()"
            " WHERE conversation_id = %s AND accepted_at IS NULL"
            " AND resolved_at IS NULL",
            (principal.attendant_id, conversation_id),
        )
        _audit(
            conn,
            principal,
            action="CONVERSATION_CLAIMED",
            conversation_id=conversation_id,
            context=context,
        )
    live.publish(principal.tenant_id, "queue.changed", conversation_id=conversation_id)
    return {"conversation_id": str(conversation_id), "state": State.WITH_HUMAN.value}


def reply(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    text: str | None,
    template: dict[str, Any] | None,
    engine: ConversationEngine,
    context: RequestContext,
) -> dict[str, Any]:
    """Send the assignee's reply through WhatsApp and return it with its status.

    Raises:
        InvalidInput: empty or too long text, or a malformed template.
        Forbidden: the conversation is not assigned to this attendant.
        OutsideCustomerWindow: free text more than 24 hours after the
            customer's last message (a template is required).
    """
    body, payload, type_ = _outbound(text, template)
    with tenant_transaction(principal.tenant_id) as conn:
        conv = _load(conn, conversation_id, lock=True)
        if conv["state"] != State.WITH_HUMAN or (
            conv["assigned_attendant_id"] != principal.attendant_id
        ):
            raise Forbidden("Assuma a conversa antes de responder.")
        ensure_within_window(type_, conv["last_inbound_at"], datetime.now(UTC))
        message_id = store.enqueue_outbound(
            conn,
            conversation_id=conversation_id,
            body=body,
            payload=payload,
            type_=type_,
            attendant_id=principal.attendant_id,
        )
        _audit(
            conn,
            principal,
            action="ATTENDANT_REPLIED",
            conversation_id=conversation_id,
            context=context,
            details={"message_id": str(message_id), "type": type_},
        )
    # WhatsApp unavailable: the reply stays pending; the sweeper's relay (or
    # the conversation's next delivery) sends it.
    engine.deliver_outbox(principal.tenant_id, conversation_id)
    with tenant_transaction(principal.tenant_id) as conn:
        row = conn.execute(
            "SELECT status, error_code, error_title, created_at FROM messages"
            " WHERE id = %s",
            (message_id,),
        ).fetchone()
    assert row is not None
    live.publish(
        principal.tenant_id, "conversation.updated", conversation_id=conversation_id
    )
    return {
        "id": str(message_id),
        "direction": "outbound",
        "type": type_,
        "body": body,
        "status": row["status"],
        "error_code": row["error_code"],
        "error_title": row["error_title"],
        "created_at": _iso(row["created_at"]),
        "attendant": principal.display_name,
    }


def _outbound(
    text: str | None, template: dict[str, Any] | None
) -> tuple[str, dict[str, Any], str]:
    if template is not None:
        if not isinstance(template, dict):
            raise InvalidInput("O modelo (template) deve ser um objeto.")
        name = str(template.get("name") or "")
        language = str(template.get("language") or "pt_BR")
        components = template.get("components") or []
        if (
            not isinstance(components, list)
            or len(components) > MAX_TEMPLATE_COMPONENTS
            or not all(isinstance(c, dict) for c in components)
        ):
            raise InvalidInput(
                "Os componentes do modelo devem ser uma lista de objetos"
                f" (no máximo {MAX_TEMPLATE_COMPONENTS})."
            )
        check_template(name, language)
        spec = {"name": name, "language": language, "components": components}
        return f"[modelo: {name}]", {"template": spec}, "template"
    clean = (text or "").strip()
    if not clean:
        raise InvalidInput("Escreva a mensagem antes de enviar.")
    if len(clean) > MAX_REPLY_CHARS:
        raise InvalidInput(f"A mensagem passa de {MAX_REPLY_CHARS} caracteres.")
    return clean, {}, "text"


def transfer(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    to_attendant_id: UUID | None,
    to_team: str | None,
    context: RequestContext,
) -> dict[str, Any]:
    """Hand a conversation to another attendant, or back to a team's queue.

    The assignee may transfer their own conversation; supervisors and admins
    may reassign anyone's.

    Raises:
        InvalidInput: neither or both targets; an unknown or inactive attendant.
        Forbidden: an attendant moving someone else's conversation.
        Conflict: the conversation is not with people.
    """
    team = (to_team or "").strip() or None
    if (to_attendant_id is None) == (team is None):
        raise InvalidInput("Informe um atendente ou uma equipe para transferir.")
    with tenant_transaction(principal.tenant_id) as conn:
        conv = _load(conn, conversation_id, lock=True)
        if conv["state"] not in (State.WITH_HUMAN, State.WAITING_HUMAN):
            raise Conflict("Só conversas com atendentes podem ser transferidas.")
        _require_handler(principal, conv)
        if to_attendant_id is not None:
            target = conn.execute(
                "SELECT active FROM attendants WHERE id = %s", (to_attendant_id,)
            ).fetchone()
            if target is None or not target["active"]:
                raise InvalidInput("Atendente de destino não encontrado ou inativo.")
            if conv["state"] == State.WAITING_HUMAN:
                store.transition(conn, conversation_id, State.WITH_HUMAN)
            conn.execute(
                "UPDATE conversations SET assigned_attendant_id = %s, team = NULL,"
                " last_activity_at = now() WHERE id = %s",
                (to_attendant_id, conversation_id),
            )
            conn.execute(
                "UPDATE handoffs SET accepted_by = %s,"
                " accepted_at = coalesce(accepted_at, now())"
                " WHERE conversation_id = %s AND resolved_at IS NULL",
                (to_attendant_id, conversation_id),
            )
            details: dict[str, str | None] = {"to_attendant_id": str(to_attendant_id)}
        else:
            summaries = store.resolve_handoffs(
                conn, conversation_id, outcome="transferred"
            )
            if conv["state"] == State.WAITING_HUMAN:
                store.transition(conn, conversation_id, State.WITH_HUMAN)
            store.request_handoff(
                conn,
                conversation_id,
                reason="transferencia",
                summary=summaries[-1] if summaries else None,
                team=team,
            )
            details = {"to_team": team}
        _audit(
            conn,
            principal,
            action="CONVERSATION_TRANSFERRED",
            conversation_id=conversation_id,
            context=context,
            details=details,
        )
    live.publish(principal.tenant_id, "queue.changed", conversation_id=conversation_id)
    state = State.WITH_HUMAN if to_attendant_id else State.WAITING_HUMAN
    return {"conversation_id": str(conversation_id), "state": state.value}


def return_to_bot(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    bot: handoffs.BotResumer,
    context: RequestContext,
) -> dict[str, Any]:
    """Give the conversation back to the bot (the assignee or a supervisor)."""

    def allowed(conn: Connection) -> None:
        _require_handler(principal, _load(conn, conversation_id))

    with tenant_transaction(principal.tenant_id) as conn:
        allowed(conn)
    handoffs.return_to_bot(
        principal.tenant_id,
        conversation_id,
        actor=principal.actor,
        bot=bot,
        request_id=context.request_id,
        ip=context.ip,
        still_allowed=allowed,
    )
    return {"conversation_id": str(conversation_id), "state": State.BOT.value}


def close(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    reason: str,
    context: RequestContext,
) -> dict[str, Any]:
    """End the conversation with a reason (the assignee or a supervisor)."""
    clean = (reason or "").strip()
    if not clean or len(clean) > 200:
        raise InvalidInput("Informe o motivo do encerramento (até 200 caracteres).")
    with tenant_transaction(principal.tenant_id) as conn:
        conv = _load(conn, conversation_id, lock=True)
        if conv["state"] == State.CLOSED:
            raise Conflict("Esta conversa já foi encerrada.")
        _require_handler(principal, conv)
        store.close_conversation(conn, conversation_id, reason=clean)
        _audit(
            conn,
            principal,
            action="CONVERSATION_CLOSED",
            conversation_id=conversation_id,
            context=context,
        )
    live.publish(principal.tenant_id, "queue.changed", conversation_id=conversation_id)
    return {"conversation_id": str(conversation_id), "state": State.CLOSED.value}
