"""What attendants do to a conversation: claim, reply, transfer, give back to
the bot, close. Every change goes through the conversations store, is audited,
and, once committed, announced to open consoles (``live.publish``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from atende import live
from atende.audit import RequestContext
from atende.console.access import audit, load, may_read, require_handler
from atende.console.annotations import MAX_NOTE_CHARS
from atende.console.templates import prepare_template
from atende.console.typing_indicator import forget_typing
from atende.console.views import MediaView, MessageView, StateChange
from atende.conversations import assignment, store
from atende.conversations import handoff as handoffs
from atende.conversations.engine import ConversationEngine
from atende.conversations.notices import tell_customer
from atende.conversations.store import State
from atende.db import Connection, tenant_transaction
from atende.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    UnfilledVariable,
    UnknownTeam,
)
from atende.identity import AttendantPrincipal
from atende.whatsapp.graph import GraphClient, ensure_within_window

__all__ = ["claim", "close", "reply", "return_to_bot", "teams", "transfer"]

MAX_REPLY_CHARS = 4096  # WhatsApp's text body limit
_BLANK = re.compile(r"\{\{[^{}]*\}\}")  # a canned response's variable


def claim(
    principal: AttendantPrincipal, conversation_id: UUID, context: RequestContext
) -> StateChange:
    """Take a waiting conversation. Of two attendants at once, one wins.

    Raises:
        Conflict: someone else claimed it first, or it is no longer waiting (409).
        Forbidden: it waits in another team's queue.
    """
    with tenant_transaction(principal.tenant_id) as conn:
        # The row lock serialises concurrent claims; the loser re-reads the
        # state after the winner commits and finds it no longer waiting.
        conv = load(conn, conversation_id, lock=True)
        if conv["state"] != State.WAITING_HUMAN:
            raise Conflict(
                "Esta conversa já foi assumida por outro atendente."
                if conv["state"] == State.WITH_HUMAN
                else "Esta conversa não está mais na fila.",
                state=conv["state"],
            )
        if not may_read(principal, conv):
            raise Forbidden("Esta conversa está na fila de outra equipe.")
        store.assign(conn, conversation_id, principal.attendant_id, keep_team=True)
        audit(
            conn,
            action="CONVERSATION_CLAIMED",
            conversation_id=conversation_id,
            context=context,
        )
    live.publish(principal.tenant_id, "queue.changed", conversation_id=conversation_id)
    return StateChange(conversation_id, State.WITH_HUMAN)


def reply(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    text: str | None,
    template: dict[str, Any] | None,
    engine: ConversationEngine,
    graph_for: Callable[[str], GraphClient],
    context: RequestContext,
) -> MessageView:
    """Send the assignee's reply through WhatsApp and return it with its status.

    Raises:
        InvalidInput: empty or too long text, or a malformed template.
        Forbidden: the conversation is not assigned to this attendant.
        OutsideCustomerWindow: free text more than 24 hours after the
            customer's last message (a template is required).
        TemplateNotFound, TemplateNotApproved, TemplateVariablesMissing: the
            template checked against the tenant's cached list.
    """
    body, payload, type_ = _outbound(
        principal.tenant_id, text, template, graph_for=graph_for
    )
    with tenant_transaction(principal.tenant_id) as conn:
        conv = load(conn, conversation_id, lock=True)
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
        forget_typing(conn, conversation_id)
        audit(
            conn,
            action="ATTENDANT_REPLIED",
            conversation_id=conversation_id,
            context=context,
            details={"message_id": str(message_id), "type": type_},
        )
    return delivered(
        principal, conversation_id, message_id, type_=type_, body=body, engine=engine
    )


def delivered(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    message_id: UUID,
    *,
    type_: str,
    body: str | None,
    engine: ConversationEngine,
    media: MediaView | None = None,
) -> MessageView:
    """Send the conversation's outbox now and return the queued message as the
    console shows it, its status as WhatsApp left it; open consoles are told.

    WhatsApp unavailable: the message stays pending; the sweeper's relay (or
    the conversation's next delivery) sends it.
    """
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
    return MessageView(
        id=message_id,
        direction="outbound",
        type=type_,
        body=body,
        status=row["status"],
        error_code=row["error_code"],
        error_title=row["error_title"],
        created_at=row["created_at"],
        attendant=principal.display_name,
        media=media,
    )


def _outbound(
    tenant_id: UUID,
    text: str | None,
    template: dict[str, Any] | None,
    *,
    graph_for: Callable[[str], GraphClient],
) -> tuple[str, dict[str, Any], str]:
    if template is not None:
        body, payload = prepare_template(tenant_id, template, graph_for=graph_for)
        return body, payload, "template"
    clean = (text or "").strip()
    if not clean:
        raise InvalidInput("Escreva a mensagem antes de enviar.")
    if len(clean) > MAX_REPLY_CHARS:
        raise InvalidInput(f"A mensagem passa de {MAX_REPLY_CHARS} caracteres.")
    # A canned response's blank is never sent as "{{...}}" (the console
    # refuses it too; this holds for every API client).
    if blank := _BLANK.search(clean):
        raise UnfilledVariable(
            f"Preencha {blank.group(0)} antes de enviar: troque pelo valor certo"
            " ou apague."
        )
    return clean, {}, "text"


def teams(principal: AttendantPrincipal) -> list[str]:
    """The tenant's teams (those of its active attendants), by name: where a
    conversation may be transferred."""
    with tenant_transaction(principal.tenant_id) as conn:
        return _teams(conn)


def _teams(conn: Connection) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT team FROM attendants WHERE active AND team IS NOT NULL"
        " ORDER BY team"
    ).fetchall()
    return [r["team"] for r in rows]


def transfer(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    to_attendant_id: UUID | None,
    to_team: str | None,
    engine: ConversationEngine,
    note: str | None = None,
    context: RequestContext,
) -> StateChange:
    """Hand a conversation to another attendant, or to one of the tenant's
    teams' queue, with an optional note the next attendant reads; the
    customer is told.

    The assignee may transfer their own conversation; supervisors and admins
    may reassign anyone's.

    Raises:
        InvalidInput: neither or both targets; an unknown or inactive
            attendant; a note too long.
        UnknownTeam: no active attendant is in that team (a typo would
            park the conversation where nobody looks).
        Forbidden: an attendant moving someone else's conversation.
        Conflict: the conversation is not with people.
    """
    team = (to_team or "").strip() or None
    if (to_attendant_id is None) == (team is None):
        raise InvalidInput("Informe um atendente ou uma equipe para transferir.")
    clean_note = (note or "").strip()
    if len(clean_note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"A nota passa de {MAX_NOTE_CHARS} caracteres.")
    with tenant_transaction(principal.tenant_id) as conn:
        conv = load(conn, conversation_id, lock=True)
        if conv["state"] not in (State.WITH_HUMAN, State.WAITING_HUMAN):
            raise Conflict("Só conversas com atendentes podem ser transferidas.")
        require_handler(principal, conv)
        if to_attendant_id is not None:
            target = conn.execute(
                "SELECT active FROM attendants WHERE id = %s", (to_attendant_id,)
            ).fetchone()
            if target is None or not target["active"]:
                raise InvalidInput("Atendente de destino não encontrado ou inativo.")
            store.assign(conn, conversation_id, to_attendant_id, keep_team=False)
            tell_customer(conn, conversation_id, "transferred_to_person")
            details: dict[str, str | None] = {"to_attendant_id": str(to_attendant_id)}
            if conv["assigned_attendant_id"] is not None:
                details["from_attendant_id"] = str(conv["assigned_attendant_id"])
        else:
            assert team is not None
            if team not in _teams(conn):
                raise UnknownTeam()
            store.requeue(conn, conversation_id, team=team)
            tell_customer(conn, conversation_id, "transferred_to_queue")
            details = {"to_team": team}
        if clean_note:
            details["note_id"] = str(
                _transfer_note(conn, principal, conversation_id, clean_note)
            )
        audit(
            conn,
            action="CONVERSATION_TRANSFERRED",
            conversation_id=conversation_id,
            context=context,
            details=details,
        )
    _announce(principal, conversation_id)
    engine.deliver_outbox(principal.tenant_id, conversation_id)
    state = State.WITH_HUMAN if to_attendant_id else State.WAITING_HUMAN
    if team is not None:
        assignment.offer(principal.tenant_id, conversation_id)
    _freed(principal, conv["assigned_attendant_id"])
    return StateChange(conversation_id, state)


def _transfer_note(
    conn: Connection, principal: AttendantPrincipal, conversation_id: UUID, text: str
) -> UUID:
    row = conn.execute(
        "INSERT INTO conversation_notes (tenant_id, conversation_id, attendant_id,"
        " body) VALUES (current_tenant_id(), %s, %s, %s) RETURNING id",
        (conversation_id, principal.attendant_id, text),
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def _freed(principal: AttendantPrincipal, attendant_id: UUID | None) -> None:
    """The conversation's assignee has room again: what waits goes to them."""
    if attendant_id is not None:
        assignment.fill(principal.tenant_id, attendant_id)


