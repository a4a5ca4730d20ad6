"""Who may see and move a conversation, and the audit of what they did.

- attendants see the queue (their team's and the general one), claim from it,
  and act only on conversations assigned to them;
- supervisors and admins see every conversation and may move any of them
  (reassign, return to the bot, close); replying stays with the assignee;
- what the console shows of a customer's documents follows one rule for
  every role, in the history and in the bot's summary alike: a CPF reads
  ``***.***.***-NN`` (:func:`shown_text`). The full value is in the
  customer's LGPD export, which only admins run.
"""

# The query composes only a fixed column list; values are bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from atende.audit import RequestContext, record_event
from atende.conversations.store import State
from atende.db import Connection
from atende.errors import Forbidden, NotFound
from atende.identity import AttendantPrincipal
from atende.validators import is_valid_cpf, only_digits

__all__ = [
    "audit",
    "load",
    "masked_cpf",
    "masked_phone",
    "may_read",
    "require_handler",
    "shown_text",
]

_CPF = re.compile(r"(?<![\w.-])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\w])")


def masked_phone(phone: str | None) -> str | None:
    return f"•••• {phone[-4:]}" if phone and len(phone) >= 4 else None


def masked_cpf(cpf: str) -> str:
    return f"***.***.***-{only_digits(cpf)[-2:]}"


def shown_text(text: str | None) -> str | None:
    """``text`` as the console shows it: valid CPFs masked (order numbers and
    phones of the same length, whose check digits fail, stay readable)."""
    if not text:
        return text
    return _CPF.sub(
        lambda m: masked_cpf(m.group(0)) if is_valid_cpf(m.group(0)) else m.group(0),
        text,
    )


def load(
    conn: Connection, conversation_id: UUID, *, lock: bool = False
) -> dict[str, Any]:
    """The conversation with its customer and assignee (locked for a change)."""
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


def may_read(principal: AttendantPrincipal, conv: Mapping[str, Any]) -> bool:
    if principal.oversees or conv["assigned_attendant_id"] == principal.attendant_id:
        return True
    # Attendants may look at a conversation in their queue before claiming it.
    return conv["state"] == State.WAITING_HUMAN and (
        conv["team"] is None or conv["team"] == principal.team
    )


def require_handler(principal: AttendantPrincipal, conv: Mapping[str, Any]) -> None:
    """The assignee, or a supervisor/admin, may move a conversation."""
    if (
        not principal.oversees
        and conv["assigned_attendant_id"] != principal.attendant_id
    ):
        raise Forbidden("Esta conversa está com outro atendente.")


def audit(
    conn: Connection,
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
        context=context,
        details=details,
    )
