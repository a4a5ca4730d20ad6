"""Issue 14, point 9 in the API: the tenant's WhatsApp templates listed from
the Graph API (paged, cached, refreshed by supervisors), template sends
checked against that list (variables filled, only approved ones), the charge
hint, and the typing indicator (holder only, inside the window, throttled)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from atende import db, tenancy
from atende.console import templates
from atende.conversations.handoff import handoff_to_human
from atende.whatsapp.pricing import charge
from tests.support.channel import Channel, drain, post_webhook, signed, text_update
from tests.support.identity import IdentityPool, SignedIn, call_api

pytestmark = pytest.mark.integration

TEMPLATES = "/v1/console/templates"


def _claimed(
    ch: Channel, pool: IdentityPool, wamid: str, user: str
) -> tuple[UUID, SignedIn]:
    post_webhook(*signed(text_update("quero um atendente", wamid=wamid, user_id=user)))
    drain(ch)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT v.id FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.wa_user_id = %s AND v.state <> 'closed'",
            (user,),
        ).fetchone()
    assert row is not None
    conversation_id = UUID(str(row["id"]))
    assert handoff_to_human(
        ch.tenant_id, conversation_id, reason="pedido_do_cliente", summary=None
    )
    ana = pool.attendant(ch.tenant_id)
    assert (
        call_api("post", f"/v1/console/conversations/{conversation_id}/claim", ana)[0]
        == 200
    )
    return conversation_id, ana


def _close_window(ch: Channel, conversation_id: UUID) -> None:
    with db.tenant_transaction(ch.tenant_id) as conn:
        conn.execute(
            "UPDATE conversations SET last_inbound_at = now() - interval '25 hours'"
            " WHERE id = %s",
            (conversation_id,),
        )


def _template_calls(ch: Channel) -> list[dict[str, Any]]:
    return [r for r in ch.graph.requests() if r["path"].endswith("/message_templates")]


def _names(listing: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["name"], t["status"]) for t in listing["templates"]]


def test_templates_are_listed_from_meta_page_by_page_and_cached(
    channel: Channel, identity_pool: IdentityPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(templates, "PAGE_SIZE", 2)  # five templates: three pages
    ana = identity_pool.attendant(channel.tenant_id)
    sup = identity_pool.attendant(channel.tenant_id, "supervisor")

    status, listing = call_api("get", TEMPLATES, ana)
    assert status == 200 and listing["stale"] is False
    # Attendants are offered the approved ones only, with category and variables.
    assert _names(listing) == [
        ("atualizacao_pedido", "APPROVED"),
        ("promocao_clientes", "APPROVED"),
        ("retomar_atendimento", "APPROVED"),
    ]
    update = listing["templates"][0]
    assert update["category"] == "UTILITY" and update["parameters"] == ["1", "2"]
    assert update["body"].startswith("Olá, {{1}}! Seu pedido {{2}}")
    assert listing["templates"][1]["parameters"] == ["nome"]  # a named parameter
    calls = _template_calls(channel)
    assert len(calls) == 3  # Meta's paging followed to the end
    assert [("after" in c["query"]) for c in calls] == [False, True, True]
    assert calls[0]["query"]["fields"] == (
        "name,status,category,language,components,parameter_format"
    )
    assert all(c["method"] == "GET" and c["authorization_present"] for c in calls)

    # Supervisors also see the pending and rejected ones, after the approved.
    status, listing = call_api("get", TEMPLATES, sup)
    assert _names(listing)[3:] == [
        ("oferta_relampago", "REJECTED"),
        ("pesquisa_satisfacao", "PENDING"),
    ]
    assert [t["approved"] for t in listing["templates"]] == [True] * 3 + [False] * 2
    assert len(_template_calls(channel)) == 3  # served from the cache

    # A template approved at Meta meanwhile: the cache still answers until a
    # supervisor refreshes (attendants may not).
    channel.graph.set_templates(
        [
            {
                "name": "boas_vindas",
                "language": "pt_BR",
                "status": "APPROVED",
                "category": "MARKETING",
                "components": [{"type": "BODY", "text": "Bem-vindo!"}],
            }
        ]
    )
    assert "boas_vindas" not in str(call_api("get", TEMPLATES, ana)[1])
    status, body = call_api("post", f"{TEMPLATES}/refresh", ana)
    assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    status, listing = call_api("post", f"{TEMPLATES}/refresh", sup)
    assert status == 200 and _names(listing) == [("boas_vindas", "APPROVED")]
    assert _names(call_api("get", TEMPLATES, ana)[1]) == [("boas_vindas", "APPROVED")]
    with db.tenant_transaction(channel.tenant_id) as conn:
        refreshed = conn.execute(
            "SELECT actor_id FROM audit_events"
            " WHERE action = 'WHATSAPP_TEMPLATES_REFRESHED'"
        ).fetchall()
    assert [r["actor_id"] for r in refreshed] == [str(sup.attendant_id)]

    # Past the TTL the list is read again; Meta down: the last list, marked stale.
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE whatsapp_template_catalogs"
            " SET fetched_at = fetched_at - interval '16 minutes'"
        )
    channel.graph.script({"status": 400, "error": {"code": 100}})
    status, listing = call_api("get", TEMPLATES, ana)
    assert status == 200 and listing["stale"] is True
    assert _names(listing) == [("boas_vindas", "APPROVED")]
    # A refresh that cannot reach Meta says so, and keeps the cache.
    channel.graph.script({"status": 400, "error": {"code": 100}})
    status, body = call_api("post", f"{TEMPLATES}/refresh", sup)
    assert status == 503 and body["error"]["code"] == "MODELOS_INDISPONIVEIS"
    channel.graph.set_templates([])
    status, listing = call_api("get", TEMPLATES, ana)  # stale: read again
    assert status == 200 and listing == {**listing, "templates": [], "stale": False}


def test_another_tenant_never_sees_our_templates(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    ana = identity_pool.attendant(channel.tenant_id)
    assert len(call_api("get", TEMPLATES, ana)[1]["templates"]) == 3
    other = tenancy.create_tenant("Outra Loja").tenant.id
    bia = identity_pool.attendant(other, "supervisor")
    # No WhatsApp Business Account of its own: nothing to list, ours unseen.
    status, body = call_api("get", TEMPLATES, bia)
    assert status == 503 and body["error"]["code"] == "MODELOS_INDISPONIVEIS"
    assert "WABA" in body["error"]["message"]
    with db.tenant_transaction(other) as conn:
        seen = conn.execute("SELECT count(*) AS n FROM whatsapp_templates").fetchone()
    assert seen is not None and seen["n"] == 0


def test_template_sends_are_checked_against_the_cached_list(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(
        channel, identity_pool, "wamid.TPL1", "BR.5500000000000901"
    )
    path = f"/v1/console/conversations/{conversation_id}/messages"
    _close_window(channel, conversation_id)
    before = len(channel.sent())

    def refused(template: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, body = call_api("post", path, ana, {"template": template})
        return status, body["error"]

    status, error = refused(
        {"name": "atualizacao_pedido", "parameters": {"1": "Maria", "2": "  "}}
    )
    assert (status, error["code"]) == (400, "VARIAVEIS_DO_MODELO_FALTANDO")
    assert error["message"] == "Preencha as variáveis {{2}} do modelo antes de enviar."
    assert error["details"] == {"missing": ["2"]}
    status, error = refused({"name": "atualizacao_pedido"})
    assert error["details"] == {"missing": ["1", "2"]}
    status, error = refused({"name": "pesquisa_satisfacao", "parameters": {"1": "A"}})
    assert (status, error["code"]) == (409, "MODELO_NAO_APROVADO")
    status, error = refused({"name": "nao_existe"})
    assert (status, error["code"]) == (400, "MODELO_INEXISTENTE")
    status, error = refused({"name": "retomar_atendimento", "parameters": {"9": "x"}})
    assert (status, error["code"]) == (400, "ENTRADA_INVALIDA")
    status, error = refused(
        {"name": "atualizacao_pedido", "parameters": {"1": "Maria\nSouza", "2": "1"}}
    )
    assert (status, error["code"]) == (400, "ENTRADA_INVALIDA")
    # Nothing half-sent: no call to Meta, no message stored.
    assert len(channel.sent()) == before
    with db.tenant_transaction(channel.tenant_id) as conn:
        stored = conn.execute(
            "SELECT count(*) AS n FROM messages WHERE type = 'template'"
        ).fetchone()
    assert stored is not None and stored["n"] == 0

    status, message = call_api(
        "post",
        path,
        ana,
        {
            "template": {
                "name": "atualizacao_pedido",
                "language": "pt_BR",
                "parameters": {"1": " Maria ", "2": "A-1234"},
            }
        },
    )
    assert status == 201 and message["type"] == "template"
    assert message["body"].startswith(
        "[modelo: atualizacao_pedido] Olá, Maria! Seu pedido A-1234 teve"
    )
    sent = channel.sent()[-1]["template"]
    assert sent["name"] == "atualizacao_pedido"
    assert sent["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Maria"},
                {"type": "text", "text": "A-1234"},
            ],
        }
    ]
    status, _ = call_api(
        "post",
        path,
        ana,
        {"template": {"name": "promocao_clientes", "parameters": {"nome": "Maria"}}},
    )
    assert status == 201
    assert channel.sent()[-1]["template"]["components"][0]["parameters"] == [
        {"type": "text", "parameter_name": "nome", "text": "Maria"}
    ]


def test_the_charge_hint_follows_category_and_window(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(
        channel, identity_pool, "wamid.TPL2", "BR.5500000000000902"
    )
    url = f"{TEMPLATES}?conversation={conversation_id}"
    hints = {t["name"]: t["charge"] for t in call_api("get", url, ana)[1]["templates"]}
    # Window open: a utility template is free, a marketing one is charged.
    assert hints["atualizacao_pedido"] == {
        "charged": False,
        "note": "Modelo de utilidade na janela: sem cobrança da Meta.",
    }
    assert hints["promocao_clientes"] == {
        "charged": True,
        "note": "Modelo de marketing: mensagem cobrada pela Meta.",
    }
    _close_window(channel, conversation_id)
    hints = {t["name"]: t["charge"] for t in call_api("get", url, ana)[1]["templates"]}
    assert hints["atualizacao_pedido"]["charged"] is True
    # Another attendant's conversation is no business of Bia's.
    bia = identity_pool.attendant(channel.tenant_id)
    assert call_api("get", url, bia)[0] == 404


def test_the_pricing_rule_by_date() -> None:
    before, after = date(2026, 9, 30), date(2026, 10, 1)
    assert charge(None, window_open=True, on=before).charged is False
    assert charge(None, window_open=True, on=after).charged is True
    assert charge("AUTHENTICATION", window_open=True, on=after).charged is True
    assert charge("UTILITY", window_open=False, on=before).charged is True


def test_typing_goes_to_meta_for_the_holder_inside_the_window_throttled(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(
        channel, identity_pool, "wamid.TYP1", "BR.5500000000000903"
    )
    path = f"/v1/console/conversations/{conversation_id}/typing"
    status, body = call_api("post", path, ana)
    assert status == 200 and body["outcome"] == "sent"
    assert channel.graph.typing() == [
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.TYP1",  # the customer's last message
            "typing_indicator": {"type": "text"},
        }
    ]
    # At most one call per 20 s per conversation.
    assert call_api("post", path, ana)[1]["outcome"] == "throttled"
    assert len(channel.graph.typing()) == 1
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute("UPDATE typing_signals SET sent_at = sent_at - interval '21 s'")
    assert call_api("post", path, ana)[1]["outcome"] == "sent"
    # A reply hides the indicator at WhatsApp: the next keystroke shows it again.
    messages = f"/v1/console/conversations/{conversation_id}/messages"
    assert call_api("post", messages, ana, {"text": "Um momento."})[0] == 201
    assert call_api("post", path, ana)[1]["outcome"] == "sent"
    assert len(channel.graph.typing()) == 3

    # Only the holder: another attendant, a supervisor, another tenant.
    bia = identity_pool.attendant(channel.tenant_id)
    sup = identity_pool.attendant(channel.tenant_id, "supervisor")
    for who in (bia, sup):
        status, body = call_api("post", path, who)
        assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    stranger = identity_pool.attendant(tenancy.create_tenant("Outra").tenant.id)
    assert call_api("post", path, stranger)[0] == 404

    # Meta refuses: logged, reported as not sent, never an error.
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute("DELETE FROM typing_signals")
    channel.graph.script({"status": 400, "error": {"code": 100}})
    status, body = call_api("post", path, ana)
    assert status == 200 and body["outcome"] == "whatsapp_failed"
    assert len(channel.graph.typing()) == 4  # the refused call

    # Never outside the window.
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute("DELETE FROM typing_signals")
    _close_window(channel, conversation_id)
    status, body = call_api("post", path, ana)
    assert status == 409 and body["error"]["code"] == "JANELA_24H_ENCERRADA"
    assert len(channel.graph.typing()) == 4
