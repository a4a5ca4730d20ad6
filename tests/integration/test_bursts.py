"""Bursts answered as one: messages a customer sends within the burst window
become one bot turn, their texts joined in order. The real worker handler,
moto's SQS FIFO queue (visibility honoured, as Lambda's event source does),
real PostgreSQL; the engine is wired by ``composition`` from the settings
(``BURST_WINDOW_MS``), with the Rasa stand-in as its bot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from atende import aws, composition, db
from atende.config import get_settings
from atende.conversations.bursts import TurnDue
from atende.conversations.engine import ConversationEngine
from tests.support.channel import Channel, post_webhook, run_worker, signed, text_update

pytestmark = pytest.mark.integration

# The composition's own builder: the channel fixture replaces the module's
# attribute with its hand-built engine.
_build_engine = composition.engine
WINDOW_MS = 1500
_LEASE_S = 5

CUSTOMER_A = ("BR.1000000000000001", "5511900000001")
CUSTOMER_B = ("BR.2000000000000002", "5511900000002")


def _wired(channel: Channel, monkeypatch: pytest.MonkeyPatch, window_ms: int) -> None:
    """The engine as deployed (window and turn queue from the settings),
    answering through the channel's Rasa stand-in."""
    monkeypatch.setenv("BURST_WINDOW_MS", str(window_ms))
    get_settings.cache_clear()
    _build_engine.cache_clear()
    engine: ConversationEngine = _build_engine()
    engine.bot = channel.rasa.client()
    channel.engine = engine
    monkeypatch.setattr(composition, "engine", lambda: engine)


@pytest.fixture
def bursty(channel: Channel, monkeypatch: pytest.MonkeyPatch) -> Iterator[Channel]:
    _wired(channel, monkeypatch, WINDOW_MS)
    yield channel
    _build_engine.cache_clear()


def _say(text: str, wamid: str, who: tuple[str, str] = CUSTOMER_A) -> None:
    payload = text_update(text, wamid=wamid, user_id=who[0], phone=who[1])
    assert post_webhook(*signed(payload)).status_code == 200


def _run_queue(ch: Channel, *, for_s: float) -> int:
    """Lambda's event source for ``for_s`` seconds: batches to the real
    worker; done records deleted, failed ones left to come back when the
    visibility the worker set on them ends. Returns the records done."""
    sqs = aws.client("sqs")
    done = 0
    deadline = time.monotonic() + for_s
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=ch.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            time.sleep(0.05)
            continue
        failed = run_worker(messages)
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(
                    QueueUrl=ch.queue_url, ReceiptHandle=m["ReceiptHandle"]
                )
                done += 1
    return done


def _turns(ch: Channel) -> list[tuple[str, str]]:
    """(sender, text) of every turn Rasa ran."""
    return [(call["sender"], call["message"]) for call in ch.rasa.calls]


def _rows(ch: Channel, sql: str, *params: Any) -> list[dict[str, Any]]:
    with db.tenant_transaction(ch.tenant_id) as conn:
        return conn.execute(sql, params).fetchall()


def _queue_is_empty(ch: Channel) -> bool:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=ch.queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    )["Attributes"]
    return all(int(v) == 0 for v in attributes.values())


def test_a_burst_of_three_is_one_turn_with_the_texts_joined(bursty: Channel) -> None:
    _say("oi", "wamid.B1")
    _say("quero a segunda via", "wamid.B2")
    _say("do boleto de março", "wamid.B3")

    _run_queue(bursty, for_s=WINDOW_MS / 1000 + 2)

    [(_sender, text)] = _turns(bursty)
    assert text == "oi\nquero a segunda via\ndo boleto de março"
    # One reply set, sent once.
    assert [s["text"]["body"] for s in bursty.sent()] == [bursty.rasa.reply]
    # The turn was told the last message's wamid (what a takeover asks Rasa).
    assert bursty.rasa.calls[0]["metadata"]["wamid"] == "wamid.B3"
    states = _rows(
        bursty,
        "SELECT turn_state FROM messages WHERE direction = 'inbound'",
    )
    assert [r["turn_state"] for r in states] == ["done"] * 3
    assert _queue_is_empty(bursty)


def test_a_single_message_waits_the_window_and_no_longer(bursty: Channel) -> None:
    started = time.monotonic()
    _say("quero meu boleto", "wamid.S1")
    while not bursty.rasa.calls and time.monotonic() - started < 6:
        _run_queue(bursty, for_s=0.1)
    waited = time.monotonic() - started

    assert _turns(bursty)[0][1] == "quero meu boleto"
    assert len(bursty.rasa.calls) == 1
    # Never before the window; never much after it (polling, the turn, load).
    assert WINDOW_MS / 1000 <= waited < WINDOW_MS / 1000 + 1.5
    _run_queue(bursty, for_s=0.5)
    assert len(bursty.sent()) == 1


