"""Canned responses in the console's API: who manages which, the rules on
shortcuts, bodies and variables, and another tenant's invisibility."""

from __future__ import annotations

import pytest

from atende import db, tenancy
from tests.support.identity import IdentityPool, call_api

pytestmark = pytest.mark.integration

PATH = "/v1/console/canned-responses"


def _canned(
    scope: str = "team", shortcut: str = "saudacao", **extra: str
) -> dict[str, str]:
    return {
        "scope": scope,
        "shortcut": shortcut,
        "title": extra.get("title", "Saudação"),
        "body": extra.get("body", "Olá, {{nome}}! Sou {{atendente}}."),
    }


def test_supervisors_manage_team_responses_and_everyone_their_own(
    database: object, identity_pool: IdentityPool
) -> None:
    tenant = tenancy.create_tenant("Loja").tenant.id
    sup = identity_pool.attendant(tenant, "supervisor")
    ana = identity_pool.attendant(tenant)
    bia = identity_pool.attendant(tenant)

    status, team = call_api("post", PATH, sup, _canned(shortcut=" /Saudacao "))
    assert status == 201 and team["scope"] == "team"
    assert team["shortcut"] == "saudacao"  # trimmed, "/" dropped, lower case
    # An attendant may not create, edit or delete the team's responses.
    status, body = call_api("post", PATH, ana, _canned(shortcut="preco"))
    assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    assert call_api("put", f"{PATH}/{team['id']}", ana, _canned())[0] == 403
    assert call_api("delete", f"{PATH}/{team['id']}", ana)[0] == 403

    status, mine = call_api(
        "post", PATH, ana, _canned("personal", "saudacao", body="Oi, {{nome}}")
    )
    assert status == 201 and mine["scope"] == "personal"  # same shortcut, own scope
    listed = call_api("get", PATH, ana)[1]["canned_responses"]
    assert sorted((c["scope"], c["shortcut"]) for c in listed) == [
        ("personal", "saudacao"),
        ("team", "saudacao"),
    ]
    # Another attendant (and the supervisor) sees only the team's; Ana's own
    # response does not exist for them.
    assert [c["id"] for c in call_api("get", PATH, bia)[1]["canned_responses"]] == [
        team["id"]
    ]
    assert [c["id"] for c in call_api("get", PATH, sup)[1]["canned_responses"]] == [
        team["id"]
    ]
    assert call_api("put", f"{PATH}/{mine['id']}", bia, _canned())[0] == 404
    assert call_api("delete", f"{PATH}/{mine['id']}", sup)[0] == 404

    status, edited = call_api(
        "put", f"{PATH}/{mine['id']}", ana, _canned(shortcut="oi", title="Oi")
    )
    assert status == 200 and edited["shortcut"] == "oi"
    assert edited["scope"] == "personal"
    status, edited = call_api(
        "put", f"{PATH}/{team['id']}", sup, _canned(body="Bom dia, {{ nome }}")
    )
    assert status == 200 and edited["body"] == "Bom dia, {{ nome }}"
    assert call_api("delete", f"{PATH}/{mine['id']}", ana)[0] == 204
    assert call_api("get", PATH, ana)[1]["canned_responses"] == [edited]

    with db.tenant_transaction(tenant) as conn:
        actions = conn.execute(
            "SELECT action, details FROM audit_events"
            " WHERE subject_type = 'canned_response' ORDER BY id"
        ).fetchall()
    assert [a["action"] for a in actions] == [
        "CANNED_RESPONSE_CREATED",
        "CANNED_RESPONSE_CREATED",
        "CANNED_RESPONSE_UPDATED",
        "CANNED_RESPONSE_UPDATED",
        "CANNED_RESPONSE_DELETED",
    ]
    assert actions[0]["details"] == {"scope": "team", "shortcut": "saudacao"}


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"shortcut": ""}, 400, "ATALHO_INVALIDO"),
        ({"shortcut": "   "}, 400, "ATALHO_INVALIDO"),
        ({"shortcut": "boas vindas"}, 400, "ATALHO_INVALIDO"),
        ({"shortcut": "saudação"}, 400, "ATALHO_INVALIDO"),
        ({"shortcut": "x" * 33}, 400, "ATALHO_INVALIDO"),
        ({"body": "x" * 4097}, 400, "RESPOSTA_LONGA_DEMAIS"),
        ({"body": "   "}, 400, "ENTRADA_INVALIDA"),
        ({"title": ""}, 400, "ENTRADA_INVALIDA"),
        ({"body": "Seu pedido {{pedido}} saiu"}, 400, "VARIAVEL_DESCONHECIDA"),
        ({"body": "Olá {{}}"}, 400, "VARIAVEL_DESCONHECIDA"),
        ({"scope": "tenant"}, 400, "ENTRADA_INVALIDA"),
    ],
)
def test_bad_input_gets_a_stable_code_and_a_message_in_portuguese(
    database: object,
    identity_pool: IdentityPool,
    change: dict[str, str],
    status: int,
    code: str,
) -> None:
    tenant = tenancy.create_tenant("Loja").tenant.id
    sup = identity_pool.attendant(tenant, "supervisor")
    got, body = call_api("post", PATH, sup, {**_canned(), **change})
    assert (got, body["error"]["code"]) == (status, code)
    assert body["error"]["message"]
    assert call_api("get", PATH, sup)[1]["canned_responses"] == []  # nothing stored


def test_a_duplicate_shortcut_in_the_same_scope_is_refused(
    database: object, identity_pool: IdentityPool
) -> None:
    tenant = tenancy.create_tenant("Loja").tenant.id
    sup = identity_pool.attendant(tenant, "supervisor")
    assert call_api("post", PATH, sup, _canned())[0] == 201
    status, body = call_api("post", PATH, sup, _canned(title="Outra"))
    assert status == 409 and body["error"]["code"] == "ATALHO_DUPLICADO"
    assert "/saudacao" in body["error"]["message"]
    status, other = call_api("post", PATH, sup, _canned(shortcut="tchau"))
    status, body = call_api("put", f"{PATH}/{other['id']}", sup, _canned())
    assert status == 409 and body["error"]["code"] == "ATALHO_DUPLICADO"
    # 4,096 characters is the limit itself, not past it.
    assert call_api("post", PATH, sup, _canned("personal", body="x" * 4096))[0] == 201


def test_another_tenant_sees_none_of_our_canned_responses(
    database: object, identity_pool: IdentityPool
) -> None:
    ours = tenancy.create_tenant("Loja").tenant.id
    sup = identity_pool.attendant(ours, "supervisor")
    status, team = call_api("post", PATH, sup, _canned())
    assert status == 201

    other = tenancy.create_tenant("Outra Loja").tenant.id
    theirs = identity_pool.attendant(other, "admin")
    assert call_api("get", PATH, theirs)[1]["canned_responses"] == []
    assert call_api("put", f"{PATH}/{team['id']}", theirs, _canned())[0] == 404
    assert call_api("delete", f"{PATH}/{team['id']}", theirs)[0] == 404
    # The same shortcut is free in another tenant.
    assert call_api("post", PATH, theirs, _canned())[0] == 201
    assert len(call_api("get", PATH, sup)[1]["canned_responses"]) == 1
