"""The WhatsApp channel end to end: signed webhook → SQS FIFO (moto) → worker →
conversation engine (real PostgreSQL) → Graph API stand-in."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from atende import aws, db
from atende.bot.signing import verify_tenant
from atende.conversations.engine import RetryLater
from atende.whatsapp.updates import StatusUpdate, parse_webhook
from tests.support.channel import (
    ACTION_SIGNING_KEY,
    APP_SECRET,
    VERIFY_TOKEN,
    Channel,
    api_app,
    drain,
    fixture,
    post_webhook,
    signed,
    text_update,
)

pytestmark = pytest.mark.integration


def _rows(ch: Channel, sql: str, *params: Any) -> list[dict[str, Any]]:
    with db.tenant_transaction(ch.tenant_id) as conn:
        return conn.execute(sql, params).fetchall()


# -- webhook ---------------------------------------------------------------


def test_valid_signature_is_accepted_and_enqueued(channel: Channel) -> None:
    body, signature = signed(text_update("oi", wamid="wamid.A1"))
    response = post_webhook(body, signature)
    assert response.status_code == 200
    [queued] = channel.queued()
    message = json.loads(queued["Body"])
    assert message["tenant_id"] == str(channel.tenant_id)
    assert message["update"]["wamid"] == "wamid.A1"


def test_missing_signature_is_401(channel: Channel) -> None:
    body, _ = signed(text_update("oi", wamid="wamid.A2"))
    response = post_webhook(body, None)
    assert response.status_code == 401
    assert json.loads(response.body)["error"]["code"] == "ASSINATURA_AUSENTE"
    assert channel.queued() == []


def test_tampered_body_is_403(channel: Channel) -> None:
    body, signature = signed(text_update("oi", wamid="wamid.A3"))
    response = post_webhook(body.replace(b"oi", b"ol"), signature)
    assert response.status_code == 403
    assert json.loads(response.body)["error"]["code"] == "ASSINATURA_INVALIDA"
    assert channel.queued() == []


def test_wrong_secret_is_403(channel: Channel) -> None:
    body, signature = signed(text_update("oi", wamid="wamid.A4"), secret="other-secret")
    assert post_webhook(body, signature).status_code == 403
    assert channel.queued() == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "ENTRADA_INVALIDA"),
        (b'{"object": "page", "entry": []}', "ENTRADA_INVALIDA"),
    ],
)
def test_malformed_payloads_are_400(channel: Channel, body: bytes, code: str) -> None:
    from atende.whatsapp.webhook import sign

    response = post_webhook(body, sign(body, APP_SECRET))
    assert response.status_code == 400
    error = json.loads(response.body)["error"]
    assert error["code"] == code and error["message"]
    assert channel.queued() == []


def test_unknown_business_number_gets_200_and_stores_nothing(channel: Channel) -> None:
    payload = text_update("oi", wamid="wamid.A5")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    response = post_webhook(*signed(payload))
    assert response.status_code == 200
    assert json.loads(response.body) == {"received": 0}
    assert channel.queued() == []


def test_subscription_verification(channel: Channel) -> None:
    with Client(api_app()) as client:
        ok = client.http.get(
            "/whatsapp/webhook?hub.mode=subscribe"
            f"&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
        )
        wrong = client.http.get(
            "/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1"
        )
    assert (ok.status_code, ok.body) == (200, b"1158201444")
    assert wrong.status_code == 403


@pytest.fixture
def seeded_secret(channel: Channel, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The WhatsApp secret as template.yaml seeds it, before operators fill it."""
    from atende import composition
    from atende.config import get_settings

    values = {"app_secret": "SET-ME", "access_token": "SET-ME", "verify_token": ""}
    arn = aws.client("secretsmanager").create_secret(
        Name="atende/test/whatsapp", SecretString=json.dumps(values)
    )["ARN"]
    monkeypatch.setenv("WHATSAPP_SECRET_ARN", arn)
    get_settings.cache_clear()
    composition.secrets.cache_clear()  # the engine stays the channel's stand-in
    return values


