"""CSAT through the real path: the console closes a conversation a person
handled, the survey goes out as a WhatsApp list, the customer's pick and
comment come back through the webhook and the real worker, and the reports
show them. Real PostgreSQL, moto, the Graph API stand-in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from atende import db, reports, tenancy
from atende.conversations.handoff import handoff_to_human
from atende.reports import ReportQuery
from tests.support.channel import (
    Channel,
    as_list_reply,
    drain,
    post_webhook,
    signed,
    text_update,
)
from tests.support.identity import IdentityPool, call_api

pytestmark = pytest.mark.integration

MARIA = "BR.1502576394655843"


def _says(ch: Channel, text: str, wamid: str, user: str = MARIA) -> None:
    post_webhook(*signed(text_update(text, wamid=wamid, user_id=user)))
    drain(ch)


def _picks(ch: Channel, row_id: str, title: str, wamid: str, user: str = MARIA) -> None:
    payload = as_list_reply(text_update("x", wamid=wamid, user_id=user), row_id, title)
    post_webhook(*signed(payload))
    drain(ch)


def _handled(ch: Channel, pool: IdentityPool, user: str = MARIA) -> tuple[UUID, Any]:
    """A customer hands off, Ana claims and answers."""
    _says(ch, "quero falar com um atendente", f"wamid.H{user}", user)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT v.id FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.wa_user_id = %s AND v.state <> 'closed'",
            (user,),
        ).fetchone()
    assert row is not None
    conversation_id = UUID(str(row["id"]))
    assert handoff_to_human(ch.tenant_id, conversation_id, reason="x", summary=None)
    ana = pool.attendant(ch.tenant_id)
    path = f"/v1/console/conversations/{conversation_id}"
    assert call_api("post", f"{path}/claim", ana)[0] == 200
    assert call_api("post", f"{path}/messages", ana, {"text": "Resolvido!"})[0] == 201
    return conversation_id, ana


def _survey(ch: Channel, conversation_id: UUID) -> dict[str, Any] | None:
    with db.tenant_transaction(ch.tenant_id) as conn:
        return conn.execute(
            "SELECT * FROM satisfaction_surveys WHERE conversation_id = %s",
            (conversation_id,),
        ).fetchone()


def test_a_closed_conversation_is_rated_and_commented_through_whatsapp(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _handled(channel, identity_pool)
    path = f"/v1/console/conversations/{conversation_id}"
    status, _ = call_api("post", f"{path}/close", ana, {"reason": "Resolvido"})
    assert status == 200

    survey_sent = channel.sent()[-1]
    assert survey_sent["type"] == "interactive"
    assert survey_sent["interactive"]["type"] == "list"
    rows = survey_sent["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == [
        "5 - Excelente",
        "4 - Bom",
        "3 - Regular",
        "2 - Ruim",
        "1 - Péssimo",
    ]
    survey = _survey(channel, conversation_id)
    assert survey is not None
    assert (survey["attendant_id"], survey["score"]) == (ana.attendant_id, None)

    rasa_turns = len(channel.rasa.calls)
    _picks(channel, rows[1]["id"], rows[1]["title"], "wamid.CSAT1")
    survey = _survey(channel, conversation_id)
    assert survey is not None and survey["score"] == 4
    assert channel.sent()[-1]["text"]["body"].startswith("Obrigado pela avaliação!")
    # Meta redelivers the pick: still one rating, no second thank-you.
    sends = len(channel.sent())
    _picks(channel, rows[1]["id"], rows[1]["title"], "wamid.CSAT1")
    assert len(channel.sent()) == sends

    _says(channel, "A Ana foi muito atenciosa.", "wamid.CSAT2")
    survey = _survey(channel, conversation_id)
    assert survey is not None and survey["comment"] == "A Ana foi muito atenciosa."
    assert channel.sent()[-1]["text"]["body"] == "Comentário registrado. Obrigado!"

    # Neither reached the bot nor opened a conversation; both are in the
    # closed conversation's history.
    assert len(channel.rasa.calls) == rasa_turns
    with db.tenant_transaction(channel.tenant_id) as conn:
        states = [
            r["state"]
            for r in conn.execute("SELECT state FROM conversations").fetchall()
        ]
        bodies = [
            r["body"]
            for r in conn.execute(
                "SELECT body FROM messages WHERE conversation_id = %s"
                " AND direction = 'inbound' ORDER BY created_at",
                (conversation_id,),
            ).fetchall()
        ]
        audit = conn.execute(
            "SELECT details FROM audit_events WHERE action = 'CONVERSATION_CLOSED'"
            " AND subject_id = %s",
            (str(conversation_id),),
        ).fetchone()
    assert states == ["closed"]
    assert bodies[-2:] == ["4 - Bom", "A Ana foi muito atenciosa."]
    assert audit is not None and audit["details"] == {"survey": "sent"}

    # The next message is a new question: the bot answers it.
    _says(channel, "e o meu boleto?", "wamid.CSAT3")
    assert len(channel.rasa.calls) == rasa_turns + 1
    survey = _survey(channel, conversation_id)
    assert survey is not None and survey["comment"] == "A Ana foi muito atenciosa."

    # The reports show it, for the attendant and overall.
    today = datetime.now(UTC).date()
    report = reports.tenant_report(
        channel.tenant_id, ReportQuery(start=today - timedelta(days=1), end=today)
    )
    csat = report.satisfaction
    assert (csat.available, csat.surveys, csat.responses) == (True, 1, 1)
    assert csat.average == 4.0 and csat.distribution == [0, 0, 0, 1, 0]
    [by_ana] = csat.attendants
    assert (by_ana.key, by_ana.average, by_ana.distribution) == (
        str(ana.attendant_id),
        4.0,
        [0, 0, 0, 1, 0],
    )


def test_no_survey_outside_the_window_or_without_a_person(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    # The customer's last message was 24 hours ago: nothing is sent.
    late, ana = _handled(channel, identity_pool)
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE conversations SET last_inbound_at = now() - interval '24 hours'"
            " + interval '1 minute' WHERE id = %s",
            (late,),
        )
    sends = len(channel.sent())
    path = f"/v1/console/conversations/{late}"
    assert call_api("post", f"{path}/close", ana, {"reason": "ok"})[0] == 200
    assert len(channel.sent()) == sends
    assert _survey(channel, late) is None

    # Closed while still waiting (nobody handled it): no survey either.
    _says(channel, "quero falar com um atendente", "wamid.W1", "BR.2")
    with db.tenant_transaction(channel.tenant_id) as conn:
        row = conn.execute(
            "SELECT v.id FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.wa_user_id = 'BR.2'"
        ).fetchone()
    assert row is not None
    waiting = UUID(str(row["id"]))
    assert handoff_to_human(channel.tenant_id, waiting, reason="x", summary=None)
    sup = identity_pool.attendant(channel.tenant_id, "supervisor")
    path = f"/v1/console/conversations/{waiting}"
    assert call_api("post", f"{path}/close", sup, {"reason": "spam"})[0] == 200
    assert _survey(channel, waiting) is None


def test_a_rating_for_someone_elses_or_an_expired_survey_goes_to_the_bot(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _handled(channel, identity_pool)
    path = f"/v1/console/conversations/{conversation_id}"
    assert call_api("post", f"{path}/close", ana, {"reason": "ok"})[0] == 200
    survey = _survey(channel, conversation_id)
    assert survey is not None
    row_id = f"csat:{survey['id']}:1"

    # Another customer replays Maria's row id: not a rating of Maria's survey.
    turns = len(channel.rasa.calls)
    _picks(channel, row_id, "1 - Péssimo", "wamid.X1", "BR.9")
    assert len(channel.rasa.calls) == turns + 1
    assert _survey(channel, conversation_id)["score"] is None  # type: ignore[index]

    # Past the window it was sent in, the pick is an ordinary message.
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE satisfaction_surveys SET expires_at = now() - interval '1 s'"
        )
    _picks(channel, row_id, "1 - Péssimo", "wamid.X2")
    assert len(channel.rasa.calls) == turns + 2
    assert _survey(channel, conversation_id)["score"] is None  # type: ignore[index]


def test_another_tenant_sees_none_of_our_ratings(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _handled(channel, identity_pool)
    path = f"/v1/console/conversations/{conversation_id}"
    assert call_api("post", f"{path}/close", ana, {"reason": "ok"})[0] == 200
    survey = _survey(channel, conversation_id)
    assert survey is not None
    _picks(channel, f"csat:{survey['id']}:5", "5 - Excelente", "wamid.T1")

    other = tenancy.create_tenant("Outra Loja").tenant.id
    today = date.today()
    query = ReportQuery(start=today - timedelta(days=1), end=today + timedelta(days=1))
    assert reports.tenant_report(channel.tenant_id, query).satisfaction.responses == 1
    theirs = reports.tenant_report(other, query).satisfaction
    assert (theirs.surveys, theirs.responses, theirs.attendants) == (0, 0, [])
    with db.tenant_transaction(other) as conn:
        seen = conn.execute("SELECT count(*) AS n FROM satisfaction_surveys").fetchone()
    assert seen is not None and seen["n"] == 0


def test_a_conversation_a_person_handled_closed_for_inactivity_is_rated(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    handled, _ana = _handled(channel, identity_pool)
    # One the bot alone handled goes idle too: it gets the goodbye, no survey.
    _says(channel, "oi", "wamid.B1", "BR.3")
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE conversations SET last_activity_at = now() - interval '31 minutes'"
        )
    sends = len(channel.sent())
    assert channel.engine.close_idle(channel.tenant_id) == 2

    survey = _survey(channel, handled)
    assert survey is not None and survey["entry_point"] is not None
    new = channel.sent()[sends:]
    lists = [m for m in new if m["type"] == "interactive"]
    texts = [m["text"]["body"] for m in new if m["type"] == "text"]
    # One message for the person-handled one: why it closed, and the rating.
    [rating] = lists
    body = rating["interactive"]["body"]["text"]
    assert "Como não tivemos resposta" in body and "Como você avalia" in body
    assert [t for t in texts if "encerramos este atendimento" in t] != []
    assert len(new) == 2
