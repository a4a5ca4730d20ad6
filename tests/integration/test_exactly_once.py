"""Exactly once under ordinary, messy traffic: statuses for messages we never
stored, one customer's failure beside another's, records that run out of
attempts, WhatsApp refusing replies, and what an operator does with the
dead-letter queue. The real worker handler, moto's SQS FIFO, real PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from atende import aws, db
from atende.cli import main as cli
from atende.config import get_settings
from atende.conversations.dead_letters import DeadLetterQueue, QueueRecord
from atende.whatsapp.updates import InboundMessage, parse_webhook
from tests.support.channel import (
    Channel,
    drain,
    post_webhook,
    run_worker,
    signed,
    status_update,
    text_update,
)

pytestmark = pytest.mark.integration

CUSTOMER_A = "BR.1000000000000001"
CUSTOMER_B = "BR.2000000000000002"


def _rows(ch: Channel, sql: str, *params: Any) -> list[dict[str, Any]]:
    with db.tenant_transaction(ch.tenant_id) as conn:
        return conn.execute(sql, params).fetchall()


def _say(text: str, wamid: str, user_id: str, phone: str) -> None:
    payload = text_update(text, wamid=wamid, user_id=user_id, phone=phone)
    assert post_webhook(*signed(payload)).status_code == 200


def _receive_all(ch: Channel) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    messages: list[dict[str, Any]] = []
    for _ in range(5):
        batch = sqs.receive_message(
            QueueUrl=ch.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            break
        messages += batch
    return messages


def _hold_turn(ch: Channel, wamid: str, *, live: bool) -> None:
    """Another worker holds (live) or held (expired lease) the message's turn."""
    age = timedelta(0) if live else timedelta(minutes=10)
    with db.tenant_transaction(ch.tenant_id) as conn:
        conn.execute(
            "UPDATE messages SET turn_state = 'running',"
            " turn_claimed_at = now() - %s WHERE wamid = %s",
            (age, wamid),
        )


def _store_without_turn(ch: Channel, text: str, wamid: str, user_id: str) -> None:
    """The message is stored and its turn taken by a worker that then died."""
    from atende.conversations import store

    [update] = parse_webhook(text_update(text, wamid=wamid, user_id=user_id))
    assert isinstance(update, InboundMessage)
    with db.tenant_transaction(ch.tenant_id) as conn:
        customer = store.upsert_customer(
            conn, user_id=user_id, phone=None, username=None, display_name=None
        )
        conversation, _ = store.open_conversation(
            conn,
            customer_id=customer.id,
            phone_number_id=update.phone_number_id,
            now=update.timestamp,
            idle_timeout=timedelta(minutes=30),
        )
        store.record_inbound(
            conn,
            conversation_id=conversation.id,
            wamid=wamid,
            type_="text",
            body=text,
            media_ref=None,
            payload=update.to_json(),
            wa_timestamp=update.timestamp,
            needs_turn=True,
        )
        store.touch_inbound(conn, conversation.id, update.timestamp)
    _hold_turn(ch, wamid, live=True)


def _texts_sent_to_rasa(ch: Channel) -> list[str]:
    return [call["message"] for call in ch.rasa.calls]


# -- statuses ------------------------------------------------------------------


def test_status_for_a_message_never_stored_is_parked_not_retried(
    channel: Channel,
) -> None:
    unknown = "wamid.SENT-BY-ANOTHER-TOOL"
    assert post_webhook(*signed(status_update(unknown, "delivered"))).status_code == 200
    [record] = _receive_all(channel)
    # Applied on the first delivery: nothing for the queue to retry.
    assert run_worker([record]) == set()
    [parked] = _rows(
        channel, "SELECT wamid, status, customer_key, expires_at FROM parked_statuses"
    )
    assert (parked["wamid"], parked["status"]) == (unknown, "delivered")
    assert parked["customer_key"] == "BR.1502576394655843"
    # A redelivery of the same status parks nothing twice.
    [update] = parse_webhook(status_update(unknown, "delivered"))
    channel.engine.handle(channel.tenant_id, update)
    assert len(_rows(channel, "SELECT 1 FROM parked_statuses")) == 1


def test_status_arriving_before_its_outbound_record_is_applied_when_recorded(
    channel: Channel,
) -> None:
    wamid = "wamid.REPLY-WHOSE-STATUS-CAME-FIRST"
    # Meta's 'delivered' beats the send's own response and its row.
    post_webhook(*signed(status_update(wamid, "delivered")))
    drain(channel)
    assert len(_rows(channel, "SELECT 1 FROM parked_statuses")) == 1
    channel.graph.script(
        {
            "status": 200,
            "body": {
                "messaging_product": "whatsapp",
                "contacts": [{"input": "5511987654321", "wa_id": "5511987654321"}],
                "messages": [{"id": wamid}],
            },
        }
    )
    post_webhook(*signed(text_update("oi", wamid="wamid.IN-1")))
    drain(channel)
    [reply] = _rows(channel, "SELECT status FROM messages WHERE wamid = %s", wamid)
    assert reply["status"] == "delivered"
    assert _rows(channel, "SELECT 1 FROM parked_statuses") == []