def _logged_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]


def test_a_placeholder_app_secret_never_verifies_a_signature(
    seeded_secret: dict[str, str], channel: Channel, caplog: pytest.LogCaptureFixture
) -> None:
    # Anyone can read SET-ME in the template and sign with it.
    body, signature = signed(text_update("oi", wamid="wamid.P1"), secret="SET-ME")
    response = post_webhook(body, signature)
    assert response.status_code == 503, response.body
    error = json.loads(response.body)["error"]
    assert error["code"] == "WEBHOOK_NAO_CONFIGURADO" and error["message"]
    assert channel.queued() == []
    assert "whatsapp webhook secret unset" in _logged_errors(caplog)
    # Unsigned or otherwise signed: the same 503, nothing learnt about the secret.
    assert post_webhook(body, None).status_code == 503
    assert post_webhook(*signed(text_update("oi", wamid="wamid.P2"))).status_code == (
        503
    )


@pytest.mark.parametrize("token", ["", "SET-ME", "  set-me "])
def test_an_empty_or_placeholder_verify_token_never_verifies_a_subscription(
    seeded_secret: dict[str, str],
    channel: Channel,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    token: str,
) -> None:
    from atende import composition
    from atende.config import get_settings

    values = {**seeded_secret, "app_secret": APP_SECRET, "verify_token": token}
    aws.client("secretsmanager").put_secret_value(
        SecretId="atende/test/whatsapp", SecretString=json.dumps(values)
    )
    get_settings.cache_clear()
    composition.secrets.cache_clear()  # the engine stays the channel's stand-in
    with Client(api_app()) as client:
        response = client.http.get(
            "/whatsapp/webhook?hub.mode=subscribe"
            f"&hub.verify_token={token.strip()}&hub.challenge=1158201444"
        )
    assert response.status_code == 503, response.body
    assert json.loads(response.body)["error"]["code"] == "WEBHOOK_NAO_CONFIGURADO"
    assert "whatsapp webhook secret unset" in _logged_errors(caplog)
    # A real app secret keeps working alongside.
    assert post_webhook(*signed(text_update("oi", wamid="wamid.P3"))).status_code == (
        200
    )


# -- worker and engine -----------------------------------------------------


def test_message_goes_through_queue_worker_and_bot_to_whatsapp(
    channel: Channel,
) -> None:
    assert (
        post_webhook(
            *signed(text_update("oi, tudo bem?", wamid="wamid.B1"))
        ).status_code
        == 200
    )
    assert drain(channel) == 1
    [stored] = _rows(
        channel,
        "SELECT body, direction, turn_state FROM messages WHERE wamid = 'wamid.B1'",
    )
    assert stored == {
        "body": "oi, tudo bem?",
        "direction": "inbound",
        "turn_state": "done",
    }
    [turn] = channel.rasa.calls
    [conversation] = _rows(channel, "SELECT id, state FROM conversations")
    assert turn["sender"] == str(conversation["id"])
    assert turn["metadata"]["tenant_id"] == str(channel.tenant_id)
    # Signed for the action server, which trusts no unsigned tenant.
    assert (
        verify_tenant(
            ACTION_SIGNING_KEY, turn["metadata"], sender=turn["sender"], max_age_s=60
        )
        == channel.tenant_id
    )
    [sent] = channel.sent()
    assert sent["to"] == "5511987654321"
    assert sent["text"]["body"] == channel.rasa.reply
    [outbound] = _rows(
        channel, "SELECT status, wamid FROM messages WHERE direction = 'outbound'"
    )
    assert outbound["status"] == "sent" and outbound["wamid"].startswith("wamid.")


def test_username_user_without_phone_is_stored_and_answered(channel: Channel) -> None:
    payload = fixture("username_user_without_phone")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = str(int(channel.clock.now.timestamp()))  # inside 24 h
    [update] = parse_webhook(payload)
    assert post_webhook(*signed(payload)).status_code == 200
    drain(channel)
    [customer] = _rows(channel, "SELECT wa_user_id, phone, username FROM customers")
    assert customer["wa_user_id"] == update.customer_key
    assert customer["phone"] is None and customer["username"]
    [sent] = channel.sent()
    assert "to" not in sent and sent["recipient"] == update.customer_key


