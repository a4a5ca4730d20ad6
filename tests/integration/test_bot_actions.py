"""The bot's custom actions and the use cases behind them, on a real PostgreSQL.

Actions are run as the action server runs them (rasa-sdk ``Action.run`` with a
``Tracker`` built from the events Rasa sends); the Ollama host is answered with
its recorded wire shape through ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from uuid import UUID, uuid4

import httpx
import ollama
import pytest
import yaml
from actions.actions import (
    ALREADY_GRANTED,
    CLARIFY_OPTIONS,
    CONFIRM_CONSENT,
    HANDOFF_ASKED,
    ActionEsclarecer,
    ActionHandoff,
    ActionLlmAnswer,
    ActionRegistrarConsentimento,
    ActionSolicitarAcessoDados,
    ActionSolicitarExclusaoDados,
    ValidateCpfForm,
    ValidatePedidoForm,
)
from chalice.test import Client
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from atende import db, lgpd, llm
from atende.audit import Actor, RequestContext
from atende.bot import BotUnavailable, RasaClient
from atende.config import get_settings
from atende.conversations import store
from atende.conversations.handoff import return_to_bot
from atende.errors import Conflict
from atende.whatsapp.updates import parse_webhook
from tests.support.channel import (
    RASA_JWT_SECRET,
    ROOT,
    Channel,
    RasaStandIn,
    text_update,
)
from tests.support.rasa import tracker_for

pytestmark = pytest.mark.integration


def _conversation(ch: Channel, text: str = "oi") -> UUID:
    [update] = parse_webhook(text_update(text, wamid=f"wamid.{text}"))
    ch.engine.handle(ch.tenant_id, update)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute("SELECT id FROM conversations").fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def _state(ch: Channel, conversation_id: UUID) -> str:
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT state FROM conversations WHERE id = %s", (conversation_id,)
        ).fetchone()
    assert row is not None
    return str(row["state"])


def test_handoff_moves_to_waiting_human_with_reason_and_summary(
    channel: Channel,
) -> None:
    conversation_id = _conversation(channel)
    dispatcher = CollectingDispatcher()
    tracker = tracker_for(
        channel,
        conversation_id,
        "quero falar com um atendente",
        "falar_com_atendente",
        cpf="529.982.247-25",
    )
    events = ActionHandoff().run(dispatcher, tracker, {})
    # Not paused: while people have it, the bot's rules acknowledge messages
    # and answer LGPD requests (bot/data/rules.yml).
    assert events == [
        SlotSet("handoff_motivo", "pedido_do_cliente"),
        SlotSet("atendimento_humano", True),
        SlotSet("aviso_fila_em", None),
        SlotSet("aviso_fila_posicao", None),
    ]
    assert dispatcher.messages[0]["text"] == HANDOFF_ASKED
    assert _state(channel, conversation_id) == "waiting_human"
    with db.tenant_transaction(channel.tenant_id) as conn:
        handoff = conn.execute("SELECT reason, summary FROM handoffs").fetchone()
        audit = conn.execute(
            "SELECT action FROM audit_events WHERE subject_id = %s",
            (str(conversation_id),),
        ).fetchall()
    assert handoff is not None and handoff["reason"] == "pedido_do_cliente"
    assert (
        "***.***.***-25" in handoff["summary"] and "529.982" not in handoff["summary"]
    )
    assert [a["action"] for a in audit] == ["HANDOFF_REQUESTED"]


def test_return_to_bot_resumes_rasa_then_the_conversation(channel: Channel) -> None:
    conversation_id = _conversation(channel)
    ActionHandoff().run(
        CollectingDispatcher(),
        tracker_for(channel, conversation_id, "atendente", "falar_com_atendente"),
        {},
    )
    resumed: list[str] = []

    class Rasa:
        def resume(self, sender: str) -> None:
            resumed.append(sender)

    from atende.audit import Actor

    return_to_bot(
        channel.tenant_id,
        conversation_id,
        context=RequestContext(Actor("attendant", "a1")),
        bot=Rasa(),
    )
    assert resumed == [str(conversation_id)]
    assert _state(channel, conversation_id) == "bot"
    with db.tenant_transaction(channel.tenant_id) as conn:
        handoff = conn.execute("SELECT outcome, resolved_at FROM handoffs").fetchone()
    assert handoff is not None and handoff["outcome"] == "returned_to_bot"
    # Already with the bot: a clear conflict, and Rasa is not called again.
    with pytest.raises(Conflict):
        return_to_bot(
            channel.tenant_id,
            conversation_id,
            context=RequestContext(Actor("attendant", "a1")),
            bot=Rasa(),
        )
    assert resumed == [str(conversation_id)]


def test_return_to_bot_changes_nothing_when_rasa_cannot_resume(
    channel: Channel,
) -> None:
    conversation_id = _conversation(channel)
    ActionHandoff().run(
        CollectingDispatcher(),
        tracker_for(channel, conversation_id, "atendente", "falar_com_atendente"),
        {},
    )

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    rasa = RasaClient(
        "http://rasa.test",
        jwt_secret=RASA_JWT_SECRET,
        signing_key=None,
        http=httpx.Client(transport=httpx.MockTransport(refuse)),
    )
    from atende.audit import Actor

    with pytest.raises(BotUnavailable):
        return_to_bot(
            channel.tenant_id,
            conversation_id,
            context=RequestContext(Actor("attendant", "a1")),
            bot=rasa,
        )
    assert _state(channel, conversation_id) == "waiting_human"


def test_return_to_bot_route_with_api_key(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atende import tenancy

    conversation_id = _conversation(channel)
    ActionHandoff().run(
        CollectingDispatcher(),
        tracker_for(channel, conversation_id, "atendente", "falar_com_atendente"),
        {},
    )
    with db.tenant_transaction(channel.tenant_id) as conn:
        _key_id, api_key = tenancy.issue_api_key(
            conn, name="console", scopes={tenancy.Scope.CONVERSATIONS}
        )
    calls: list[httpx.Request] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"sender_id": str(conversation_id)})

    channel.engine.bot = RasaClient(
        "http://rasa.test",
        jwt_secret=RASA_JWT_SECRET,
        signing_key=None,
        http=httpx.Client(transport=httpx.MockTransport(rasa)),
    )
    from app import app

    path = f"/v1/conversations/{conversation_id}/return-to-bot"
    with Client(app) as client:
        anonymous = client.http.post(path)
        wrong = client.http.post(path, headers={"X-API-Key": "atd_" + "x" * 43})
        bad_id = client.http.post(
            "/v1/conversations/nope/return-to-bot", headers={"X-API-Key": api_key}
        )
        ok = client.http.post(path, headers={"X-API-Key": api_key})
    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert bad_id.status_code == 400
    assert ok.status_code == 200 and json.loads(ok.body) == {"state": "bot"}
    assert [str(c.url.path) for c in calls] == [
        f"/conversations/{conversation_id}/tracker/events"
    ]
    assert json.loads(calls[0].content) == [{"event": "resume"}, {"event": "restart"}]
    # With a JWT Rasa accepts for this conversation only.
    assert RasaStandIn.refusal(calls[0], str(conversation_id)) is None
    assert RasaStandIn.refusal(calls[0], str(uuid4())) is not None


def _ollama(answer: dict[str, Any] | None) -> ollama.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if answer is None:
            raise httpx.ConnectError("connection refused", request=request)
        body = json.loads(request.content)
        assert body["format"]["required"] == ["found", "answer"]
        assert "Artigos:" in body["messages"][1]["content"]
        return httpx.Response(
            200,
            json={
                "model": "llama3:8b",
                "created_at": "2026-11-22T03:00:00Z",
                "message": {"role": "assistant", "content": json.dumps(answer)},
                "done": True,
                "done_reason": "stop",
                "total_duration": 812000000,
                "eval_count": 31,
            },
        )

    return ollama.Client(
        host="http://ollama.test:11434", transport=httpx.MockTransport(handler)
    )


def _seed_kb(ch: Channel) -> None:
    with db.tenant_transaction(ch.tenant_id) as conn:
        conn.execute(
            "INSERT INTO knowledge_articles (tenant_id, title, body) VALUES"
            " (current_tenant_id(), 'Troca de produto', 'A troca pode ser feita em até"
            " 30 dias com a nota fiscal, em qualquer loja.'),"
            " (current_tenant_id(), 'Horário', 'Atendemos de segunda a sábado, das 8h"
            " às 20h.')"
        )


def test_grounded_answer_from_the_knowledge_base(channel: Channel) -> None:
    _seed_kb(channel)
    client = _ollama(
        {"found": True, "answer": "Você pode trocar em até 30 dias com a nota."}
    )
    with db.tenant_transaction(channel.tenant_id) as conn:
        answer = llm.answer_from_knowledge_base(
            conn, "qual o prazo pra troca?", client=client
        )
    assert answer.grounded and "30 dias" in answer.text and len(answer.article_ids) >= 1


def test_llm_says_it_does_not_know_rather_than_invent(channel: Channel) -> None:
    _seed_kb(channel)
    with db.tenant_transaction(channel.tenant_id) as conn:
        nothing_found = llm.answer_from_knowledge_base(
            conn, "quem ganhou o jogo ontem?", client=_ollama(None)
        )
        model_declines = llm.answer_from_knowledge_base(
            conn,
            "troca de produto usado?",
            client=_ollama({"found": False, "answer": ""}),
        )
    assert nothing_found.text == llm.DONT_KNOW and not nothing_found.grounded
    assert model_declines.text == llm.DONT_KNOW


def test_llm_down_is_reported(channel: Channel) -> None:
    _seed_kb(channel)
    with (
        db.tenant_transaction(channel.tenant_id) as conn,
        pytest.raises(llm.LlmUnavailable),
    ):
        llm.answer_from_knowledge_base(conn, "prazo de troca", client=_ollama(None))


def test_action_llm_answer_without_llm_sets_the_slot_for_handoff(
    channel: Channel,
) -> None:
    _seed_kb(channel)
    conversation_id = _conversation(channel)
    assert get_settings().ollama_host is None  # degraded mode: no LLM configured
    dispatcher = CollectingDispatcher()
    events = ActionLlmAnswer().run(
        dispatcher,
        tracker_for(channel, conversation_id, "prazo de troca", "nlu_fallback"),
        {},
    )
    assert events == [SlotSet("llm_disponivel", False)]
    assert dispatcher.messages == []


def test_action_llm_answer_with_llm(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_kb(channel)
    conversation_id = _conversation(channel)
    with db.tenant_transaction(channel.tenant_id) as conn:
        customer_id = store.get_conversation(conn, conversation_id).customer_id
        lgpd.record_consent(  # the LLM reads only consenting customers' messages
            conn,
            customer_id=customer_id,
            granted=True,
            source="whatsapp_bot",
            context=RequestContext(Actor("system", "bot")),
        )
    client = _ollama(
        {"found": True, "answer": "Atendemos de segunda a sábado, das 8h às 20h."}
    )
    monkeypatch.setattr(llm, "default_client", lambda: client)
    dispatcher = CollectingDispatcher()
    events = ActionLlmAnswer().run(
        dispatcher,
        tracker_for(channel, conversation_id, "vcs abrem sabado?", "nlu_fallback"),
        {},
    )
    # The reports count grounded answers apart from "não sei" (this slot).
    assert events == [
        SlotSet("llm_disponivel", True),
        SlotSet("llm_fundamentada", True),
    ]
    assert dispatcher.messages[0]["text"].startswith("Atendemos de segunda a sábado")


@pytest.mark.parametrize(
    ("intent", "granted"),
    [("consentimento_aceitar", True), ("consentimento_recusar", False)],
)
def test_consent_is_recorded_and_audited(
    channel: Channel, intent: str, granted: bool
) -> None:
    conversation_id = _conversation(channel)
    dispatcher = CollectingDispatcher()
    ActionRegistrarConsentimento().run(
        dispatcher, tracker_for(channel, conversation_id, f"/{intent}", intent), {}
    )
    with db.tenant_transaction(channel.tenant_id) as conn:
        consent = conn.execute(
            "SELECT purpose, granted, source FROM consents"
        ).fetchone()
        audit = conn.execute(
            "SELECT action FROM audit_events WHERE action LIKE 'CONSENT_%'"
        ).fetchone()
    assert consent == {
        "purpose": "atendimento_whatsapp",
        "granted": granted,
        "source": "whatsapp_bot",
    }
    assert audit is not None
    assert audit["action"] == ("CONSENT_GRANTED" if granted else "CONSENT_REFUSED")
    assert dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("aceito sim", "consentimento_aceitar"),
        ("não autorizo", "consentimento_recusar"),
        # The other decision's payload with this intent: not this button.
        ("/consentimento_recusar", "consentimento_aceitar"),
        ("Sim, autorizo", "consentimento_aceitar"),  # the title, typed
    ],
)
def test_typed_consent_is_never_recorded_but_asked_with_buttons(
    channel: Channel, text: str, intent: str
) -> None:
    conversation_id = _conversation(channel)
    dispatcher = CollectingDispatcher()
    events = ActionRegistrarConsentimento().run(
        dispatcher, tracker_for(channel, conversation_id, text, intent), {}
    )
    with db.tenant_transaction(channel.tenant_id) as conn:
        consents = conn.execute("SELECT count(*) AS n FROM consents").fetchone()
    assert consents == {"n": 0} and events == []
    [asked] = dispatcher.messages
    assert "autoriza" in asked["text"]
    assert [(b["payload"], b["title"]) for b in asked["buttons"]] == [
        ("/consentimento_aceitar", "Sim, autorizo"),
        ("/consentimento_recusar", "Não autorizo"),
    ]


# Access requests are fulfilled at once (tests/integration/test_lgpd_export.py).
@pytest.mark.parametrize(
    ("action", "kind", "audit_action"),
    [(ActionSolicitarExclusaoDados, "erasure", "LGPD_ERASURE_REQUESTED")],
)
def test_lgpd_requests_are_opened_once(
    channel: Channel, action: Any, kind: str, audit_action: str
) -> None:
    conversation_id = _conversation(channel)
    first, second = CollectingDispatcher(), CollectingDispatcher()
    action().run(
        first, tracker_for(channel, conversation_id, "meus dados", "meus_dados"), {}
    )
    action().run(
        second, tracker_for(channel, conversation_id, "meus dados", "meus_dados"), {}
    )
    with db.tenant_transaction(channel.tenant_id) as conn:
        requests = conn.execute("SELECT id, kind, status FROM lgpd_requests").fetchall()
        audits = conn.execute(
            "SELECT count(*) AS n FROM audit_events WHERE action = %s", (audit_action,)
        ).fetchone()
    assert [(r["kind"], r["status"]) for r in requests] == [(kind, "open")]
    assert audits == {"n": 1}
    protocol = str(requests[0]["id"]).split("-")[0].upper()
    assert (
        protocol in first.messages[0]["text"] and protocol in second.messages[0]["text"]
    )
    assert "em andamento" in second.messages[0]["text"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("529.982.247-25", "529.982.247-25"),
        ("52998224725", "529.982.247-25"),
        ("529.982.247-24", None),
        ("111.111.111-11", None),
        ("abc", None),
    ],
)
def test_cpf_form_accepts_only_valid_check_digits(
    value: str, expected: str | None
) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateCpfForm().validate_cpf(value, dispatcher, None, {})
    # cpf_invalido picks the short re-ask of utter_ask_cpf (bot/domain.yml).
    assert result == {"cpf": expected, "cpf_invalido": expected is None}
    assert (dispatcher.messages == []) == (expected is not None)
    if expected is None:
        assert dispatcher.messages[0]["response"] == "utter_cpf_invalido"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("#1234567", "1234567"),
        ("PED-123456", "123456"),
        ("ped 98765432", "98765432"),
        ("12", None),
        ("pedido", None),
    ],
)
def test_order_form_checks_the_number_shape(value: str, expected: str | None) -> None:
    dispatcher = CollectingDispatcher()
    assert ValidatePedidoForm().validate_numero_pedido(value, dispatcher, None, {}) == {
        "numero_pedido": expected
    }


def test_action_server_registers_exactly_the_domain_actions() -> None:
    """What `python -m rasa_sdk --actions actions` loads at start."""
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(executor.actions) == {
        "action_esclarecer",
        "action_aguardando",
        "action_handoff",
        "action_horario",
        "action_llm_answer",
        "action_registrar_consentimento",
        "action_solicitar_acesso_dados",
        "action_solicitar_exclusao_dados",
        "validate_cpf_form",
        "validate_pedido_form",
    }
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())
    assert set(executor.actions) == set(domain["actions"])


def _tenant_snapshot(ch: Channel, conversation_id: UUID) -> dict[str, Any]:
    """What an action could have read into a reply or written, in one view."""
    with db.tenant_transaction(ch.tenant_id) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM handoffs) AS handoffs,"
            " (SELECT count(*) FROM consents) AS consents,"
            " (SELECT count(*) FROM lgpd_requests) AS lgpd_requests,"
            " (SELECT count(*) FROM audit_events) AS audit_events,"
            " (SELECT count(*) FROM messages WHERE direction = 'outbound')"
            " AS outbound"
        ).fetchone()
    assert counts is not None
    return {**counts, "state": _state(ch, conversation_id)}


def _forged(ch: Channel, conversation_id: UUID) -> list[dict[str, Any]]:
    from atende.bot.signing import sign_tenant
    from tests.support.channel import ACTION_SIGNING_KEY

    victim, sender = ch.tenant_id, str(conversation_id)
    another_tenant = sign_tenant(ACTION_SIGNING_KEY, tenant_id=uuid4(), sender=sender)
    an_hour_ago = time.time() - 3600
    return [
        {"tenant_id": str(victim)},  # what anyone who reaches Rasa could write
        sign_tenant("w" * 48, tenant_id=victim, sender=sender),  # a wrong key
        {**another_tenant, "tenant_id": str(victim)},  # tenant A's signature
        sign_tenant(ACTION_SIGNING_KEY, tenant_id=victim, sender=str(uuid4())),
        # Once signed, replayed later.
        sign_tenant(
            ACTION_SIGNING_KEY, tenant_id=victim, sender=sender, now=an_hour_ago
        ),
    ]


@pytest.mark.parametrize(
    "action",
    [
        ActionHandoff,
        ActionLlmAnswer,
        ActionRegistrarConsentimento,
        ActionSolicitarAcessoDados,
        ActionSolicitarExclusaoDados,
    ],
)
def test_actions_open_no_data_for_a_tenant_the_worker_did_not_sign(
    channel: Channel, action: Any
) -> None:
    from atende.observability import logger

    class Records(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    seen = Records()
    logging.getLogger(logger.name).addHandler(seen)
    _seed_kb(channel)
    conversation_id = _conversation(channel)
    before = _tenant_snapshot(channel, conversation_id)
    for metadata in _forged(channel, conversation_id):
        dispatcher = CollectingDispatcher()
        tracker = tracker_for(
            channel,
            conversation_id,
            "quero meus dados",
            "meus_dados",
            metadata=metadata,
        )
        events = action().run(dispatcher, tracker, {})
        assert events == []
        # One neutral answer, nothing of the tenant's in it.
        [reply] = dispatcher.messages
        assert "protocolo" not in reply["text"] and "http" not in reply["text"]
        assert _tenant_snapshot(channel, conversation_id) == before
    logging.getLogger(logger.name).removeHandler(seen)
    refusals = [r for r in seen.records if r.getMessage() == "tenant not verified"]
    assert [r.levelno for r in refusals] == [logging.ERROR] * 5
    # Why, for whom: never the metadata itself.
    assert {r.__dict__["reason"] for r in refusals} == {
        "missing_or_malformed",
        "bad_signature",
        "expired",
    }
    assert all("tenant_signature" not in r.__dict__ for r in refusals)


# -- the handoff message answers what the customer just said (issue 18, 3) ------


def _handoff_text(ch: Channel, text: str, intent: str, **slots: Any) -> str:
    conversation_id = _conversation(ch)
    dispatcher = CollectingDispatcher()
    ActionHandoff().run(
        dispatcher, tracker_for(ch, conversation_id, text, intent, **slots), {}
    )
    [message] = dispatcher.messages
    return str(message["text"])


def test_handoff_after_a_question_it_cant_answer_does_not_open_with_yes(
    channel: Channel,
) -> None:
    """ "Certo!" after "vocês vendem passagem…?" reads as a yes."""
    text = _handoff_text(
        channel,
        "vocês vendem passagem de avião?",
        "fora_do_escopo",
        llm_disponivel=False,
    )
    assert not text.startswith("Certo")
    assert "não consigo te responder" in text


def test_handoff_after_a_valid_cpf_says_it_was_received_masked(
    channel: Channel,
) -> None:
    text = _handoff_text(channel, "52998224725", "informar_cpf", cpf="529.982.247-25")
    assert "Recebi seu CPF (***.***.***-25)" in text
    assert "529.982" not in text


def test_handoff_after_empathy_does_not_announce_the_handoff_twice(
    channel: Channel,
) -> None:
    """utter_empatia_reclamacao already said a person takes over."""
    text = _handoff_text(channel, "quero reclamar", "reclamacao")
    assert "Vou te passar" not in text


def test_typed_consent_already_in_force_is_not_asked_again(channel: Channel) -> None:
    conversation_id = _conversation(channel)
    with db.tenant_transaction(channel.tenant_id) as conn:
        customer_id = store.get_conversation(conn, conversation_id).customer_id
        lgpd.record_consent(
            conn,
            customer_id=customer_id,
            granted=True,
            source="whatsapp_bot",
            context=RequestContext(Actor("system", "bot")),
        )
    dispatcher = CollectingDispatcher()
    ActionRegistrarConsentimento().run(
        dispatcher,
        tracker_for(channel, conversation_id, "sim, autorizo", "consentimento_aceitar"),
        {},
    )
    assert [(m["text"], m["buttons"]) for m in dispatcher.messages] == [
        (ALREADY_GRANTED, [])
    ]
    # Typed words that would change the decision still need a tap.
    refusal = CollectingDispatcher()
    ActionRegistrarConsentimento().run(
        refusal,
        tracker_for(channel, conversation_id, "não autorizo", "consentimento_recusar"),
        {},
    )
    assert refusal.messages[0]["text"] == CONFIRM_CONSENT


# -- clarifying a low-confidence message ----------------------------------------


def _low_confidence(text: str, ranking: list[tuple[str, float]]) -> Tracker:
    """A turn the FallbackClassifier marked ``nlu_fallback``, with DIET's ranking."""
    message = {
        "text": text,
        "intent": {"name": "nlu_fallback", "confidence": 0.6},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.6},
            *({"name": n, "confidence": c} for n, c in ranking),
        ],
        "entities": [],
    }
    return Tracker(
        sender_id=str(uuid4()),
        slots={},
        latest_message=message,
        events=[{"event": "user", "text": text, "parse_data": message}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def test_clarifying_question_offers_the_likeliest_intents_never_consent() -> None:
    dispatcher = CollectingDispatcher()
    events = ActionEsclarecer().run(
        dispatcher,
        _low_confidence(
            "aceito o boleto de marco",
            [
                ("consentimento_aceitar", 0.41),
                ("segunda_via_boleto", 0.33),
                ("afirmar", 0.1),
                ("status_pedido", 0.08),
                ("consentimento_recusar", 0.04),
                ("cancelar", 0.02),
                ("horario_atendimento", 0.01),
            ],
        ),
        {},
    )
    assert events == []
    [asked] = dispatcher.messages
    assert "outras palavras" in asked["text"]
    # In the ranking's order; consent and yes/no are never offered.
    assert [(b["payload"], b["title"]) for b in asked["buttons"]] == [
        ("/segunda_via_boleto", "2ª via do boleto"),
        ("/status_pedido", "Status do pedido"),
        ("/cancelar", "Cancelar serviço"),
    ]


def test_clarifying_question_without_an_option_asks_to_rephrase() -> None:
    dispatcher = CollectingDispatcher()
    ActionEsclarecer().run(
        dispatcher,
        _low_confidence(
            "hmm",
            [("afirmar", 0.5), ("consentimento_recusar", 0.3), ("saudacao", 0.2)],
        ),
        {},
    )
    [asked] = dispatcher.messages
    assert "outras palavras" in asked["text"] and not asked.get("buttons")


def test_clarifying_options_fit_whatsapp_buttons_and_exist_in_the_domain() -> None:
    import yaml

    from tests.support.channel import ROOT

    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())
    assert set(CLARIFY_OPTIONS) <= set(domain["intents"])
    assert not {"consentimento_aceitar", "consentimento_recusar"} & set(CLARIFY_OPTIONS)
    assert all(0 < len(title) <= 20 for title in CLARIFY_OPTIONS.values())