def test_redelivery_of_part_of_a_burst_runs_no_second_turn(bursty: Channel) -> None:
    _say("oi", "wamid.R1")
    _say("quero cancelar", "wamid.R2")
    # Meta delivers one part again before the turn ran...
    _redeliver(bursty, "quero cancelar", "wamid.R2")
    _run_queue(bursty, for_s=WINDOW_MS / 1000 + 2)
    # ...and again after it ran, past SQS's deduplication.
    _redeliver(bursty, "oi", "wamid.R1")
    _redeliver(bursty, "quero cancelar", "wamid.R2")
    _run_queue(bursty, for_s=WINDOW_MS / 1000 + 1)

    assert [text for _sender, text in _turns(bursty)] == ["oi\nquero cancelar"]
    assert len(bursty.sent()) == 1
    assert len(_rows(bursty, "SELECT 1 FROM messages WHERE direction = 'inbound'")) == 2
    assert _queue_is_empty(bursty)


def _redeliver(ch: Channel, text: str, wamid: str) -> None:
    """The same update again, under a fresh SQS deduplication id."""
    sqs = aws.client("sqs")
    payload = text_update(text, wamid=wamid, user_id=CUSTOMER_A[0], phone=CUSTOMER_A[1])
    from atende.whatsapp.updates import parse_webhook
    from atende.whatsapp.webhook import QueuedUpdate

    [update] = parse_webhook(payload)
    message = QueuedUpdate(ch.tenant_id, update).to_message()
    message["MessageDeduplicationId"] = f"again-{time.monotonic_ns()}"
    sqs.send_message(QueueUrl=ch.queue_url, **message)


def test_two_customers_bursts_interleaved_stay_apart(bursty: Channel) -> None:
    _say("oi", "wamid.A1", CUSTOMER_A)
    _say("bom dia", "wamid.X1", CUSTOMER_B)
    _say("quero a segunda via", "wamid.A2", CUSTOMER_A)
    _say("qual o horário", "wamid.X2", CUSTOMER_B)
    _say("do boleto", "wamid.A3", CUSTOMER_A)

    _run_queue(bursty, for_s=WINDOW_MS / 1000 + 2)

    turns = _turns(bursty)
    assert sorted(text for _sender, text in turns) == [
        "bom dia\nqual o horário",
        "oi\nquero a segunda via\ndo boleto",
    ]
    assert len({sender for sender, _text in turns}) == 2  # two conversations
    assert len(bursty.sent()) == 2


def test_a_tap_is_answered_at_once_after_the_texts_before_it(
    bursty: Channel,
) -> None:
    from tests.support.channel import as_list_reply

    _say("oi", "wamid.T1")
    tap = as_list_reply(
        text_update(
            "Sim", wamid="wamid.T2", user_id=CUSTOMER_A[0], phone=CUSTOMER_A[1]
        ),
        "/afirmar",
        "Sim",
    )
    assert post_webhook(*signed(tap)).status_code == 200
    started = time.monotonic()
    _run_queue(bursty, for_s=0.6)

    # The tap ends the burst: no wait, and the text before it goes first.
    assert [text for _s, text in _turns(bursty)] == ["oi", "/afirmar"]
    assert time.monotonic() - started < WINDOW_MS / 1000
    assert len(bursty.sent()) == 2