def test_failed_status_without_contacts_reaches_the_right_message(
    channel: Channel,
) -> None:
    # An outbound message whose wamid the failed-status fixture names.
    status_payload = fixture("status_failed_without_contacts")
    [status] = parse_webhook(status_payload)
    assert isinstance(status, StatusUpdate)
    post_webhook(
        *signed(text_update("oi", wamid="wamid.C1", user_id="BR.8830172465501928"))
    )
    drain(channel)
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE messages SET wamid = %s WHERE direction = 'outbound'",
            (status.wamid,),
        )
    assert post_webhook(*signed(status_payload)).status_code == 200
    drain(channel)
    [outbound] = _rows(
        channel,
        "SELECT status, error_code, error_title FROM messages WHERE wamid = %s",
        status.wamid,
    )
    assert outbound == {
        "status": "failed",
        "error_code": "131047",
        "error_title": "Re-engagement message",
    }


def test_user_id_update_keeps_one_customer(channel: Channel) -> None:
    old_id, new_id = "BR.8830172465501928", "BR.4417730982216650"
    post_webhook(*signed(text_update("oi", wamid="wamid.D1", user_id=old_id)))
    drain(channel)
    post_webhook(*signed(fixture("user_id_update")))
    drain(channel)
    post_webhook(*signed(text_update("voltei", wamid="wamid.D2", user_id=new_id)))
    drain(channel)
    customers = _rows(
        channel, "SELECT id, wa_user_id, previous_user_ids FROM customers"
    )
    assert len(customers) == 1
    assert (
        customers[0]["wa_user_id"] == new_id
        and old_id in customers[0]["previous_user_ids"]
    )
    conversations = _rows(channel, "SELECT DISTINCT customer_id FROM conversations")
    assert [c["customer_id"] for c in conversations] == [customers[0]["id"]]


def test_messages_under_the_new_id_before_the_update_are_merged(
    channel: Channel,
) -> None:
    old_id, new_id = "BR.8830172465501928", "BR.4417730982216650"
    post_webhook(*signed(text_update("oi", wamid="wamid.E1", user_id=old_id)))
    drain(channel)
    post_webhook(
        *signed(text_update("de novo", wamid="wamid.E2", user_id=new_id, phone=None))
    )
    drain(channel)
    assert len(_rows(channel, "SELECT id FROM customers")) == 2
    post_webhook(*signed(fixture("user_id_update")))
    drain(channel)
    [customer] = _rows(channel, "SELECT id, wa_user_id FROM customers")
    assert customer["wa_user_id"] == new_id
    assert (
        len(_rows(channel, "SELECT id FROM messages WHERE direction = 'inbound'")) == 2
    )


def test_same_update_three_times_is_one_message_and_one_turn(channel: Channel) -> None:
    body, signature = signed(text_update("quero meu boleto", wamid="wamid.F1"))
    for _ in range(3):
        assert post_webhook(body, signature).status_code == 200
    drain(channel)
    # Meta redelivers days later, long after SQS deduplication has forgotten.
    update = parse_webhook(json.loads(body))[0]
    channel.engine.handle(channel.tenant_id, update)
    channel.engine.handle(channel.tenant_id, update)
    assert len(_rows(channel, "SELECT id FROM messages WHERE wamid = 'wamid.F1'")) == 1
    assert len(channel.rasa.calls) == 1
    assert len(channel.sent()) == 1


