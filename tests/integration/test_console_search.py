"""The console's search (``GET /v1/console/search``): conversations by message
text (Portuguese, accents folded), customer name, phone, @username, protocol
and label; keyset pages; only what the caller may open; another tenant's
conversations never; bad input refused with a stable code; audited without
the term."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

import pytest

from atende import db, tenancy
from atende.console import search
from tests.support.identity import IdentityPool, SignedIn, call_api

pytestmark = pytest.mark.integration

BASE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(database: Any, aws_mock: None) -> tenancy.ProvisionedTenant:
    return tenancy.create_tenant("Loja da Busca")


def _one(tenant_id: UUID, query: str, *params: Any) -> Any:
    with db.tenant_transaction(tenant_id) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row["id"]


def _conversation(
    tenant_id: UUID,
    *,
    name: str | None = "Cliente",
    phone: str | None = None,
    username: str | None = None,
    texts: tuple[str, ...] = (),
    state: str = "with_human",
    assigned: UUID | None = None,
    team: str | None = None,
    minutes: int = 0,
) -> UUID:
    """A customer with one conversation (``minutes`` after BASE) and its messages."""
    customer = _one(
        tenant_id,
        "INSERT INTO customers (tenant_id, wa_user_id, display_name, phone, username)"
        " VALUES (current_tenant_id(), %s, %s, %s, %s) RETURNING id",
        f"BR.{uuid4().int % 10**16}",
        name,
        phone,
        username,
    )
    at = BASE + timedelta(minutes=minutes)
    conversation: UUID = _one(
        tenant_id,
        "INSERT INTO conversations (tenant_id, customer_id, state, team,"
        " assigned_attendant_id, last_activity_at, closed_at)"
        " VALUES (current_tenant_id(), %s, %s, %s, %s, %s, %s) RETURNING id",
        customer,
        state,
        team,
        assigned,
        at,
        at if state == "closed" else None,
    )
    for n, text in enumerate(texts):
        _one(
            tenant_id,
            "INSERT INTO messages (tenant_id, conversation_id, direction, type,"
            " body, created_at) VALUES (current_tenant_id(), %s, 'inbound', 'text',"
            " %s, %s) RETURNING id",
            conversation,
            text,
            at - timedelta(seconds=len(texts) - n),
        )
    return conversation


def _search(who: SignedIn, **query: str) -> tuple[int, dict[str, Any]]:
    return call_api("get", "/v1/console/search?" + urlencode(query), who)


def _ids(body: dict[str, Any]) -> list[str]:
    return [r["conversation_id"] for r in body["results"]]


@pytest.fixture(params=["rare words", "common words"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways words are looked up: the holders of the rarest word, or every
    conversation walked newest first (what a large tenant's common word gets)."""
    if request.param == "common words":
        monkeypatch.setattr(search, "_rare_words", lambda *_: None)
    return str(request.param)


def test_message_text_is_found_in_portuguese_with_a_highlighted_excerpt(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool, plan: str
) -> None:
    tenant = shop.tenant.id
    sup = identity_pool.attendant(tenant, "supervisor")
    boleto = _conversation(
        tenant,
        name="Joana",
        texts=(
            "Bom dia, tudo bem?",
            "Não recebi os boletos da minha assinatura, meu CPF é 529.982.247-25",
            "obrigada",
        ),
        minutes=1,
    )
    pedro = _conversation(tenant, name="Pedro", texts=("Quero trocar o endereço",))
    secret = _conversation(tenant, name="Rui", texts=())
    _one(
        tenant,
        "INSERT INTO messages (tenant_id, conversation_id, direction, type, body,"
        " payload) VALUES (current_tenant_id(), %s, 'outbound', 'text',"
        " 'seu link de boleto unico', '{\"secret\": true}') RETURNING id",
        secret,
    )

    # Stemmed ("boleto" finds "boletos") and accents folded ("nao" finds "Não").
    status, body = _search(sup, q="boleto nao recebido")
    assert status == 200, body
    assert _ids(body) == [str(boleto)]  # never the hidden one-time link
    hit = body["results"][0]
    assert (hit["customer"], hit["state"], hit["matched_by"]) == (
        "Joana",
        "with_human",
        "text",
    )
    marked = [p["text"] for p in hit["snippet"] if p["hit"]]
    assert marked == ["Não", "recebi", "boletos"]
    excerpt = "".join(p["text"] for p in hit["snippet"])
    assert "***.***.***-25" in excerpt and "529.982" not in excerpt  # CPF masked
    # A phrase in quotes, and a word that is nowhere.
    assert _ids(_search(sup, q='"trocar o endereco"')[1]) == [str(pedro)]
    assert _ids(_search(sup, q='"endereco trocar"')[1]) == []
    assert _ids(_search(sup, q="cancelamento")[1]) == []
    # The conversation is the document: words of different messages, the
    # customer's name with a word, either word, a word excluded.
    assert _ids(_search(sup, q="assinatura obrigada")[1]) == [str(boleto)]
    assert _ids(_search(sup, q="joana boletos")[1]) == [str(boleto)]
    assert _ids(_search(sup, q="endereço or assinatura")[1]) == [
        str(boleto),
        str(pedro),
    ]
    assert _ids(_search(sup, q="bom -boleto")[1]) == []
    assert _ids(_search(sup, q="o de")[1]) == []  # only stop words