def test_window_zero_answers_each_message(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _wired(channel, monkeypatch, 0)
    _say("oi", "wamid.Z1")
    _say("quero a segunda via", "wamid.Z2")
    _run_queue(channel, for_s=1.0)
    _build_engine.cache_clear()

    assert [text for _s, text in _turns(channel)] == ["oi", "quero a segunda via"]
    assert len(channel.sent()) == 2
    # No turn records: only the two updates went through the queue.
    assert _queue_is_empty(channel)


def test_the_turn_record_carries_no_message_text(bursty: Channel) -> None:
    _say("meu cpf é 123.456.789-09", "wamid.P1")
    [inbound] = bursty.queued()
    sqs = aws.client("sqs")
    [received] = sqs.receive_message(QueueUrl=bursty.queue_url, AttributeNames=["All"])[
        "Messages"
    ]
    assert run_worker([received]) == set()  # stored; its turn not yet due
    sqs.delete_message(
        QueueUrl=bursty.queue_url, ReceiptHandle=received["ReceiptHandle"]
    )

    [turn] = bursty.queued()
    assert "123.456.789-09" in inbound["Body"]
    assert "123.456.789-09" not in turn["Body"]
    assert bursty.rasa.calls == []


def test_a_burst_turn_taken_over_after_rasa_ran_it_is_not_run_twice(
    bursty: Channel,
) -> None:
    bursty.rasa.fail_after_turn = True  # Rasa ran the turn; the worker never knew
    _say("oi", "wamid.K1")
    _say("quero meu boleto", "wamid.K2")
    _run_queue(bursty, for_s=WINDOW_MS / 1000 + 2)
    assert len(bursty.rasa.calls) == 1
    # Replay the crash instead: the burst's turn left running by a dead worker,
    # its turn record delivered again.
    with db.tenant_transaction(bursty.tenant_id) as conn:
        conn.execute("DELETE FROM messages WHERE direction = 'outbound'")
        conn.execute("DELETE FROM handoffs")
        conn.execute("UPDATE conversations SET state = 'bot'")
        conn.execute(
            "UPDATE messages SET turn_state = 'running',"
            " turn_claimed_at = now() - interval '10 minutes'"
        )
        [conversation] = conn.execute("SELECT id FROM conversations").fetchall()
    bursty.rasa.fail_after_turn = False
    due = TurnDue(bursty.tenant_id, conversation["id"], CUSTOMER_A[0], "wamid.K1")
    message = due.to_message()
    message["MessageDeduplicationId"] = "redelivered"
    aws.client("sqs").send_message(QueueUrl=bursty.queue_url, **message)
    _run_queue(bursty, for_s=1.0)

    assert len(bursty.rasa.calls) == 1  # Rasa was not asked a second time
    assert [s["text"]["body"] for s in bursty.sent()][-1] == bursty.rasa.reply
    states = _rows(
        bursty, "SELECT turn_state FROM messages WHERE direction = 'inbound'"
    )
    assert [r["turn_state"] for r in states] == ["done", "done"]
    assert _queue_is_empty(bursty)


def test_a_burst_waits_while_another_worker_holds_the_turn(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TURN_LEASE_S", str(_LEASE_S))
    _wired(channel, monkeypatch, WINDOW_MS)
    bursty = channel
    _say("oi", "wamid.H1")
    _run_queue(bursty, for_s=WINDOW_MS / 1000 + 1.5)
    with db.tenant_transaction(bursty.tenant_id) as conn:
        conn.execute(
            "UPDATE messages SET turn_state = 'running', turn_claimed_at = now()"
        )
    _say("tem alguém aí?", "wamid.H2")
    _run_queue(bursty, for_s=WINDOW_MS / 1000 + 1)
    # Held elsewhere (its lease is live): the new burst is not run beside it.
    assert [text for _s, text in _turns(bursty)] == ["oi"]
    with db.tenant_transaction(bursty.tenant_id) as conn:
        conn.execute("UPDATE messages SET turn_state = 'done' WHERE wamid = 'wamid.H1'")
    _run_queue(bursty, for_s=_LEASE_S + 2)
    assert [text for _s, text in _turns(bursty)] == ["oi", "tem alguém aí?"]
    _build_engine.cache_clear()


def test_erasure_removes_the_customers_dead_lettered_turn_records(
    channel: Channel,
) -> None:
    from atende.conversations.bursts import turn_group
    from atende.conversations.dead_letters import DeadLetterQueue, QueueRecord

    dlq = DeadLetterQueue(channel.dlq_url)
    for key, _phone in (CUSTOMER_A, CUSTOMER_B):
        group = turn_group(channel.tenant_id, key)
        dlq.put(QueueRecord(f"m-{key}", "{}", group, 5), reason="TURN_BUSY", detail="-")
    assert dlq.erase_customer(channel.tenant_id, [CUSTOMER_A[0]]) == 1
    [left] = dlq.letters()
    assert left.group_id == turn_group(channel.tenant_id, CUSTOMER_B[0])


def test_a_turn_record_of_an_erased_conversation_is_done(bursty: Channel) -> None:
    from uuid import uuid4

    due = TurnDue(bursty.tenant_id, uuid4(), CUSTOMER_A[0], "wamid.GONE")
    aws.client("sqs").send_message(QueueUrl=bursty.queue_url, **due.to_message())
    _run_queue(bursty, for_s=0.5)
    assert _queue_is_empty(bursty) and bursty.rasa.calls == []


def test_with_people_the_bots_acknowledgement_does_not_wait(bursty: Channel) -> None:
    _say("oi", "wamid.W1")
    _run_queue(bursty, for_s=WINDOW_MS / 1000 + 1.5)
    with db.tenant_transaction(bursty.tenant_id) as conn:
        conn.execute("UPDATE conversations SET state = 'waiting_human'")
    started = time.monotonic()
    _say("alguém aí?", "wamid.W2")
    _run_queue(bursty, for_s=0.8)

    assert [text for _s, text in _turns(bursty)] == ["oi", "alguém aí?"]
    assert time.monotonic() - started < WINDOW_MS / 1000


def test_a_turn_record_runs_after_the_updates_of_its_batch(bursty: Channel) -> None:
    sqs = aws.client("sqs")

    def receive() -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=bursty.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        return received

    _say("oi", "wamid.O1")
    [first] = receive()
    assert run_worker([first]) == set()  # stored; its turn record queued
    sqs.delete_message(QueueUrl=bursty.queue_url, ReceiptHandle=first["ReceiptHandle"])
    _say("quero a segunda via", "wamid.O2")
    time.sleep(WINDOW_MS / 1000)
    # The window is over, and the turn record comes first in the next batch,
    # before the customer's second message.
    batch = receive()
    assert ["turn_due" in m["Body"] for m in batch] == [True, False]

    assert run_worker(batch) == set()
    assert [text for _s, text in _turns(bursty)] == ["oi\nquero a segunda via"]