def test_same_update_on_two_workers_at_once_is_one_turn(channel: Channel) -> None:
    channel.rasa.delay_s = 0.5  # widen the window in which both are at work
    [update] = parse_webhook(text_update("status do pedido", wamid="wamid.G1"))
    outcomes: list[str] = []

    def work() -> None:
        try:
            channel.engine.handle(channel.tenant_id, update)
            outcomes.append("ok")
        except RetryLater:
            outcomes.append("retry")

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "retry"]
    channel.engine.handle(channel.tenant_id, update)  # the retried delivery
    assert len(_rows(channel, "SELECT id FROM messages WHERE wamid = 'wamid.G1'")) == 1
    assert len(channel.rasa.calls) == 1
    assert len(channel.sent()) == 1


def test_worker_dying_mid_batch_loses_and_doubles_nothing(channel: Channel) -> None:
    for i in range(3):
        post_webhook(
            *signed(
                text_update(f"mensagem {i}", wamid=f"wamid.H{i}", user_id=f"BR.10{i}")
            )
        )
    sqs = aws.client("sqs")
    batch = sqs.receive_message(QueueUrl=channel.queue_url, MaxNumberOfMessages=10)[
        "Messages"
    ]
    assert len(batch) == 3
    # The worker handles the first record, then dies: nothing is deleted.
    first = json.loads(batch[0]["Body"])
    from atende.whatsapp.updates import update_from_json

    channel.engine.handle(channel.tenant_id, update_from_json(first["update"]))
    # Visibility times out (1 s); the event source delivers the batch again.
    import time

    time.sleep(1.2)
    assert drain(channel) == 3
    inbound = _rows(
        channel, "SELECT wamid FROM messages WHERE direction = 'inbound' ORDER BY wamid"
    )
    assert [r["wamid"] for r in inbound] == ["wamid.H0", "wamid.H1", "wamid.H2"]
    assert len(channel.rasa.calls) == 3
    assert len(channel.sent()) == 3


def test_bot_down_hands_off_with_a_pt_br_message(channel: Channel) -> None:
    channel.rasa.down = True
    post_webhook(*signed(text_update("alô?", wamid="wamid.I1")))
    drain(channel)
    [conversation] = _rows(channel, "SELECT id, state FROM conversations")
    assert conversation["state"] == "waiting_human"
    [handoff] = _rows(channel, "SELECT reason FROM handoffs")
    assert handoff["reason"] == "bot_unavailable"
    [sent] = channel.sent()
    assert "atendimento" in sent["text"]["body"]
    # Later messages are stored for attendants, and the bot, told that people
    # have the conversation (the handoff wasn't its own), only acknowledges.
    channel.rasa.down = False
    post_webhook(*signed(text_update("ainda aqui", wamid="wamid.I2")))
    drain(channel)
    assert channel.rasa.with_people == [str(conversation["id"])]
    assert [c["message"] for c in channel.rasa.calls] == ["ainda aqui"]
    assert (
        len(_rows(channel, "SELECT id FROM messages WHERE direction = 'inbound'")) == 2
    )


# -- Graph API behaviour through the engine ------------------------------------


def test_429_then_200_delivers_one_message(channel: Channel) -> None:
    channel.graph.script({"status": 429}, {"status": 200})
    post_webhook(*signed(text_update("oi", wamid="wamid.J1")))
    drain(channel)
    attempts = [r for r in channel.graph.requests() if r.get("body", {}).get("type")]
    assert [r["response_status"] for r in attempts] == [429, 200]
    [outbound] = _rows(
        channel, "SELECT status FROM messages WHERE direction = 'outbound'"
    )
    assert outbound["status"] == "sent"


def test_throughput_error_130429_is_honoured(channel: Channel) -> None:
    channel.graph.script({"status": 400, "error": {"code": 130429}}, {"status": 200})
    post_webhook(*signed(text_update("oi", wamid="wamid.K1")))
    drain(channel)
    [outbound] = _rows(
        channel, "SELECT status FROM messages WHERE direction = 'outbound'"
    )
    assert outbound["status"] == "sent"
    assert len(channel.sent()) == 1