def _announce(principal: AttendantPrincipal, conversation_id: UUID) -> None:
    """After a committed transfer or close, the consoles learn it now; the one
    place where the customer is to be told what happened, too (a return to the
    bot announces itself in ``conversations.handoff.return_to_bot``)."""
    live.publish(principal.tenant_id, "queue.changed", conversation_id=conversation_id)


def return_to_bot(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    engine: ConversationEngine,
    context: RequestContext,
) -> StateChange:
    """Give the conversation back to the bot (the assignee or a supervisor);
    the customer is told."""

    def allowed(conn: Connection) -> None:
        require_handler(principal, load(conn, conversation_id))

    with tenant_transaction(principal.tenant_id) as conn:
        allowed(conn)
        held_by = load(conn, conversation_id)["assigned_attendant_id"]
    handoffs.return_to_bot(
        principal.tenant_id,
        conversation_id,
        context=context,
        bot=engine.bot,
        still_allowed=allowed,
        deliver=engine.deliver_outbox,
    )
    _freed(principal, held_by)
    return StateChange(conversation_id, State.BOT)


def close(
    principal: AttendantPrincipal,
    conversation_id: UUID,
    *,
    reason: str,
    engine: ConversationEngine,
    context: RequestContext,
) -> StateChange:
    """End the conversation with a reason (the assignee or a supervisor).

    The customer is told: a conversation a person handled gets the
    satisfaction survey (which says it was closed), if the customer's 24-hour
    window is still open; otherwise a goodbye.
    """
    clean = (reason or "").strip()
    if not clean or len(clean) > 200:
        raise InvalidInput("Informe o motivo do encerramento (até 200 caracteres).")
    with tenant_transaction(principal.tenant_id) as conn:
        conv = load(conn, conversation_id, lock=True)
        if conv["state"] == State.CLOSED:
            raise Conflict("Esta conversa já foi encerrada.")
        require_handler(principal, conv)
        store.close_conversation(conn, conversation_id, reason=clean)
        surveyed = store.offer_survey(conn, conversation_id, now=datetime.now(UTC))
        if not surveyed:
            tell_customer(conn, conversation_id, "closed")
        audit(
            conn,
            action="CONVERSATION_CLOSED",
            conversation_id=conversation_id,
            context=context,
            details={"survey": "sent" if surveyed else "not_sent"},
        )
    _announce(principal, conversation_id)
    engine.deliver_outbox(principal.tenant_id, conversation_id)
    _freed(principal, conv["assigned_attendant_id"])
    return StateChange(conversation_id, State.CLOSED)
