"""Issue 18, the attendant's side through the console API: handoff reasons in
words and true (8), one CPF masking rule for the summary and the history (8),
transfers only to existing teams, with a note (9), and the conversation's
activity from its audit trail (10).

Real PostgreSQL, moto's Cognito, the Chalice app through its test client.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from atende import consent, db
from atende.audit import Actor, RequestContext
from atende.conversations.handoff import handoff_to_human
from tests.support.channel import Channel, drain, post_webhook, signed, text_update
from tests.support.identity import IdentityPool, call_api

CPF = "529.982.247-25"  # valid check digits
NOT_A_CPF = "12345678901"  # eleven digits, check digits wrong: an order number


def _conversation(ch: Channel, *, wamid: str, user: str, text: str) -> UUID:
    post_webhook(*signed(text_update(text, wamid=wamid, user_id=user)))
    drain(ch)
    with db.tenant_transaction(ch.tenant_id) as conn:
        row = conn.execute(
            "SELECT v.id FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.wa_user_id = %s AND v.state <> 'closed'",
            (user,),
        ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def _grant_consent(ch: Channel, conversation_id: UUID) -> None:
    with db.tenant_transaction(ch.tenant_id) as conn:
        customer = conn.execute(
            "SELECT customer_id FROM conversations WHERE id = %s", (conversation_id,)
        ).fetchone()
        assert customer is not None
        consent.record_consent(
            conn,
            customer_id=customer["customer_id"],
            granted=True,
            source="whatsapp_bot",
            context=RequestContext(Actor("system", "bot")),
        )


def _queued(who: Any, conversation_id: UUID) -> dict[str, Any]:
    status, body = call_api("get", "/v1/console/queue", who)
    assert status == 200
    [item] = [q for q in body["queue"] if q["conversation_id"] == str(conversation_id)]
    return dict(item)


def test_no_consent_is_the_reason_given_not_an_unavailable_llm(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    sup = identity_pool.attendant(channel.tenant_id, "supervisor")
    silent = _conversation(
        channel, wamid="wamid.T18a", user="BR.1800000000000001", text="oi"
    )
    assert handoff_to_human(
        channel.tenant_id, silent, reason="llm_indisponivel", summary=None
    )
    item = _queued(sup, silent)
    assert (item["reason"], item["reason_label"]) == (
        "sem_consentimento_ia",
        "Sem consentimento para IA",
    )

    # With consent the LLM was really asked, and really down.
    agreed = _conversation(
        channel, wamid="wamid.T18b", user="BR.1800000000000002", text="oi"
    )
    _grant_consent(channel, agreed)
    assert handoff_to_human(
        channel.tenant_id, agreed, reason="llm_indisponivel", summary=None
    )
    item = _queued(sup, agreed)
    assert (item["reason"], item["reason_label"]) == (
        "llm_indisponivel",
        "IA indisponível",
    )
    status, detail = call_api("get", f"/v1/console/conversations/{agreed}", sup)
    assert status == 200
    assert detail["handoff"]["reason_label"] == "IA indisponível"


def test_a_cpf_reads_the_same_in_the_summary_and_in_the_history(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id = _conversation(
        channel,
        wamid="wamid.T18c",
        user="BR.1800000000000003",
        text=f"meu cpf é {CPF}, pedido {NOT_A_CPF}",
    )
    assert handoff_to_human(
        channel.tenant_id,
        conversation_id,
        reason="reclamacao",
        summary=f"CPF validado {CPF}",
    )
    for role in ("attendant", "supervisor", "admin"):
        who = identity_pool.attendant(channel.tenant_id, role)
        status, detail = call_api(
            "get", f"/v1/console/conversations/{conversation_id}", who
        )
        assert status == 200, role
        [inbound] = [m for m in detail["messages"] if m["direction"] == "inbound"]
        assert inbound["body"] == f"meu cpf é ***.***.***-25, pedido {NOT_A_CPF}"
        assert detail["handoff"]["summary"] == "CPF validado ***.***.***-25"
        assert detail["handoff"]["reason_label"] == "Reclamação"
        assert _queued(who, conversation_id)["summary"] == "CPF validado ***.***.***-25"


def test_a_transfer_goes_only_to_a_team_that_exists_with_a_note(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    bia = identity_pool.attendant(channel.tenant_id)
    billing = identity_pool.attendant(channel.tenant_id, team="Financeiro")
    identity_pool.attendant(channel.tenant_id, team="Vendas")
    conversation_id = _conversation(
        channel, wamid="wamid.T18d", user="BR.1800000000000004", text="oi"
    )
    assert handoff_to_human(
        channel.tenant_id, conversation_id, reason="pedido_do_cliente", summary=None
    )
    path = f"/v1/console/conversations/{conversation_id}"
    assert call_api("post", f"{path}/claim", bia)[0] == 200

    status, teams = call_api("get", "/v1/console/teams", bia)
    assert status == 200 and teams == {"teams": ["Financeiro", "Vendas"]}

    # A typo is refused, in words, and the conversation stays with Bia.
    status, body = call_api("post", f"{path}/transfer", bia, {"team": "financeiro"})
    assert status == 400
    assert body["error"] == {
        "code": "EQUIPE_INEXISTENTE",
        "message": "Equipe não encontrada. Escolha uma das equipes da lista.",
    }
    mine = call_api("get", "/v1/console/conversations", bia)[1]["conversations"]
    assert [c["conversation_id"] for c in mine] == [str(conversation_id)]

    note = "Cliente quer parcelar em 3x; já conferi o cadastro."
    status, moved = call_api(
        "post", f"{path}/transfer", bia, {"team": "Financeiro", "note": note}
    )
    assert status == 200 and moved["state"] == "waiting_human"
    assert call_api("post", f"{path}/claim", billing)[0] == 200
    status, detail = call_api("get", path, billing)
    assert [n["body"] for n in detail["notes"]] == [note]
    bia_name = detail["notes"][0]["attendant"]
    billing_name = call_api("get", "/v1/console/me", billing)[1]["display_name"]
    assert [a["text"] for a in detail["activity"]] == [
        "Encaminhada para atendimento: Pediu atendente",
        f"{bia_name} assumiu a conversa",
        f"Transferida por {bia_name} para a equipe Financeiro",
        f"{billing_name} assumiu a conversa",
    ]


def test_the_activity_tells_who_moved_the_conversation(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    bia = identity_pool.attendant(channel.tenant_id)
    sup = identity_pool.attendant(channel.tenant_id, "supervisor")
    conversation_id = _conversation(
        channel, wamid="wamid.T18e", user="BR.1800000000000005", text="oi"
    )
    assert handoff_to_human(
        channel.tenant_id, conversation_id, reason="cancelamento", summary=None
    )
    path = f"/v1/console/conversations/{conversation_id}"
    assert call_api("post", f"{path}/claim", bia)[0] == 200
    sup_id = str(sup.attendant_id)
    # The supervisor takes it over: a transfer to themselves.
    assert call_api("post", f"{path}/transfer", sup, {"attendant_id": sup_id})[0] == 200
    assert call_api("post", f"{path}/close", sup, {"reason": "Resolvido"})[0] == 200
    status, detail = call_api("get", path, sup)
    assert status == 200
    names = {
        who.attendant_id: call_api("get", "/v1/console/me", who)[1]["display_name"]
        for who in (bia, sup)
    }
    bia_name, sup_name = names[bia.attendant_id], names[sup.attendant_id]
    assert [a["text"] for a in detail["activity"]] == [
        "Encaminhada para atendimento: Cancelamento",
        f"{bia_name} assumiu a conversa",
        f"{sup_name} assumiu o atendimento (estava com {bia_name})",
        f"Encerrada por {sup_name}",
    ]