def test_400_is_not_retried_and_recorded_as_failed(channel: Channel) -> None:
    channel.graph.script({"status": 400, "error": {"code": 131026}})
    post_webhook(*signed(text_update("oi", wamid="wamid.L1")))
    drain(channel)
    attempts = [r for r in channel.graph.requests() if r.get("body", {}).get("type")]
    assert [r["response_status"] for r in attempts] == [400]
    [outbound] = _rows(
        channel,
        "SELECT status, error_code, error_title FROM messages"
        " WHERE direction = 'outbound'",
    )
    assert outbound["status"] == "failed" and outbound["error_code"] == "131026"
    assert outbound["error_title"]


def test_outside_the_24h_window_only_templates_go(channel: Channel) -> None:
    [update] = parse_webhook(text_update("oi", wamid="wamid.M1"))
    channel.engine.handle(channel.tenant_id, update)
    [conversation] = _rows(channel, "SELECT id FROM conversations")
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute(
            "UPDATE conversations SET last_inbound_at = now() - interval '25 hours'"
        )
        from atende.conversations import store

        store.enqueue_outbound(
            conn, conversation_id=conversation["id"], body="Seu pedido saiu!"
        )
    channel.engine.deliver_outbox(channel.tenant_id, conversation["id"])
    [late] = _rows(
        channel,
        "SELECT status, error_code FROM messages WHERE body = 'Seu pedido saiu!'",
    )
    assert late == {"status": "failed", "error_code": "JANELA_24H_ENCERRADA"}


# -- inactivity ------------------------------------------------------------------


def test_idle_conversation_is_closed_and_the_next_message_opens_a_new_one(
    channel: Channel,
) -> None:
    [first] = parse_webhook(text_update("oi", wamid="wamid.N1", at=channel.clock.now))
    channel.engine.handle(channel.tenant_id, first)
    channel.clock.advance(timedelta(minutes=31))
    with db.tenant_transaction(channel.tenant_id) as conn:  # as time passed in the DB
        conn.execute(
            "UPDATE conversations SET last_activity_at = now() - interval '31 minutes'"
        )
    assert channel.engine.close_idle_everywhere() >= 1  # other tests' tenants too
    [closed] = _rows(channel, "SELECT id, state, close_reason FROM conversations")
    assert (closed["state"], closed["close_reason"]) == ("closed", "inactivity")
    goodbye = channel.sent()[-1]
    assert "encerramos este atendimento" in goodbye["text"]["body"]

    [second] = parse_webhook(
        text_update("voltei", wamid="wamid.N2", at=channel.clock.now)
    )
    channel.engine.handle(channel.tenant_id, second)
    conversations = _rows(
        channel, "SELECT id, state FROM conversations ORDER BY opened_at"
    )
    assert [c["state"] for c in conversations] == ["closed", "bot"]
    assert conversations[1]["id"] != closed["id"]


def test_bot_buttons_become_reply_buttons(channel: Channel) -> None:
    channel.rasa.buttons = [
        {"title": "2ª via do boleto", "payload": "/segunda_via_boleto"},
        {"title": "Falar com atendente", "payload": "/falar_com_atendente"},
    ]
    [update] = parse_webhook(text_update("oi", wamid="wamid.O1"))
    channel.engine.handle(channel.tenant_id, update)
    [sent] = channel.sent()
    assert sent["type"] == "interactive"
    titles = [b["reply"]["title"] for b in sent["interactive"]["action"]["buttons"]]
    assert titles == ["2ª via do boleto", "Falar com atendente"]


def test_buttons_whatsapp_cannot_show_arrive_as_text(channel: Channel) -> None:
    channel.rasa.buttons = [
        {"title": f"Opção número {i} bem comprida", "payload": f"/o{i}"}
        for i in range(4)
    ]
    [update] = parse_webhook(text_update("oi", wamid="wamid.O2"))
    channel.engine.handle(channel.tenant_id, update)
    [sent] = channel.sent()
    assert sent["type"] == "text"
    assert "• Opção número 3 bem comprida" in sent["text"]["body"]