def test_parked_status_is_dropped_at_its_ttl(channel: Channel) -> None:
    [update] = parse_webhook(status_update("wamid.NEVER-OURS", "read"))
    channel.engine.handle(channel.tenant_id, update)
    assert channel.engine.sweep(channel.tenant_id).expired_statuses == 0
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute("UPDATE parked_statuses SET expires_at = now() - interval '1 s'")
    assert channel.engine.sweep(channel.tenant_id).expired_statuses == 1
    assert _rows(channel, "SELECT 1 FROM parked_statuses") == []


# -- one customer's failure ------------------------------------------------------


def test_a_failing_record_holds_back_only_its_own_customer(channel: Channel) -> None:
    _store_without_turn(channel, "primeira de A", "wamid.A1", CUSTOMER_A)
    _say("primeira de A", "wamid.A1", CUSTOMER_A, "5511900000001")  # redelivery
    _say("pergunta de B", "wamid.B1", CUSTOMER_B, "5511900000002")
    _say("segunda de A", "wamid.A2", CUSTOMER_A, "5511900000001")
    batch = _receive_all(channel)
    bodies = [json.loads(m["Body"])["update"]["wamid"] for m in batch]
    assert bodies == ["wamid.A1", "wamid.B1", "wamid.A2"]  # one batch, in order

    failed = run_worker(batch)

    by_wamid = {json.loads(m["Body"])["update"]["wamid"]: m for m in batch}
    # A's turn is held by another worker: A1 fails, and A2 waits behind it.
    assert failed == {
        by_wamid["wamid.A1"]["MessageId"],
        by_wamid["wamid.A2"]["MessageId"],
    }
    # B is applied at once.
    assert _texts_sent_to_rasa(channel) == ["pergunta de B"]
    assert _rows(channel, "SELECT 1 FROM messages WHERE wamid = 'wamid.A2'") == []

    # The lease of the dead worker expires; A's records come back, in order.
    _hold_turn(channel, "wamid.A1", live=False)
    sqs = aws.client("sqs")
    for m in batch:
        if m["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=channel.queue_url,
                ReceiptHandle=m["ReceiptHandle"],
                VisibilityTimeout=0,
            )
        else:
            sqs.delete_message(
                QueueUrl=channel.queue_url, ReceiptHandle=m["ReceiptHandle"]
            )
    drain(channel)
    assert _texts_sent_to_rasa(channel) == [
        "pergunta de B",
        "primeira de A",
        "segunda de A",
    ]


# -- attempt budget and the dead-letter queue -------------------------------------


def _dlq(channel: Channel) -> DeadLetterQueue:
    return DeadLetterQueue(channel.dlq_url)


