"""Consent: the versioned text, the question at first contact, the gate on
processing, and withdrawal (bot and domain), on a real PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import ollama
import pytest
from actions.actions import ActionLlmAnswer, ActionRegistrarConsentimento
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from atende import consent, contacts, db
from tests.support.channel import Channel
from tests.support.lgpd import CONSENT_TEXT, customer_id, decide, publish, rows, say
from tests.support.rasa import tracker_for

pytestmark = pytest.mark.integration

CPF_MESSAGE = "meu cpf é 529.982.247-25 e o email ana.souza@example.com"


def _interactive(ch: Channel) -> list[dict[str, Any]]:
    return [m for m in ch.sent() if m["type"] == "interactive"]


def test_without_a_published_text_the_bot_does_not_ask(channel: Channel) -> None:
    say(channel, "oi")
    assert [m["type"] for m in channel.sent()] == ["text"]


def test_first_fitting_moment_asks_and_a_new_version_asks_again(
    channel: Channel,
) -> None:
    first = publish(channel)
    assert first.version == 1
    channel.rasa.reply = "Nosso horário é de segunda a sexta, das 8h às 20h."
    say(channel, "qual o horário?")
    sent = channel.sent()
    assert [m["type"] for m in sent] == ["text", "interactive"]
    question = sent[1]["interactive"]
    assert question["body"]["text"] == CONSENT_TEXT
    assert [b["reply"]["title"] for b in question["action"]["buttons"]] == [
        "Sim, autorizo",
        "Não autorizo",
    ]

    say(channel, "e no sábado?")
    assert len(_interactive(channel)) == 1  # not on the very next turn

    decide(channel, customer_id(channel), granted=True)
    second = publish(channel, "Novo texto: podemos guardar seus dados?")
    assert second.version == 2
    say(channel, "obrigado")
    assert [q["interactive"]["body"]["text"] for q in _interactive(channel)] == [
        CONSENT_TEXT,
        "Novo texto: podemos guardar seus dados?",
    ]
    audit = rows(
        channel,
        "SELECT subject_id FROM audit_events WHERE action = 'CONSENT_TEXT_PUBLISHED'"
        " ORDER BY id",
    )
    assert [a["subject_id"] for a in audit] == ["1", "2"]


def test_a_customer_who_answered_the_version_is_not_asked(channel: Channel) -> None:
    publish(channel)
    say(channel, "oi")
    decide(channel, customer_id(channel), granted=False)
    with db.tenant_transaction(channel.tenant_id) as conn:
        assert consent.prompt_due(conn, customer_id(channel)) is None
    publish(channel, "Versão 2 do texto.")
    with db.tenant_transaction(channel.tenant_id) as conn:
        # Answered v1 only: v2 is due until answered.
        assert consent.prompt_due(conn, customer_id(channel)) is not None
    decide(channel, customer_id(channel), granted=False)
    with db.tenant_transaction(channel.tenant_id) as conn:
        assert consent.prompt_due(conn, customer_id(channel)) is None


@pytest.mark.parametrize("body", ["", "   ", "x" * 1001])
def test_consent_text_must_be_readable(channel: Channel, body: str) -> None:
    with pytest.raises(consent.ConsentTextInvalid) as caught:
        publish(channel, body)
    assert caught.value.code == "TEXTO_DE_CONSENTIMENTO_INVALIDO"
    assert "1000 caracteres" in caught.value.user_message


def test_without_consent_no_contact_data_is_kept(channel: Channel) -> None:
    publish(channel)
    say(channel, CPF_MESSAGE)
    assert rows(channel, "SELECT * FROM contacts") == []
    decide(channel, customer_id(channel), granted=False)
    say(channel, CPF_MESSAGE)
    assert rows(channel, "SELECT * FROM contacts") == []


def test_with_consent_contacts_are_kept_with_their_source(channel: Channel) -> None:
    say(channel, "oi")
    decide(channel, customer_id(channel), granted=True)
    message_id = say(channel, CPF_MESSAGE)
    found = rows(
        channel,
        "SELECT kind, value, found_by, source_message_id FROM contacts ORDER BY kind",
    )
    assert found == [
        {
            "kind": "cpf",
            "value": "529.982.247-25",
            "found_by": "validator",
            "source_message_id": message_id,
        },
        {
            "kind": "email",
            "value": "ana.souza@example.com",
            "found_by": "validator",
            "source_message_id": message_id,
        },
    ]


def test_withdrawal_through_the_bot_is_recorded_and_stops_processing(
    channel: Channel,
) -> None:
    publish(channel)
    conversation_message = say(channel, "oi")
    customer = customer_id(channel)
    conversation = rows(
        channel,
        "SELECT conversation_id FROM messages WHERE id = %s",
        conversation_message,
    )[0]["conversation_id"]
    for intent, text in (
        # The taps on the consent buttons (typed words only ask again).
        ("consentimento_aceitar", "/consentimento_aceitar"),
        ("consentimento_recusar", "/consentimento_recusar"),
    ):
        dispatcher = CollectingDispatcher()
        ActionRegistrarConsentimento().run(
            dispatcher, tracker_for(channel, conversation, text, intent), {}
        )
        if intent == "consentimento_aceitar":  # data kept under the consent
            say(channel, CPF_MESSAGE)
            assert len(rows(channel, "SELECT id FROM contacts")) >= 1
    assert "retirou a sua autorização" in dispatcher.messages[0]["text"]
    # ... goes with its withdrawal.
    assert rows(channel, "SELECT * FROM contacts") == []
    decisions = rows(
        channel,
        "SELECT granted, withdrawal, text_version FROM consents ORDER BY recorded_at",
    )
    assert decisions == [
        {"granted": True, "withdrawal": False, "text_version": 1},
        {"granted": False, "withdrawal": True, "text_version": 1},
    ]
    audit = rows(
        channel,
        "SELECT action FROM audit_events WHERE action LIKE 'CONSENT_%%'"
        " AND subject_id = %s ORDER BY id",
        str(customer),
    )
    assert [a["action"] for a in audit] == ["CONSENT_GRANTED", "CONSENT_WITHDRAWN"]
    say(channel, CPF_MESSAGE)
    assert rows(channel, "SELECT * FROM contacts") == []


def _ollama(answer: dict[str, Any], calls: list[Any]) -> ollama.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "model": "llama3:8b",
                "created_at": "2026-11-22T05:00:00Z",
                "message": {"role": "assistant", "content": json.dumps(answer)},
                "done": True,
            },
        )

    return ollama.Client(
        host="http://ollama.test", transport=httpx.MockTransport(handler)
    )


def test_the_llm_reads_messages_only_with_consent(channel: Channel) -> None:
    text = "me chamo Ana Souza e moro na Rua das Flores, 12"
    message_id = say(channel, text)
    customer = customer_id(channel)
    calls: list[Any] = []
    client = _ollama({"nome": "Ana Souza", "endereco": "Rua das Flores, 12"}, calls)
    assert (
        contacts.capture_with_llm(
            channel.tenant_id,
            customer_id=customer,
            message_id=message_id,
            text=text,
            client=client,
        )
        == 0
    )
    assert calls == []  # not even sent

    decide(channel, customer, granted=True)
    invented = _ollama({"nome": "Ana Souza", "endereco": "Av. Paulista, 1000"}, calls)
    assert (
        contacts.capture_with_llm(
            channel.tenant_id,
            customer_id=customer,
            message_id=message_id,
            text=text,
            client=invented,
        )
        == 1
    )
    assert len(calls) == 1
    assert rows(channel, "SELECT kind, value, found_by FROM contacts") == [
        {"kind": "name", "value": "Ana Souza", "found_by": "llm"}
    ]  # the address is not in the message: dropped


def test_knowledge_base_answers_need_consent(channel: Channel) -> None:
    message_id = say(channel, "qual o horário de vocês?")
    conversation = rows(
        channel, "SELECT conversation_id FROM messages WHERE id = %s", message_id
    )[0]["conversation_id"]
    dispatcher = CollectingDispatcher()
    events = ActionLlmAnswer().run(
        dispatcher,
        tracker_for(channel, conversation, "qual o horário?", "fora_do_escopo"),
        {},
    )
    # No consent: the LLM is not used and the rules hand off to a person.
    assert events == [SlotSet("llm_disponivel", False)]
    assert dispatcher.messages == []