def test_media_is_fetched_once_into_the_tenants_encrypted_prefix(
    channel: Channel,
) -> None:
    from atende import storage
    from atende.audit import Actor, RequestContext
    from atende.whatsapp.media import fetch_message_media, media_key
    from tests.support.channel import fixture, graph_client_factory

    payload = fixture("image")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    media_id = message["image"]["id"]
    channel.graph.add_media(media_id, b"\xff\xd8\xff fake jpeg bytes", "image/jpeg")
    [update] = parse_webhook(payload)
    channel.engine.handle(channel.tenant_id, update)
    [row] = _rows(
        channel, "SELECT id, media_ref FROM messages WHERE direction = 'inbound'"
    )
    assert row["media_ref"] == media_id

    from atende.config import get_settings
    from infra.pipeline_local import create_bucket

    create_bucket(get_settings().documents_bucket)
    graph_for = graph_client_factory(channel.graph)
    attendant = Actor("attendant", "a1")
    first = fetch_message_media(
        channel.tenant_id,
        row["id"],
        graph_for=graph_for,
        context=RequestContext(attendant),
    )
    second = fetch_message_media(
        channel.tenant_id,
        row["id"],
        graph_for=graph_for,
        context=RequestContext(attendant),
    )
    assert first.data == second.data == b"\xff\xd8\xff fake jpeg bytes"
    assert first.s3_key == media_key(channel.tenant_id, row["id"])
    # Fetched from Meta once; stored encrypted (the plaintext is not in S3).
    lookups = [r for r in channel.graph.requests() if r["path"].endswith(media_id)]
    assert len(lookups) == 1
    stored = (
        aws.client("s3")
        .get_object(Bucket=get_settings().documents_bucket, Key=first.s3_key)["Body"]
        .read()
    )
    assert b"fake jpeg bytes" not in stored
    audits = _rows(
        channel, "SELECT action FROM audit_events WHERE action = 'MEDIA_ACCESSED'"
    )
    assert len(audits) == 2
    assert storage.exists(first.s3_key)


def test_a_stored_reference_is_never_read_as_a_key(channel: Channel) -> None:
    """A row pointing at another tenant's object (or any key but the one built
    from our ids) is not read: the media comes from Meta again, to its key."""
    from uuid import uuid4

    from atende.audit import Actor, RequestContext
    from atende.config import get_settings
    from atende.whatsapp.media import fetch_message_media, media_key
    from infra.pipeline_local import create_bucket
    from tests.support.channel import fixture, graph_client_factory

    payload = fixture("image")
    media_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["id"]
    channel.graph.add_media(media_id, b"bytes from Meta", "image/jpeg")
    [update] = parse_webhook(payload)
    channel.engine.handle(channel.tenant_id, update)
    bucket = get_settings().documents_bucket
    create_bucket(bucket)
    foreign = f"tenants/{uuid4()}/media/theirs.enc"
    aws.client("s3").put_object(Bucket=bucket, Key=foreign, Body=b"theirs")
    with db.tenant_transaction(channel.tenant_id) as conn:
        row = conn.execute(
            "UPDATE messages SET media_ref = %s WHERE direction = 'inbound'"
            " RETURNING id",
            (foreign,),
        ).fetchone()
    assert row is not None

    media = fetch_message_media(
        channel.tenant_id,
        row["id"],
        graph_for=graph_client_factory(channel.graph),
        context=RequestContext(Actor("attendant", "a1")),
    )

    assert media.data == b"bytes from Meta"
    assert media.s3_key == media_key(channel.tenant_id, row["id"])
    theirs = aws.client("s3").get_object(Bucket=bucket, Key=foreign)["Body"].read()
    assert theirs == b"theirs"


def test_a_turns_replies_go_out_in_the_bots_order(channel: Channel) -> None:
    channel.rasa.more_replies = [f"resposta {i}" for i in range(1, 7)]
    [update] = parse_webhook(text_update("oi", wamid="wamid.P1"))
    channel.engine.handle(channel.tenant_id, update)
    sent = [s["text"]["body"] for s in channel.sent()]
    assert sent == [channel.rasa.reply, *channel.rasa.more_replies]
