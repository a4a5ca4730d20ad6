"""CSAT: the survey sent when a person's conversation closes, and its answers.

The rating is a WhatsApp list (1-5) whose rows carry ``csat:<survey>:<score>``;
a text the customer sends within :data:`COMMENT_WINDOW` of rating is the
optional comment. Both are recorded in the closed conversation they rate, so
they never reach the bot or open a new conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from atende.conversations.store.outbox import enqueue_outbound
from atende.db import Connection

__all__ = [
    "COMMENT_WINDOW",
    "MAX_COMMENT_CHARS",
    "SURVEY_ROWS",
    "SurveyAnswer",
    "answer_survey",
    "offer_survey",
]

# Meta's free-form window: the survey is never sent outside it.
CUSTOMER_WINDOW = timedelta(hours=24)
# Leave the outbox time to send it (and retry once) before the window ends.
SEND_MARGIN = timedelta(minutes=5)
COMMENT_WINDOW = timedelta(minutes=10)
MAX_COMMENT_CHARS = 1000

SURVEY_TEXT = (
    "Seu atendimento foi encerrado. Como você avalia o atendimento que recebeu?"
)
# Closed for inactivity: why, and the rating, in one message.
SURVEY_AFTER_INACTIVITY = (
    "Como não tivemos resposta, encerramos este atendimento. Como você avalia o"
    " atendimento que recebeu?"
)
SURVEY_BUTTON = "Avaliar"
SURVEY_ROWS = (
    (5, "5 - Excelente"),
    (4, "4 - Bom"),
    (3, "3 - Regular"),
    (2, "2 - Ruim"),
    (1, "1 - Péssimo"),
)
THANKS_ASK_COMMENT = (
    "Obrigado pela avaliação! Se quiser, escreva em seguida um comentário sobre"
    " o atendimento (opcional)."
)
THANKS_FOR_COMMENT = "Comentário registrado. Obrigado!"

_ROW_ID = re.compile(r"csat:([0-9a-f-]{36}):([1-5])")


def offer_survey(
    conn: Connection,
    conversation_id: UUID,
    *,
    now: datetime,
    text: str = SURVEY_TEXT,
) -> bool:
    """Queue the rating survey for a just-closed conversation a person handled.

    ``text`` is the list's body (the default says the conversation was closed).

    Only inside the customer's 24-hour window (with room to send it); the
    outbox checks the window again when it sends. Returns whether it was queued.
    """
    row = conn.execute(
        "SELECT v.customer_id, v.assigned_attendant_id, v.team, v.phone_number_id,"
        " v.last_inbound_at FROM conversations v WHERE v.id = %s"
        " AND v.state = 'closed' AND v.assigned_attendant_id IS NOT NULL",
        (conversation_id,),
    ).fetchone()
    if row is None or row["last_inbound_at"] is None:
        return False
    expires_at = row["last_inbound_at"] + CUSTOMER_WINDOW
    if expires_at - SEND_MARGIN <= now:
        return False
    inserted = conn.execute(
        "INSERT INTO satisfaction_surveys (tenant_id, conversation_id, customer_id,"
        " attendant_id, team, entry_point, sent_at, expires_at)"
        " VALUES (current_tenant_id(), %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, conversation_id) DO NOTHING RETURNING id",
        (
            conversation_id,
            row["customer_id"],
            row["assigned_attendant_id"],
            row["team"],
            row["phone_number_id"],
            now,
            expires_at,
        ),
    ).fetchone()
    if inserted is None:
        return False
    enqueue_outbound(
        conn,
        conversation_id=conversation_id,
        body=text,
        type_="interactive",
        payload={
            "list": {
                "button": SURVEY_BUTTON,
                "rows": [
                    [f"csat:{inserted['id']}:{score}", title]
                    for score, title in SURVEY_ROWS
                ],
            }
        },
    )
    return True


@dataclass(frozen=True)
class SurveyAnswer:
    """An inbound message that answered a survey: recorded in that conversation."""

    conversation_id: UUID
    kind: str  # "rating" or "comment"


def answer_survey(
    conn: Connection,
    *,
    customer_id: UUID,
    reply_id: str | None,
    text: str | None,
    at: datetime,
) -> SurveyAnswer | None:
    """Take a rating (a survey row's id) or a comment (text soon after rating).

    Returns None when the message is not an answer (the bot handles it). A
    second rating of the same survey is kept as a message but changes nothing.
    """
    found = _ROW_ID.fullmatch(reply_id or "")
    if found is not None:
        survey = conn.execute(
            "SELECT id, conversation_id, score FROM satisfaction_surveys"
            " WHERE id = %s AND customer_id = %s AND expires_at > %s FOR UPDATE",
            (found.group(1), customer_id, at),
        ).fetchone()
        if survey is None:
            return None
        if survey["score"] is None:
            conn.execute(
                "UPDATE satisfaction_surveys SET score = %s, rated_at = %s"
                " WHERE id = %s",
                (int(found.group(2)), at, survey["id"]),
            )
            enqueue_outbound(
                conn,
                conversation_id=survey["conversation_id"],
                body=THANKS_ASK_COMMENT,
            )
        return SurveyAnswer(survey["conversation_id"], "rating")
    clean = (text or "").strip()
    if not clean:
        return None
    # A comment only right after the rating, and only while the customer has
    # not started a new conversation (then it is a new question for the bot).
    survey = conn.execute(
        "SELECT s.id, s.conversation_id FROM satisfaction_surveys s"
        " WHERE s.customer_id = %s AND s.rated_at > %s AND s.comment IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM conversations v WHERE"
        "  v.customer_id = s.customer_id AND v.state <> 'closed')"
        " ORDER BY s.rated_at DESC LIMIT 1 FOR UPDATE OF s",
        (customer_id, at - COMMENT_WINDOW),
    ).fetchone()
    if survey is None:
        return None
    conn.execute(
        "UPDATE satisfaction_surveys SET comment = %s, commented_at = %s WHERE id = %s",
        (clean[:MAX_COMMENT_CHARS], at, survey["id"]),
    )
    enqueue_outbound(
        conn, conversation_id=survey["conversation_id"], body=THANKS_FOR_COMMENT
    )
    return SurveyAnswer(survey["conversation_id"], "comment")