def test_record_out_of_attempts_goes_to_the_dlq_and_redrives_exactly_once(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()
    _store_without_turn(channel, "quero meu boleto", "wamid.P1", CUSTOMER_A)
    _say("quero meu boleto", "wamid.P1", CUSTOMER_A, "5511900000001")

    drain(channel, rounds=1)  # attempt 1: retried
    assert _dlq(channel).letters() == []
    drain(channel, rounds=1)  # attempt 2: the last one
    assert _receive_all(channel) == []  # gone from the conversation queue...
    [letter] = _dlq(channel).letters()  # ...to the dead-letter queue, with why
    assert (letter.reason, letter.attempts) == ("TURN_BUSY", 2)
    assert "RetryLater" in letter.detail
    assert letter.tenant_id == str(channel.tenant_id)

    # The dead worker's lease expires; an operator redrives, twice.
    _hold_turn(channel, "wamid.P1", live=False)
    assert _dlq(channel).redrive(channel.queue_url) == [letter.message_id]
    drain(channel)
    _dlq(channel).put(
        QueueRecord("again", letter.body, letter.group_id, attempts=1),
        reason="FAILED",
        detail="redelivered",
    )
    assert len(_dlq(channel).redrive(channel.queue_url)) == 1
    drain(channel)

    assert _texts_sent_to_rasa(channel) == ["quero meu boleto"]  # one turn
    assert len(channel.sent()) == 1  # one answer
    assert len(_rows(channel, "SELECT 1 FROM messages WHERE wamid = 'wamid.P1'")) == 1
    assert _dlq(channel).letters() == []


def test_undecodable_record_goes_to_the_dlq_at_once(channel: Channel) -> None:
    aws.client("sqs").send_message(
        QueueUrl=channel.queue_url,
        MessageBody='{"tenant_id": "not-a-uuid", "update": {}}',
        MessageGroupId=f"{channel.tenant_id}:BR.9",
        MessageDeduplicationId="poison-1",
    )
    _say("oi", "wamid.OK1", CUSTOMER_B, "5511900000002")
    assert drain(channel) == 2  # neither is retried
    [letter] = _dlq(channel).letters()
    assert (letter.reason, letter.attempts) == ("UNDECODABLE", 1)
    assert _texts_sent_to_rasa(channel) == ["oi"]


def test_operator_lists_shows_masked_and_redrives_from_the_cli(
    channel: Channel, capsys: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps(
        {
            "tenant_id": str(channel.tenant_id),
            "update": {"kind": "bogus", "text": "meu cpf é 123.456.789-09"},
        }
    )
    _dlq(channel).put(
        QueueRecord("m-1", body, f"{channel.tenant_id}:5511987654321", attempts=5),
        reason="FAILED",
        detail="OperationalError: tel 5511987654321",
    )
    assert cli(["dlq", "list"]) == 0
    listed = capsys.readouterr().out
    assert "FAILED" in listed and "tentativas=5" in listed
    message_id = _dlq(channel).letters()[0].message_id

    assert cli(["dlq", "show", message_id]) == 0
    shown = capsys.readouterr().out
    assert "123.456.789-09" not in shown and "5511987654321" not in shown
    assert json.loads(shown)["reason"] == "FAILED"

    assert cli(["dlq", "show", "no-such-id"]) == 1
    assert cli(["dlq", "redrive"]) == 2  # neither --id nor --all
    capsys.readouterr()
    assert cli(["dlq", "redrive", "--id", message_id]) == 0
    assert "1 registro(s)" in capsys.readouterr().out
    assert _dlq(channel).letters() == []
    assert len(_receive_all(channel)) == 1


# -- WhatsApp refusing replies ---------------------------------------------------


def test_whatsapp_down_keeps_the_reply_in_the_outbox_not_the_queue(
    channel: Channel,
) -> None:
    channel.graph.script(*[{"status": 503}] * 5)  # every attempt of one send
    post_webhook(*signed(text_update("oi", wamid="wamid.W1")))
    [record] = _receive_all(channel)
    assert run_worker([record]) == set()  # the update is done: stored, answered
    [reply] = _rows(
        channel,
        "SELECT status, send_attempts, next_attempt_at > now() AS later"
        " FROM messages WHERE direction = 'outbound'",
    )
    assert reply == {"status": "pending", "send_attempts": 1, "later": True}

    # Due again while the circuit breaker is still open: another attempt spent.
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute("UPDATE messages SET next_attempt_at = now()")
    assert channel.engine.sweep(channel.tenant_id).relayed == 1
    [reply] = _rows(
        channel,
        "SELECT status, send_attempts FROM messages WHERE direction = 'outbound'",
    )
    assert reply == {"status": "pending", "send_attempts": 2}
    # WhatsApp is back (the breaker's pause is over): the relay sends it.
    from tests.support.channel import PHONE_NUMBER_ID

    channel.engine._graph_for(PHONE_NUMBER_ID).breaker.record_success()
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute("UPDATE messages SET next_attempt_at = now()")
    assert channel.engine.sweep(channel.tenant_id).relayed == 1
    [reply] = _rows(channel, "SELECT status FROM messages WHERE direction = 'outbound'")
    assert reply["status"] == "sent"
    assert len(channel.sent()) == 1


def test_reply_out_of_send_attempts_is_failed_with_a_reason(channel: Channel) -> None:
    channel.graph.script(*[{"status": 503}] * 5)
    [update] = parse_webhook(text_update("oi", wamid="wamid.W2"))
    channel.engine.handle(channel.tenant_id, update)
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute("UPDATE messages SET send_attempts = 9, next_attempt_at = now()")
    channel.engine.sweep(channel.tenant_id)  # the circuit is open: the 10th try
    [reply] = _rows(
        channel,
        "SELECT status, error_code, error_title FROM messages"
        " WHERE direction = 'outbound'",
    )
    assert reply["status"] == "failed" and reply["error_code"] == "ENVIO_ESGOTADO"
    assert "várias tentativas" in reply["error_title"]
    # Nothing due any more: the relay stops trying.
    assert channel.engine.sweep(channel.tenant_id).relayed == 0


# -- LGPD: what waits in the DLQ and the parking lot --------------------------------


def test_erasure_removes_the_customers_dead_letters_and_parked_statuses(
    channel: Channel,
) -> None:
    from atende.audit import Actor, RequestContext
    from atende.lgpd.erasure import erase_customer

    for user_id, phone in (
        (CUSTOMER_A, "5511900000001"),
        (CUSTOMER_B, "5511900000002"),
    ):
        [update] = parse_webhook(
            text_update("oi", wamid=f"wamid.E-{user_id}", user_id=user_id, phone=phone)
        )
        channel.engine.handle(channel.tenant_id, update)
        [status] = parse_webhook(
            status_update(f"wamid.X-{user_id}", "read", user_id=user_id, phone=phone)
        )
        channel.engine.handle(channel.tenant_id, status)
        _dlq(channel).put(
            QueueRecord(f"m-{user_id}", "{}", f"{channel.tenant_id}:{user_id}", 5),
            reason="FAILED",
            detail="-",
        )
    [customer_a] = _rows(
        channel, "SELECT id FROM customers WHERE wa_user_id = %s", CUSTOMER_A
    )
    proof = erase_customer(
        channel.tenant_id,
        customer_a["id"],
        context=RequestContext(Actor("attendant", "admin-1")),
    )
    assert proof.deleted["sqs"] == {"dead_letters": 1}
    assert proof.deleted["postgres"]["parked_statuses"] == 1
    [left] = _dlq(channel).letters()
    assert left.group_id.endswith(CUSTOMER_B)
    [parked] = _rows(channel, "SELECT customer_key FROM parked_statuses")
    assert parked["customer_key"] == CUSTOMER_B


def test_retention_purges_old_dead_letters_of_the_tenant_only(channel: Channel) -> None:
    from datetime import UTC, datetime

    other_tenant = "00000000-0000-0000-0000-000000000001"
    for group in (f"{channel.tenant_id}:BR.1", f"{other_tenant}:BR.1"):
        _dlq(channel).put(
            QueueRecord(f"m-{group}", "{}", group, 5), reason="FAILED", detail="-"
        )
    future = datetime.now(UTC) + timedelta(days=1)
    assert _dlq(channel).purge_older_than(channel.tenant_id, future) == 1
    [left] = _dlq(channel).letters()
    assert left.tenant_id == other_tenant


# -- a worker that died after Rasa ran the turn ---------------------------------


def test_a_turn_taken_over_after_rasa_ran_it_is_not_run_twice(channel: Channel) -> None:
    channel.rasa.more_replies = ["Posso ajudar com mais alguma coisa?"]
    channel.rasa.fail_after_turn = True  # Rasa ran the turn; the worker never knew
    [update] = parse_webhook(text_update("quero meu boleto", wamid="wamid.T1"))
    channel.engine.handle(channel.tenant_id, update)  # hands off: "Rasa down"
    assert len(channel.rasa.calls) == 1
    # Replay the crash instead: the turn is left running by a dead worker.
    with db.tenant_transaction(channel.tenant_id) as conn:
        conn.execute("DELETE FROM messages WHERE direction = 'outbound'")
        conn.execute("DELETE FROM handoffs")
        conn.execute("UPDATE conversations SET state = 'bot'")
    _hold_turn(channel, "wamid.T1", live=False)
    channel.rasa.fail_after_turn = False

    channel.engine.handle(channel.tenant_id, update)  # the redelivery takes over

    assert len(channel.rasa.calls) == 1  # Rasa was not asked a second time
    sent = [s["text"]["body"] for s in channel.sent()]
    assert sent[-2:] == [channel.rasa.reply, "Posso ajudar com mais alguma coisa?"]
    [message] = _rows(
        channel, "SELECT turn_state FROM messages WHERE wamid = 'wamid.T1'"
    )
    assert message["turn_state"] == "done"


def test_a_turn_taken_over_before_rasa_saw_it_runs_once(channel: Channel) -> None:
    _store_without_turn(channel, "oi", "wamid.T2", CUSTOMER_A)
    _hold_turn(channel, "wamid.T2", live=False)
    [update] = parse_webhook(text_update("oi", wamid="wamid.T2", user_id=CUSTOMER_A))
    channel.engine.handle(channel.tenant_id, update)
    assert _texts_sent_to_rasa(channel) == ["oi"]
    assert len(channel.sent()) == 1


def test_new_messages_do_not_spend_the_attempts_of_a_reply_backing_off(
    channel: Channel,
) -> None:
    channel.graph.script(*[{"status": 503}] * 5)
    [first] = parse_webhook(text_update("oi", wamid="wamid.W3"))
    channel.engine.handle(channel.tenant_id, first)
    for n in range(4):  # the customer keeps writing while WhatsApp refuses
        [more] = parse_webhook(text_update(f"alô {n}", wamid=f"wamid.W3-{n}"))
        channel.engine.handle(channel.tenant_id, more)
    attempts = _rows(
        channel,
        "SELECT send_attempts, status FROM messages WHERE direction = 'outbound'"
        " ORDER BY created_at",
    )
    assert attempts[0] == {"send_attempts": 1, "status": "pending"}
    # The later replies wait behind it, in order, none sent ahead.
    assert all(a["status"] == "pending" for a in attempts)
    assert channel.sent() == []
