"""The customer's side of a handoff (issue 18, points 1, 2 and 5): never silence
while people have the conversation, told what people did with it, and the
consent question only at a fitting moment. The real engine, console use cases
and bot actions on a real PostgreSQL; Rasa's dialogue is in bot/tests."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from actions.actions import ActionAguardando, ActionLlmAnswer
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from atende import console, db
from atende.audit import Actor, RequestContext
from atende.bot import BotReply
from atende.bot.tracker import WITH_PEOPLE_SLOT, bot_events
from atende.conversations import messages_ptbr as texts
from atende.conversations import store, waiting
from atende.conversations.consent_prompt import MAX_ASKS
from atende.conversations.handoff import handoff_to_human
from atende.identity import AttendantPrincipal, Role
from atende.whatsapp.updates import parse_webhook
from tests.support.channel import Channel, text_update
from tests.support.lgpd import CONSENT_TEXT, TrackerStore, publish, say
from tests.support.rasa import tracker_for

pytestmark = pytest.mark.integration

NOT_A_QUESTION = "Nosso horário é de segunda a sexta, das 8h às 20h."
ASKS_FOR_CPF = "Pra eu localizar seu boleto, pode me mandar o CPF do titular?"
SYSTEM = RequestContext(Actor("system", "test"))


def _conversation(ch: Channel, user: str = "BR.1502576394655843") -> UUID:
    say(ch, "oi", user=user)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT v.id FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.wa_user_id = %s AND v.state <> 'closed'",
            (user,),
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def _handoff(ch: Channel, conversation_id: UUID) -> None:
    assert handoff_to_human(
        ch.tenant_id, conversation_id, reason="pedido_do_cliente", summary=None
    )


def _texts(ch: Channel) -> list[str]:
    return [
        m["text"]["body"] if m["type"] == "text" else m["interactive"]["body"]["text"]
        for m in ch.sent()
    ]


def _consent_asks(ch: Channel) -> int:
    return sum(
        1
        for m in ch.sent()
        if m["type"] == "interactive"
        and m["interactive"]["body"]["text"] == CONSENT_TEXT
    )


def _tap(ch: Channel, payload: str, title: str) -> None:
    update = text_update(title, wamid=f"wamid.{uuid.uuid4().hex}")
    message = update["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"]
    message["type"] = "interactive"
    message["interactive"] = {
        "type": "button_reply",
        "button_reply": {"id": payload, "title": title},
    }
    [parsed] = parse_webhook(update)
    ch.engine.handle(ch.tenant_id, parsed)


def _supervisor(ch: Channel) -> AttendantPrincipal:
    return AttendantPrincipal(
        ch.tenant_id, uuid.uuid4(), Role.SUPERVISOR, "sup@loja.example", "Bia"
    )


def _attendant_row(ch: Channel) -> UUID:
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "INSERT INTO attendants (tenant_id, email, display_name, role, team)"
            " VALUES (current_tenant_id(), 'carla@loja.example', 'Carla', 'attendant',"
            " 'financeiro') RETURNING id"
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


# -- 1. never silence while people have the conversation -----------------------


def test_a_message_while_waiting_for_a_person_reaches_the_bot(
    channel: Channel,
) -> None:
    """LGPD requests and a second "atendente" need an answer while waiting:
    the bot hears the message (its rules answer it, see bot/tests)."""
    conversation_id = _conversation(channel)
    _handoff(channel, conversation_id)
    channel.rasa.reply = texts.ALREADY_IN_QUEUE_NEXT
    say(channel, "quais dados vocês têm sobre mim?")
    assert channel.rasa.calls[-1]["message"] == "quais dados vocês têm sobre mim?"
    assert _texts(channel)[-1] == texts.ALREADY_IN_QUEUE_NEXT
    # And while a person holds it.
    with db.tenant_transaction(channel.tenant_id) as conn:
        store.assign(conn, conversation_id, _attendant_row(channel), keep_team=True)
    say(channel, "ainda aí?")
    assert channel.rasa.calls[-1]["message"] == "ainda aí?"
    # Each time the dialogue is told people have it (see RasaClient.with_people).
    assert channel.rasa.with_people == [str(conversation_id)] * 2


def test_waiting_acknowledgement_tells_the_position_once_then_when_it_moves(
    channel: Channel,
) -> None:
    first = _conversation(channel, "BR.1000000000000001")
    second = _conversation(channel, "BR.1000000000000002")
    _handoff(channel, first)
    _handoff(channel, second)
    now = datetime.now(UTC)

    def ack(
        *, asked: bool = False, last_at: datetime | None, last: int | None
    ) -> waiting.Acknowledgement | None:
        with db.tenant_transaction(channel.tenant_id) as conn:
            return waiting.acknowledgement(
                conn,
                second,
                asked_for_person=asked,
                last_at=last_at,
                last_position=last,
                now=now,
            )

    told = ack(last_at=None, last=None)
    assert told == waiting.Acknowledgement(texts.WAITING_AT.format(position=2), 2)
    assert "posição 2" in told.text
    # Not on every message...
    assert ack(last_at=now - timedelta(minutes=1), last=2) is None
    # ...but always to someone asking for a person again.
    again = ack(asked=True, last_at=now - timedelta(minutes=1), last=2)
    assert again is not None and again.text.startswith("Você já está na fila")
    # Again after the interval.
    assert ack(last_at=now - waiting.ACK_INTERVAL, last=2) is not None
    # Sooner when the queue moved on meaningfully: the first was taken.
    with db.tenant_transaction(channel.tenant_id) as conn:
        store.assign(conn, first, _attendant_row(channel), keep_team=True)
    assert ack(last_at=now - timedelta(minutes=1), last=2) == (
        waiting.Acknowledgement(texts.WAITING_NEXT, 1)
    )
    assert ack(last_at=now - timedelta(minutes=1), last=1) is None


def test_with_a_person_the_bot_acknowledges_only_when_they_are_quiet(
    channel: Channel,
) -> None:
    conversation_id = _conversation(channel)
    _handoff(channel, conversation_id)
    attendant = _attendant_row(channel)
    with db.tenant_transaction(channel.tenant_id) as conn:
        store.assign(conn, conversation_id, attendant, keep_team=True)
        store.enqueue_outbound(
            conn, conversation_id=conversation_id, body="Oi!", attendant_id=attendant
        )
    now = datetime.now(UTC)

    def ack(at: datetime, asked: bool = False) -> waiting.Acknowledgement | None:
        with db.tenant_transaction(channel.tenant_id) as conn:
            return waiting.acknowledgement(
                conn,
                conversation_id,
                asked_for_person=asked,
                last_at=None,
                last_position=None,
                now=at,
            )

    assert ack(now) is None  # the attendant just wrote
    assert ack(now + waiting.ACK_INTERVAL) == waiting.Acknowledgement(
        texts.WITH_PERSON, None
    )
    assert ack(now, asked=True) == waiting.Acknowledgement(
        texts.ALREADY_WITH_PERSON, None
    )


def test_action_aguardando_remembers_what_it_told(channel: Channel) -> None:
    conversation_id = _conversation(channel)
    _handoff(channel, conversation_id)
    dispatcher = CollectingDispatcher()
    events = ActionAguardando().run(
        dispatcher,
        tracker_for(channel, conversation_id, "alô?", "saudacao"),
        {},
    )
    assert [m["text"] for m in dispatcher.messages] == [texts.WAITING_NEXT]
    assert events[1] == SlotSet("aviso_fila_posicao", 1)
    told_at = events[0]["value"]
    quiet = CollectingDispatcher()
    assert (
        ActionAguardando().run(
            quiet,
            tracker_for(
                channel,
                conversation_id,
                "e aí?",
                "saudacao",
                aviso_fila_em=told_at,
                aviso_fila_posicao=1.0,
            ),
            {},
        )
        == []
    )
    assert quiet.messages == []


# -- 2. told what people did with the conversation -----------------------------


def test_transfer_return_and_close_are_told_to_the_customer_once_each(
    channel: Channel,
) -> None:
    conversation_id = _conversation(channel)
    _handoff(channel, conversation_id)
    supervisor = _supervisor(channel)
    console.transfer(
        supervisor,
        conversation_id,
        to_attendant_id=_attendant_row(channel),
        to_team=None,
        engine=channel.engine,
        context=SYSTEM,
    )
    console.transfer(
        supervisor,
        conversation_id,
        to_attendant_id=None,
        to_team="financeiro",
        engine=channel.engine,
        context=SYSTEM,
    )
    console.return_to_bot(
        supervisor, conversation_id, engine=channel.engine, context=SYSTEM
    )
    assert channel.rasa.resumed == [str(conversation_id)]
    console.close(
        supervisor,
        conversation_id,
        reason="resolvido",
        engine=channel.engine,
        context=SYSTEM,
    )
    told = _texts(channel)[1:]  # after the bot's reply to "oi"
    assert told == [
        texts.TRANSFERRED_TO_PERSON,
        texts.TRANSFERRED_TO_QUEUE,
        texts.RETURNED_TO_BOT,
        texts.CLOSED_BY_PEOPLE,
    ]


def test_a_conversation_people_handled_is_closed_with_the_survey_only(
    channel: Channel,
) -> None:
    """The survey itself says the conversation was closed: no second goodbye."""
    conversation_id = _conversation(channel)
    _handoff(channel, conversation_id)
    supervisor = _supervisor(channel)
    with db.tenant_transaction(channel.tenant_id) as conn:
        store.assign(conn, conversation_id, _attendant_row(channel), keep_team=True)
    console.close(
        supervisor,
        conversation_id,
        reason="resolvido",
        engine=channel.engine,
        context=SYSTEM,
    )
    assert _texts(channel)[1:] == [store.satisfaction.SURVEY_TEXT]


def test_after_a_return_a_question_the_bot_cant_answer_is_not_handed_off_again(
    channel: Channel,
) -> None:
    """Without consent the LLM may not read the customer: before a return that
    means a person; right after people gave the conversation back, the
    customer is told how to reach one instead of being queued at once."""
    conversation_id = _conversation(channel)
    tracker = tracker_for(channel, conversation_id, "e o outro?", "nlu_fallback")
    assert ActionLlmAnswer().run(CollectingDispatcher(), tracker, {}) == [
        SlotSet("llm_disponivel", False)
    ]
    _handoff(channel, conversation_id)
    console.return_to_bot(
        _supervisor(channel), conversation_id, engine=channel.engine, context=SYSTEM
    )
    dispatcher = CollectingDispatcher()
    events = ActionLlmAnswer().run(dispatcher, tracker, {})
    assert SlotSet("llm_disponivel", True) in events
    assert "escrever *atendente*" in dispatcher.messages[0]["text"]


# -- 5. consent asked at a fitting moment --------------------------------------


def test_consent_is_not_asked_together_with_another_question(
    channel: Channel,
) -> None:
    publish(channel)
    channel.rasa.reply = ASKS_FOR_CPF
    say(channel, "preciso da segunda via")
    assert _consent_asks(channel) == 0
    channel.rasa.reply = NOT_A_QUESTION
    say(channel, "qual o horário?")
    assert _texts(channel)[-2:] == [NOT_A_QUESTION, CONSENT_TEXT]


def test_consent_is_not_asked_right_after_the_handoff_text(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(channel)
    conversation_id = _conversation(channel)
    assert _consent_asks(channel) == 0  # the greeting asked how to help
    respond = channel.engine.bot.respond

    def handing_off(**kwargs: Any) -> list[BotReply]:
        # Rasa's action_handoff runs inside the turn.
        _handoff(channel, conversation_id)
        return respond(**kwargs)

    monkeypatch.setattr(channel.engine.bot, "respond", handing_off)
    channel.rasa.reply = "Certo! Vou te passar para uma pessoa da nossa equipe."
    say(channel, "quero falar com um atendente")
    assert _consent_asks(channel) == 0


def test_ignored_consent_is_asked_again_a_few_times_at_most(
    channel: Channel,
) -> None:
    publish(channel)
    channel.rasa.reply = NOT_A_QUESTION
    say(channel, "qual o horário?")
    assert _consent_asks(channel) == 1
    say(channel, "e no sábado")  # ignored: not again on the very next turn
    assert _consent_asks(channel) == 1
    say(channel, "e no domingo")
    assert _consent_asks(channel) == 2
    for text in ("ok", "e feriado", "valeu", "tchau", "e amanhã", "blz"):
        say(channel, text)
    assert _consent_asks(channel) == MAX_ASKS


def test_a_consent_tap_while_waiting_for_a_person_reaches_the_bot(
    channel: Channel,
) -> None:
    publish(channel)
    conversation_id = _conversation(channel)
    _handoff(channel, conversation_id)
    _tap(channel, "/consentimento_aceitar", "Sim, autorizo")
    assert channel.rasa.calls[-1]["message"] == "/consentimento_aceitar"
    # Nor is the question asked while people have the conversation.
    assert _consent_asks(channel) == 0


def test_messages_while_people_have_it_are_not_counted_as_the_bots(
    tracker_store: TrackerStore,
) -> None:
    """The reports count the intents the bot understood; what it merely
    acknowledged while people had the conversation is theirs."""
    sender = str(uuid.uuid4())
    rows = [
        ("user", "falar_com_atendente", None),
        ("slot", None, {"name": WITH_PEOPLE_SLOT, "value": True}),
        ("user", "saudacao", None),  # acknowledged only
        ("restart", None, None),  # returned to the bot
        ("user", "horario_atendimento", None),
    ]
    with psycopg.connect(tracker_store.url, autocommit=True) as conn:
        for type_name, intent, data in rows:
            conn.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, intent_name,"
                " data) VALUES (%s, %s, 1.0, %s, %s)",
                (sender, type_name, intent, json.dumps(data) if data else None),
            )
    assert [e.intent for e in bot_events(tracker_store.url, [sender])] == [
        "falar_com_atendente",
        "horario_atendimento",
    ]
