"""The attendant console's API: sign-in, queue, claim race, reply, transfer, roles.

Real PostgreSQL, moto (Cognito, SQS, KMS), the Graph API stand-in, the Chalice
app through its test client.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from typing import Any
from uuid import UUID

import pytest
from app import app
from chalice.test import Client

from atende import db, tenancy
from atende.conversations.handoff import handoff_to_human
from atende.observability import logger
from tests.support.channel import (
    Channel,
    drain,
    fixture,
    post_webhook,
    signed,
    text_update,
)
from tests.support.identity import PASSWORD, IdentityPool, SignedIn, call_api


def _waiting_conversation(
    ch: Channel,
    *,
    wamid: str,
    user: str = "BR.1502576394655843",
    reason: str = "pedido_do_cliente",
    text: str = "quero falar com um atendente",
) -> UUID:
    """A customer writes; the bot hands the conversation off."""
    post_webhook(*signed(text_update(text, wamid=wamid, user_id=user)))
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
        ch.tenant_id, conversation_id, reason=reason, summary="Motivo: pedido"
    )
    return conversation_id


def test_sign_in_gives_a_token_the_api_accepts(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    ana = identity_pool.attendant(channel.tenant_id, "attendant")
    status, me = call_api("get", "/v1/console/me", ana)
    assert status == 200
    assert me["email"] == ana.email and me["role"] == "attendant"
    assert me["tenant_id"] == str(channel.tenant_id)

    status, body = call_api(
        "post", "/v1/console/session", body={"email": ana.email, "password": "errada"}
    )
    assert status == 401 and body["error"]["code"] == "NAO_AUTENTICADO"
    assert body["error"]["message"] == "E-mail ou senha incorretos."

    # Through a shift the console renews its ID token with the refresh token.
    status, session = call_api(
        "post", "/v1/console/session", body={"email": ana.email, "password": PASSWORD}
    )
    assert status == 200 and session["refresh_token"]
    status, renewed = call_api(
        "post",
        "/v1/console/session",
        body={"refresh_token": session["refresh_token"]},
    )
    assert status == 200 and renewed["expires_in"] > 0
    renewed_ana = SignedIn(ana.attendant_id, ana.email, renewed["token"])
    assert call_api("get", "/v1/console/me", renewed_ana)[1]["email"] == ana.email
    status, body = call_api(
        "post", "/v1/console/session", body={"refresh_token": "nao-e-um-token"}
    )
    assert status == 401 and body["error"]["code"] == "NAO_AUTENTICADO"


def test_requests_without_a_valid_token_are_refused(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    status, body = call_api("get", "/v1/console/queue")
    assert status == 401 and body["error"]["code"] == "NAO_AUTENTICADO"
    with Client(app) as client:
        response = client.http.get(
            "/v1/console/queue", headers={"Authorization": "Bearer abc.def.ghi"}
        )
    assert response.status_code == 401

    # A deactivated attendant's still-valid token stops working at once.
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    ana = identity_pool.attendant(channel.tenant_id, "attendant")
    status, _ = call_api(
        "patch", f"/v1/console/attendants/{ana.attendant_id}", admin, {"active": False}
    )
    assert status == 200
    status, body = call_api("get", "/v1/console/queue", ana)
    assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"


def test_queue_lists_waiting_conversations_by_priority_then_wait(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    ana = identity_pool.attendant(channel.tenant_id)
    first = _waiting_conversation(channel, wamid="wamid.Q1", user="BR.1")
    urgent = _waiting_conversation(
        channel, wamid="wamid.Q2", user="BR.2", reason="reclamacao"
    )
    status, body = call_api("get", "/v1/console/queue", ana)
    assert status == 200
    assert [q["conversation_id"] for q in body["queue"]] == [str(urgent), str(first)]
    assert body["total"] == 2
    item = body["queue"][1]
    assert item["reason"] == "pedido_do_cliente"
    assert item["summary"] == "Motivo: pedido"
    assert item["waiting_s"] >= 0 and item["priority"] == 0
    assert item["phone"] == "•••• 4321"  # masked in the queue


def test_two_attendants_claiming_at_once_one_wins_the_other_gets_409(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id = _waiting_conversation(channel, wamid="wamid.C1")
    ana = identity_pool.attendant(channel.tenant_id)
    bia = identity_pool.attendant(channel.tenant_id)
    results: dict[str, tuple[int, dict[str, Any]]] = {}
    barrier = threading.Barrier(2)

    def claim(who: SignedIn) -> None:
        barrier.wait()
        results[who.email] = call_api(
            "post", f"/v1/console/conversations/{conversation_id}/claim", who
        )

    threads = [threading.Thread(target=claim, args=(w,)) for w in (ana, bia)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(status for status, _ in results.values())
    assert statuses == [200, 409]
    winner = next(e for e, (s, _) in results.items() if s == 200)
    loser_body = next(b for s, b in results.values() if s == 409)
    assert loser_body["error"]["code"] == "CONFLITO"
    assert "já foi assumida" in loser_body["error"]["message"]
    with db.tenant_transaction(channel.tenant_id) as conn:
        row = conn.execute(
            "SELECT v.state, a.email FROM conversations v"
            " JOIN attendants a ON a.id = v.assigned_attendant_id WHERE v.id = %s",
            (conversation_id,),
        ).fetchone()
        claims = conn.execute(
            "SELECT count(*) AS n FROM audit_events"
            " WHERE action = 'CONVERSATION_CLAIMED'"
        ).fetchone()
    assert row == {"state": "with_human", "email": winner}
    assert claims == {"n": 1}
    # The queue no longer shows it.
    assert call_api("get", "/v1/console/queue", ana)[1]["queue"] == []


def test_another_tenants_attendant_sees_nothing_of_ours(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id = _waiting_conversation(channel, wamid="wamid.X1")
    other = tenancy.create_tenant("Outra Loja").tenant.id
    boss = identity_pool.attendant(other, "admin")
    assert call_api("get", "/v1/console/queue", boss)[1]["queue"] == []
    assert call_api("get", "/v1/console/conversations?scope=all", boss)[1] == {
        "conversations": [],
        "next_cursor": None,
    }
    for method, path in (
        ("get", f"/v1/console/conversations/{conversation_id}"),
        ("post", f"/v1/console/conversations/{conversation_id}/claim"),
    ):
        status, body = call_api(method, path, boss)
        assert status == 404 and body["error"]["code"] == "NAO_ENCONTRADO"
    names = {
        a["email"]
        for a in call_api("get", "/v1/console/attendants", boss)[1]["attendants"]
    }
    assert names == {boss.email}


def _claimed(ch: Channel, pool: IdentityPool, wamid: str) -> tuple[UUID, SignedIn]:
    conversation_id = _waiting_conversation(ch, wamid=wamid)
    ana = pool.attendant(ch.tenant_id)
    status, _ = call_api(
        "post", f"/v1/console/conversations/{conversation_id}/claim", ana
    )
    assert status == 200
    return conversation_id, ana


def test_reply_reaches_whatsapp_and_the_history_shows_its_status(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool, "wamid.R1")
    path = f"/v1/console/conversations/{conversation_id}"
    status, message = call_api(
        "post", f"{path}/messages", ana, {"text": "Olá! Sou a Ana, vou te ajudar."}
    )
    assert status == 201 and message["status"] == "sent"
    sent = channel.sent()[-1]
    assert sent["type"] == "text"
    assert sent["text"]["body"] == "Olá! Sou a Ana, vou te ajudar."

    # Meta reports delivery; the history shows it.
    with db.tenant_transaction(channel.tenant_id) as conn:
        wamid = conn.execute(
            "SELECT wamid FROM messages WHERE id = %s", (message["id"],)
        ).fetchone()
    assert wamid is not None
    delivered = fixture("status_delivered")
    delivered["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamid["wamid"]
    post_webhook(*signed(delivered))
    drain(channel)
    status, detail = call_api("get", path, ana)
    assert status == 200 and detail["state"] == "with_human"
    assert detail["window_open"] is True
    assert detail["handoff"]["reason"] == "pedido_do_cliente"
    last = detail["messages"][-1]
    assert (last["body"], last["status"], last["attendant"]) == (
        "Olá! Sou a Ana, vou te ajudar.",
        "delivered",
        message["attendant"],
    )
    assert detail["messages"][0]["direction"] == "inbound"

    # Reading it was recorded as an access to personal data.
    with db.tenant_transaction(channel.tenant_id) as conn:
        viewed = conn.execute(
            "SELECT actor_type, actor_id, request_id FROM audit_events"
            " WHERE action = 'CONVERSATION_VIEWED' AND subject_id = %s",
            (str(conversation_id),),
        ).fetchall()
    assert [(v["actor_type"], v["actor_id"]) for v in viewed] == [
        ("attendant", str(ana.attendant_id))
    ]
    assert viewed[0]["request_id"]


def test_reply_rules(channel: Channel, identity_pool: IdentityPool) -> None:
    conversation_id, ana = _claimed(channel, identity_pool, "wamid.R2")
    path = f"/v1/console/conversations/{conversation_id}/messages"
    bia = identity_pool.attendant(channel.tenant_id)
    status, body = call_api("post", path, bia, {"text": "oi"})
    assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    for bad in (
        {"text": "   "},
        {"text": "x" * 5000},
        {"template": {"name": "Oi!"}},
        {"template": {"name": "retomar", "components": ["a", 1]}},
    ):
        status, body = call_api("post", path, ana, bad)
        assert status == 400 and body["error"]["code"] == "ENTRADA_INVALIDA"
    before = len(channel.sent())

    # Over 24 hours after the customer's last message: only templates.
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE conversations SET last_inbound_at = now() - interval '25 hours'"
            " WHERE id = %s",
            (conversation_id,),
        )
    status, body = call_api("post", path, ana, {"text": "Ainda precisa de ajuda?"})
    assert status == 409 and body["error"]["code"] == "JANELA_24H_ENCERRADA"
    assert len(channel.sent()) == before  # nothing went out, nothing stored
    status, message = call_api(
        "post", path, ana, {"template": {"name": "retomar_atendimento"}}
    )
    assert status == 201 and message["type"] == "template"
    sent = channel.sent()[-1]
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "retomar_atendimento"
    assert sent["template"]["language"] == {"code": "pt_BR"}
    status, detail = call_api(
        "get", f"/v1/console/conversations/{conversation_id}", ana
    )
    assert detail["window_open"] is False
    assert [m["type"] for m in detail["messages"] if m["direction"] == "outbound"][
        -1
    ] == "template"
    assert sum(m["body"] == "Ainda precisa de ajuda?" for m in detail["messages"]) == 0


def test_attendants_move_only_their_own_conversations_supervisors_any(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool, "wamid.P1")
    bia = identity_pool.attendant(channel.tenant_id)
    sup = identity_pool.attendant(channel.tenant_id, "supervisor")
    path = f"/v1/console/conversations/{conversation_id}"

    # An attendant can't reassign, return or close someone else's conversation,
    # nor read it, nor list everyone's.
    for method, suffix, payload in (
        ("post", "/transfer", {"attendant_id": str(bia.attendant_id)}),
        ("post", "/return-to-bot", None),
        ("post", "/close", {"reason": "resolvido"}),
        ("get", "", None),
    ):
        status, error = call_api(method, path + suffix, bia, payload)
        assert status == 403, suffix
        assert error["error"]["code"] == "ACESSO_NEGADO"
    assert call_api("get", "/v1/console/conversations?scope=all", bia)[0] == 403
    status, _ = call_api(
        "post", "/v1/console/attendants", bia, {"email": "x@y.com", "display_name": "X"}
    )
    assert status == 403

    # A supervisor reassigns it to Bia; she now has it, Ana no longer.
    status, moved = call_api(
        "post", f"{path}/transfer", sup, {"attendant_id": str(bia.attendant_id)}
    )
    assert status == 200 and moved["state"] == "with_human"
    mine = call_api("get", "/v1/console/conversations", bia)[1]["conversations"]
    assert [c["conversation_id"] for c in mine] == [str(conversation_id)]
    assert call_api("get", "/v1/console/conversations", ana)[1]["conversations"] == []
    everyone = call_api("get", "/v1/console/conversations?scope=all", sup)[1]
    assert everyone["conversations"][0]["attendant"] is not None

    # Bia sends it to the billing team's queue; an attendant of another team
    # doesn't see it, one of billing does.
    sales = identity_pool.attendant(channel.tenant_id, team="vendas")
    billing = identity_pool.attendant(channel.tenant_id, team="financeiro")
    status, _ = call_api("post", f"{path}/transfer", bia, {"team": "financeiro"})
    assert status == 200
    assert call_api("get", "/v1/console/queue", sales)[1]["queue"] == []
    assert call_api("get", "/v1/console/queue", ana)[1]["queue"] == []  # no team
    assert len(call_api("get", "/v1/console/queue", sup)[1]["queue"]) == 1
    [queued] = call_api("get", "/v1/console/queue", billing)[1]["queue"]
    assert (queued["team"], queued["reason"]) == ("financeiro", "transferencia")
    assert queued["summary"] == "Motivo: pedido"  # the bot's summary travels along
    assert call_api("post", f"{path}/claim", sales)[0] == 403
    assert call_api("post", f"{path}/claim", billing)[0] == 200

    status, body = call_api("post", f"{path}/transfer", billing, {})
    assert status == 400
    status, body = call_api("post", f"{path}/close", billing, {"reason": " "})
    assert status == 400 and body["error"]["code"] == "ENTRADA_INVALIDA"
    status, closed = call_api("post", f"{path}/close", sup, {"reason": "Resolvido"})
    assert status == 200 and closed["state"] == "closed"
    status, body = call_api("post", f"{path}/close", sup, {"reason": "de novo"})
    assert status == 409
    with db.tenant_transaction(channel.tenant_id) as conn:
        actions = [
            r["action"]
            for r in conn.execute(
                "SELECT action FROM audit_events WHERE subject_id = %s ORDER BY id",
                (str(conversation_id),),
            ).fetchall()
        ]
    assert actions == [
        "HANDOFF_REQUESTED",
        "CONVERSATION_CLAIMED",
        "CONVERSATION_TRANSFERRED",
        "CONVERSATION_TRANSFERRED",
        "CONVERSATION_CLAIMED",
        "CONVERSATION_CLOSED",
    ]


def test_return_to_bot_when_rasa_is_down_changes_nothing(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool, "wamid.B1")
    channel.rasa.down = True
    path = f"/v1/console/conversations/{conversation_id}"
    status, body = call_api("post", f"{path}/return-to-bot", ana)
    assert status == 502 and body["error"]["message"]
    assert call_api("get", path, ana)[1]["state"] == "with_human"
    channel.rasa.down = False
    status, body = call_api("post", f"{path}/return-to-bot", ana)
    assert status == 200 and body["state"] == "bot"
    with db.tenant_transaction(channel.tenant_id) as conn:
        row = conn.execute(
            "SELECT state, assigned_attendant_id FROM conversations WHERE id = %s",
            (conversation_id,),
        ).fetchone()
    assert row == {"state": "bot", "assigned_attendant_id": None}
    assert channel.rasa.resumed == [str(conversation_id)]


def test_admins_invite_and_manage_attendants(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    admin = identity_pool.attendant(channel.tenant_id, "admin")
    status, created = call_api(
        "post",
        "/v1/console/attendants",
        admin,
        {"email": "Carla@Loja.example", "display_name": "Carla", "role": "supervisor"},
    )
    assert status == 201
    assert (created["email"], created["role"], created["active"]) == (
        "carla@loja.example",
        "supervisor",
        True,
    )
    status, body = call_api(
        "post",
        "/v1/console/attendants",
        admin,
        {"email": "carla@loja.example", "display_name": "Carla"},
    )
    assert status == 409 and body["error"]["code"] == "CONFLITO"
    status, body = call_api(
        "post",
        "/v1/console/attendants",
        admin,
        {"email": "d@loja.example", "display_name": "D", "role": "chefe"},
    )
    assert status == 400 and "Perfil inválido" in body["error"]["message"]
    # Invited users sign in with the temporary password Cognito e-mailed them,
    # and must choose a new one first.
    status, changed = call_api(
        "patch", f"/v1/console/attendants/{created['id']}", admin, {"role": "attendant"}
    )
    assert status == 200 and changed["role"] == "attendant"
    status, _body = call_api(
        "patch",
        f"/v1/console/attendants/{admin.attendant_id}",
        admin,
        {"active": False},
    )
    assert status == 403


def test_first_access_asks_for_a_new_password(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    from atende import aws

    admin = identity_pool.attendant(channel.tenant_id, "admin")
    call_api(
        "post",
        "/v1/console/attendants",
        admin,
        {"email": "nova@loja.example", "display_name": "Nova"},
    )
    aws.client("cognito-idp").admin_set_user_password(
        UserPoolId=identity_pool.pool_id,
        Username="nova@loja.example",
        Password="Temporaria-123",
        Permanent=False,
    )
    status, body = call_api(
        "post",
        "/v1/console/session",
        body={"email": "nova@loja.example", "password": "Temporaria-123"},
    )
    assert status == 409 and body["error"]["code"] == "SENHA_PROVISORIA"
    status, session = call_api(
        "post",
        "/v1/console/session",
        body={
            "email": "nova@loja.example",
            "session": body["error"]["details"]["session"],
            "new_password": "Nova-senha-forte-1",
        },
    )
    assert status == 200
    me = call_api(
        "get",
        "/v1/console/me",
        SignedIn(UUID(int=0), "nova@loja.example", session["token"]),
    )[1]
    assert me["email"] == "nova@loja.example"


def test_cli_invites_a_tenants_first_admin(
    channel: Channel,
    identity_pool: IdentityPool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from atende import cli

    invite = ["attendant", "invite", "--tenant", str(channel.tenant_id)]
    invite += ["--email", "dona@loja.example", "--name"]
    assert cli.main([*invite, "Dona da Loja"]) == 0
    assert "Atendente convidado: Dona da Loja (admin)" in capsys.readouterr().out
    with db.tenant_transaction(channel.tenant_id) as conn:
        row = conn.execute(
            "SELECT role, active, identity_sub IS NOT NULL AS linked FROM attendants"
            " WHERE email = 'dona@loja.example'"
        ).fetchone()
    assert row == {"role": "admin", "active": True, "linked": True}
    # The same e-mail again is refused in PT-BR.
    assert cli.main([*invite, "Dona"]) == 1
    assert "Já existe um atendente com este e-mail." in capsys.readouterr().err


def test_every_request_is_logged_with_who_from_where_and_when(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    ana = identity_pool.attendant(channel.tenant_id)
    # The lines as production writes them: the app logger's own formatter.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_handler.formatter)
    app_log = logging.getLogger(logger.name)  # Powertools' underlying logger
    app_log.addHandler(handler)
    try:
        call_api("get", "/v1/console/me", ana)
        call_api("get", "/v1/console/queue")  # no token: logged too, without an actor
    finally:
        app_log.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line.get("message") == "request"]
    assert [(a["path"], a["status"]) for a in access] == [
        ("/v1/console/me", 200),
        ("/v1/console/queue", 401),
    ]
    assert access[0]["actor"] == f"attendant:{ana.attendant_id}"
    assert "actor" not in access[1]  # nothing carried over from the last request
    for line in access:
        assert line["ip"] and line["timestamp"].endswith("-03:00")
        assert line["correlation_id"] and line["duration_ms"] >= 0


def test_a_malformed_outbox_item_fails_alone_and_later_replies_still_go(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool, "wamid.M1")
    with db.tenant_transaction(channel.tenant_id) as conn:
        from atende.conversations import store

        bad = store.enqueue_outbound(
            conn,
            conversation_id=conversation_id,
            body="[modelo]",
            type_="template",
            payload={"template": {"name": "ok", "components": ["não é objeto"]}},
        )
    path = f"/v1/console/conversations/{conversation_id}/messages"
    status, message = call_api("post", path, ana, {"text": "Seguimos por aqui."})
    assert status == 201 and message["status"] == "sent"
    with db.tenant_transaction(channel.tenant_id) as conn:
        row = conn.execute(
            "SELECT status, error_code FROM messages WHERE id = %s", (bad,)
        ).fetchone()
    assert row == {"status": "failed", "error_code": "MENSAGEM_MALFORMADA"}
    assert channel.sent()[-1]["text"]["body"] == "Seguimos por aqui."


def test_an_invitation_whose_row_fails_leaves_no_pool_user(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    from botocore.exceptions import ClientError

    from atende import aws

    admin = identity_pool.attendant(channel.tenant_id, "admin")
    with db.tenant_transaction(channel.tenant_id) as conn:  # a row without a user
        conn.execute(
            "INSERT INTO attendants (tenant_id, email, display_name, role)"
            " VALUES (current_tenant_id(), 'eva@loja.example', 'Eva', 'attendant')"
        )
    invite = {"email": "eva@loja.example", "display_name": "Eva"}
    status, body = call_api("post", "/v1/console/attendants", admin, invite)
    assert status == 409 and body["error"]["message"] == (
        "Já existe um atendente com este e-mail."
    )
    with pytest.raises(ClientError, match="UserNotFoundException"):
        aws.client("cognito-idp").admin_get_user(
            UserPoolId=identity_pool.pool_id, Username="eva@loja.example"
        )


def test_one_time_links_are_never_shown_to_attendants(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    from atende.conversations import messages_ptbr as texts
    from atende.conversations import store

    conversation_id, ana = _claimed(channel, identity_pool, "wamid.S1")
    with db.tenant_transaction(channel.tenant_id) as conn:
        store.enqueue_outbound(
            conn,
            conversation_id=conversation_id,
            body="• Planilha: https://api/v1/lgpd/exports/x/dados.xlsx?token=t.s",
            secret=True,
        )
    status, detail = call_api(
        "get", f"/v1/console/conversations/{conversation_id}", ana
    )
    assert status == 200
    [hidden] = [m for m in detail["messages"] if m["status"] == "pending"]
    assert hidden["body"] == texts.ONE_TIME_LINKS_HIDDEN
    assert "token=" not in json.dumps(detail)


def test_a_conversation_reassigned_while_rasa_resumes_stays_with_people(
    channel: Channel, identity_pool: IdentityPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id, ana = _claimed(channel, identity_pool, "wamid.RR1")
    bia = identity_pool.attendant(channel.tenant_id)
    bot = channel.engine.bot
    resume = bot.resume

    def reassigned_meanwhile(sender: str) -> None:
        with db.tenant_transaction(channel.tenant_id) as conn:
            conn.execute(
                "UPDATE conversations SET assigned_attendant_id = %s WHERE id = %s",
                (bia.attendant_id, conversation_id),
            )
        resume(sender)

    monkeypatch.setattr(bot, "resume", reassigned_meanwhile)
    path = f"/v1/console/conversations/{conversation_id}/return-to-bot"
    status, body = call_api("post", path, ana)
    assert status == 403 and body["error"]["code"] == "ACESSO_NEGADO"
    with db.tenant_transaction(channel.tenant_id) as conn:
        row = conn.execute(
            "SELECT state FROM conversations WHERE id = %s", (conversation_id,)
        ).fetchone()
    assert row == {"state": "with_human"}


def test_a_reply_with_an_unfilled_variable_is_refused_and_the_protocol_shown(
    channel: Channel, identity_pool: IdentityPool
) -> None:
    """The composer fills {{protocolo}} from the conversation; any client that
    sends a blank gets the code, and nothing goes to the customer."""
    conversation_id, ana = _claimed(channel, identity_pool, "wamid.P1")
    path = f"/v1/console/conversations/{conversation_id}"
    status, detail = call_api("get", path, ana)
    assert status == 200
    assert detail["protocol"] == str(conversation_id).split("-")[0].upper()
    before = len(channel.sent())
    for text in ("Seu protocolo: {{protocolo}}", "Oi, {{ nome }}!"):
        status, body = call_api("post", f"{path}/messages", ana, {"text": text})
        assert status == 400 and body["error"]["code"] == "VARIAVEL_NAO_PREENCHIDA"
        assert "Preencha {{" in body["error"]["message"]
    assert len(channel.sent()) == before
    with db.tenant_transaction(channel.tenant_id) as conn:
        stored = conn.execute(
            "SELECT count(*) AS n FROM messages WHERE body LIKE '%%{{%%'"
        ).fetchone()
    assert stored == {"n": 0}
    status, _ = call_api(
        "post", f"{path}/messages", ana, {"text": f"Protocolo {detail['protocol']}"}
    )
    assert status == 201