def test_name_phone_username_and_protocol_find_the_customer(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    sup = identity_pool.attendant(tenant, "supervisor")
    maria = _conversation(tenant, name="Maria Conceição", phone="5511987654321")
    user = _conversation(tenant, name=None, username="loja.fan", minutes=1)
    other = _conversation(tenant, name="Pedro", phone="5521912345678", minutes=2)
    request = _one(
        tenant,
        "INSERT INTO lgpd_requests (tenant_id, customer_id, kind)"
        " SELECT current_tenant_id(), customer_id, 'access' FROM conversations"
        " WHERE id = %s RETURNING id",
        other,
    )

    assert _ids(_search(sup, q="conceicao")[1]) == [str(maria)]
    assert _search(sup, q="conceicao")[1]["results"][0]["matched_by"] == "name"
    # Any way the number is written: no 55, no ninth digit, with punctuation.
    for phone in ("(11) 98765-4321", "11 8765-4321", "+55 11 98765 4321"):
        status, body = _search(sup, q=phone)
        assert status == 200 and _ids(body) == [str(maria)], phone
        assert body["results"][0]["phone"] == "•••• 4321"  # masked
    status, body = _search(sup, q="@Loja.Fan")
    assert _ids(body) == [str(user)]
    assert body["results"][0]["customer"] == "@loja.fan"
    # A conversation's own protocol, and an LGPD request's (its customer).
    assert _ids(_search(sup, q=str(maria)[:8])[1]) == [str(maria)]
    assert _ids(_search(sup, q=f"#{str(request)[:8].upper()}")[1]) == [str(other)]


def test_label_alone_or_with_a_term_and_pages_by_cursor(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    sup = identity_pool.attendant(tenant, "supervisor")
    status, vip = call_api(
        "post", "/v1/console/labels", sup, {"name": "VIP", "color": "#aa0000"}
    )
    assert status == 201
    # Seven conversations mentioning "entrega", two sharing a timestamp.
    convs = [
        _conversation(tenant, texts=("a entrega atrasou",), minutes=n // 2)
        for n in range(7)
    ]
    for conv in convs[:3]:
        path = f"/v1/console/conversations/{conv}/labels/{vip['id']}"
        assert call_api("put", path, sup)[0] == 200

    newest_first = sorted(
        convs,
        key=lambda c: (convs.index(c) // 2, str(c)),
        reverse=True,
    )
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"q": "entregas", "limit": "3"} | ({"cursor": cursor} if cursor else {})
        status, body = _search(sup, **query)
        assert status == 200 and len(body["results"]) <= 3
        seen += _ids(body)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(c) for c in newest_first]

    status, body = _search(sup, label=vip["id"])
    assert status == 200 and set(_ids(body)) == {str(c) for c in convs[:3]}
    assert body["results"][0]["matched_by"] == "label"
    assert body["results"][0]["labels"][0]["name"] == "VIP"
    status, body = _search(sup, q="entrega", label=vip["id"], limit="50")
    assert set(_ids(body)) == {str(c) for c in convs[:3]}


def test_attendants_find_only_their_own_and_their_queues_conversations(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    ana = identity_pool.attendant(tenant, team="vendas")
    bia = identity_pool.attendant(tenant)
    sup = identity_pool.attendant(tenant, "supervisor")
    text = ("quero o reembolso",)
    mine = _conversation(tenant, texts=text, assigned=ana.attendant_id)
    closed_mine = _conversation(
        tenant, texts=text, state="closed", assigned=ana.attendant_id
    )
    general = _conversation(tenant, texts=text, state="waiting_human")
    my_team = _conversation(tenant, texts=text, state="waiting_human", team="vendas")
    other_team = _conversation(tenant, texts=text, state="waiting_human", team="sac")
    bias = _conversation(tenant, texts=text, assigned=bia.attendant_id)
    with_bot = _conversation(tenant, texts=text, state="bot")

    status, body = _search(ana, q="reembolso")
    assert status == 200
    assert set(_ids(body)) == {str(c) for c in (mine, closed_mine, general, my_team)}
    assert set(_ids(_search(sup, q="reembolso")[1])) == {
        str(c)
        for c in (mine, closed_mine, general, my_team, other_team, bias, with_bot)
    }
    # Each result opens: the search never lists what opening would refuse.
    for conv in _ids(body):
        assert call_api("get", f"/v1/console/conversations/{conv}", ana)[0] == 200


def test_another_tenant_finds_none_of_these_conversations(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    conv = _conversation(
        tenant,
        name="Maria Souza",
        phone="5511987654321",
        username="maria",
        texts=("pagamento do pedido",),
    )
    other = tenancy.create_tenant("Outra Loja").tenant.id
    theirs = identity_pool.attendant(other, "admin")
    for q in ("pagamento", "maria", "11987654321", "@maria", str(conv)[:8]):
        status, body = _search(theirs, q=q)
        assert status == 200 and body["results"] == [], q
    # Their own data is found: the searches above do work.
    own = identity_pool.attendant(tenant, "admin")
    assert _ids(_search(own, q="pagamento")[1]) == [str(conv)]


def test_bad_input_is_refused_with_a_stable_code(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    sup = identity_pool.attendant(tenant, "supervisor")
    cases = [
        ({}, "BUSCA_VAZIA", "Digite o que procurar ou escolha uma etiqueta."),
        ({"q": "   "}, "BUSCA_VAZIA", None),
        ({"q": "a"}, "BUSCA_INVALIDA", "Digite um telefone (com DDD)"),
        ({"q": "x" * 101}, "BUSCA_INVALIDA", None),
        ({"q": "1234-5678"}, "BUSCA_INVALIDA", None),  # a number without DDD
        ({"q": "pedido", "label": str(uuid4())}, "ETIQUETA_INEXISTENTE", None),
        ({"q": "pedido", "label": "vip"}, "ENTRADA_INVALIDA", None),
        ({"q": "pedido", "cursor": "bm9wZQ"}, "CURSOR_INVALIDO", None),
        ({"q": "pedido", "limit": "51"}, "LIMITE_INVALIDO", None),
    ]
    for query, code, message in cases:
        status, body = _search(sup, **query)
        assert status == 400 and body["error"]["code"] == code, (query, body)
        if message is not None:
            assert body["error"]["message"].startswith(message)
    assert call_api("get", "/v1/console/search?q=pedido")[0] == 401


def test_the_search_is_audited_without_the_term(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    tenant = shop.tenant.id
    ana = identity_pool.attendant(tenant)
    _conversation(tenant, phone="5511987654321", assigned=ana.attendant_id)
    assert _search(ana, q="11 98765-4321")[0] == 200
    assert _search(ana, q="Maria Souza")[0] == 200
    with db.tenant_transaction(tenant) as conn:
        events = conn.execute(
            "SELECT actor_id, details::text AS raw, details FROM audit_events"
            " WHERE action = 'CONVERSATIONS_SEARCHED' ORDER BY id"
        ).fetchall()
    assert [(e["actor_id"], e["details"]["search_kind"]) for e in events] == [
        (str(ana.attendant_id), "phone"),
        (str(ana.attendant_id), "words"),
    ]
    assert events[0]["details"]["rows"] == 1
    for event in events:
        assert not any(
            secret in event["raw"] for secret in ("98765", "4321", "Maria", "Souza")
        )


def _terms(tenant_id: UUID, conversation: UUID) -> set[str]:
    with db.tenant_transaction(tenant_id) as conn:
        rows = conn.execute(
            "SELECT lexeme FROM conversation_terms WHERE conversation_id = %s",
            (conversation,),
        ).fetchall()
    return {r["lexeme"] for r in rows}


def test_the_words_follow_the_messages_and_the_name(
    shop: tenancy.ProvisionedTenant, identity_pool: IdentityPool
) -> None:
    """conversation_terms is kept by triggers: a deleted or changed text
    (erasure, retention) takes its words along, a hidden one never adds them,
    a renamed customer is found by the new name only."""
    tenant = shop.tenant.id
    sup = identity_pool.attendant(tenant, "supervisor")
    conv = _conversation(tenant, name="Joana", texts=("geladeira amassada", "oi"))
    _one(
        tenant,
        "INSERT INTO messages (tenant_id, conversation_id, direction, type, body,"
        " payload) VALUES (current_tenant_id(), %s, 'outbound', 'text',"
        " 'link secreto', '{\"secret\": true}') RETURNING id",
        conv,
    )
    assert {"geladeir", "amass", "joan"} <= _terms(tenant, conv)
    assert "secret" not in _terms(tenant, conv)
    assert _ids(_search(sup, q="secreto")[1]) == []

    with db.tenant_transaction(tenant) as conn:
        conn.execute(
            "DELETE FROM messages WHERE conversation_id = %s AND body LIKE 'gel%%'",
            (conv,),
        )
        conn.execute(
            "UPDATE customers SET display_name = 'Marta' WHERE id ="
            " (SELECT customer_id FROM conversations WHERE id = %s)",
            (conv,),
        )
    assert "geladeir" not in _terms(tenant, conv)
    assert _ids(_search(sup, q="geladeira")[1]) == []
    assert _ids(_search(sup, q="joana")[1]) == []
    assert _ids(_search(sup, q="marta")[1]) == [str(conv)]
    # Statuses and turns leave the words alone.
    with db.tenant_transaction(tenant) as conn:
        conn.execute(
            "UPDATE messages SET status = 'read' WHERE conversation_id = %s", (conv,)
        )
    assert _terms(tenant, conv) == {"mart", "oi"}
