"""What the customer hears while people have their conversation.

The bot's ``action_aguardando`` answers every message of a conversation
waiting for (or held by) a person, except LGPD requests and consent answers,
which are answered in any state. It must not repeat itself on every message:

- waiting: once, then again after :data:`ACK_INTERVAL`, or sooner when the
  queue moved on meaningfully (the position at most half the last one told:
  4 → 2, 2 → 1);
- with a person: only when that person hasn't written for
  :data:`ACK_INTERVAL` and nothing was said for as long;
- asking for a person again is always answered ("você já está na fila…");
- waiting while the tenant is closed (business hours): the out-of-office
  text (when a person will answer) instead of "já já", on the same rhythm.

The queue position is what the customer is told; an expected wait isn't
(attendants' pace varies too much for a number we could keep).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from atende.conversations import messages_ptbr as texts
from atende.conversations import store
from atende.conversations.store import State
from atende.db import Connection
from atende.tenancy.hours import closed_notice

__all__ = ["ACK_INTERVAL", "Acknowledgement", "acknowledgement"]

ACK_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class Acknowledgement:
    text: str
    # The queue position told (None with a person): the next call's ``last_position``.
    position: int | None


def acknowledgement(
    conn: Connection,
    conversation_id: UUID,
    *,
    asked_for_person: bool,
    last_at: datetime | None,
    last_position: int | None,
    now: datetime,
) -> Acknowledgement | None:
    """What to tell the customer about their message now; None for nothing.

    ``last_at``/``last_position``: when the last acknowledgement was sent in
    this handoff and the position it told (None: none yet).
    """
    state = store.get_conversation(conn, conversation_id).state
    quiet = last_at is not None and now - last_at < ACK_INTERVAL
    if state is State.WAITING_HUMAN:
        position = store.queue_position(conn, conversation_id) or 1
        closed = closed_notice(conn, now)
        if asked_for_person:
            return Acknowledgement(
                closed or _queue_text(position, again=True), position
            )
        moved_on = last_position is not None and position * 2 <= last_position
        if quiet and not moved_on:
            return None
        return Acknowledgement(closed or _queue_text(position, again=False), position)
    if state is State.WITH_HUMAN:
        if asked_for_person:
            return Acknowledgement(texts.ALREADY_WITH_PERSON, None)
        replied_at = store.last_attendant_reply_at(conn, conversation_id)
        if quiet or (replied_at is not None and now - replied_at < ACK_INTERVAL):
            return None
        return Acknowledgement(texts.WITH_PERSON, None)
    return None


def _queue_text(position: int, *, again: bool) -> str:
    if position <= 1:
        return texts.ALREADY_IN_QUEUE_NEXT if again else texts.WAITING_NEXT
    template = texts.ALREADY_IN_QUEUE_AT if again else texts.WAITING_AT
    return template.format(position=position)
