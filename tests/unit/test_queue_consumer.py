"""The worker's attempt budget: when a failed record comes back, and where it
ends once the budget is spent (no queue, database or AWS needed)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from atende.conversations.bursts import TurnDue
from atende.conversations.consumer import Outcome, apply_record, retry_delay
from atende.conversations.dead_letters import QueueRecord
from atende.conversations.engine import NotDue, RetryLater
from atende.whatsapp.updates import Update

TENANT = uuid4()


class FakeDeadLetters:
    def __init__(self) -> None:
        self.put_calls: list[tuple[QueueRecord, str, str]] = []

    def put(self, record: QueueRecord, *, reason: str, detail: str) -> None:
        self.put_calls.append((record, reason, detail))


class FailingEngine:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def handle(self, tenant_id: UUID, update: Update) -> None:
        self.calls += 1
        raise self.error

    def run_due_turn(self, due: TurnDue) -> None:
        self.calls += 1
        raise self.error


def _record(attempts: int) -> QueueRecord:
    from atende.whatsapp.updates import parse_webhook
    from infra.simulator import SimulatedCustomer, text_payload

    [update] = parse_webhook(
        text_payload(
            "oi", SimulatedCustomer(), phone_number_id="1", display_phone_number="2"
        )
    )
    body = json.dumps({"tenant_id": str(TENANT), "update": update.to_json()})
    return QueueRecord("m-1", body, f"{TENANT}:BR.1", attempts, "handle-1")


def _apply(
    engine: Any, dlq: FakeDeadLetters, attempts: int, delays: list[Any]
) -> Outcome:
    return apply_record(
        _record(attempts),
        engine=engine,
        dead_letters=dlq,  # type: ignore[arg-type]
        max_attempts=5,
        retry_in=lambda record, delay: delays.append((record.receipt_handle, delay)),
    )


def test_a_busy_turn_comes_back_when_the_lease_ends() -> None:
    engine = FailingEngine(RetryLater("busy", after=timedelta(seconds=60)))
    dlq, delays = FakeDeadLetters(), list[Any]()
    with pytest.raises(RetryLater):
        _apply(engine, dlq, 1, delays)
    assert delays == [("handle-1", timedelta(seconds=61))]
    assert dlq.put_calls == []


def test_other_failures_back_off_and_the_last_attempt_dead_letters() -> None:
    assert [retry_delay(OSError(), n).total_seconds() for n in (1, 2, 3, 4)] == [
        5,
        10,
        20,
        40,
    ]
    assert retry_delay(OSError(), 10) == timedelta(minutes=2)
    engine = FailingEngine(OSError("db down: 5511987654321"))
    dlq, delays = FakeDeadLetters(), list[Any]()
    assert _apply(engine, dlq, 5, delays) is Outcome.DEAD_LETTERED
    [(record, reason, detail)] = dlq.put_calls
    assert (record.message_id, reason) == ("m-1", "FAILED")
    assert "5511987654321" not in detail and detail.startswith("OSError")
    assert delays == []


def test_an_undecodable_record_is_not_retried() -> None:
    dlq = FakeDeadLetters()
    outcome = apply_record(
        QueueRecord("m-2", "{not json", f"{TENANT}:BR.2", 1),
        engine=FailingEngine(AssertionError("never called")),
        dead_letters=dlq,  # type: ignore[arg-type]
        max_attempts=5,
    )
    assert outcome is Outcome.DEAD_LETTERED
    assert dlq.put_calls[0][1] == "UNDECODABLE"


def test_a_burst_turn_record_comes_back_when_its_window_ends() -> None:
    due = TurnDue(TENANT, uuid4(), "BR.1", "wamid.1").to_message()
    engine = FailingEngine(NotDue("window open", after=timedelta(seconds=2)))
    dlq, delays = FakeDeadLetters(), list[Any]()
    with pytest.raises(NotDue):
        apply_record(
            QueueRecord("m-3", due["MessageBody"], due["MessageGroupId"], 1, "h-3"),
            engine=engine,
            dead_letters=dlq,  # type: ignore[arg-type]
            max_attempts=5,
            retry_in=lambda record, delay: delays.append(delay),
        )
    # Exactly the rest of the window, not a lease's extra second.
    assert engine.calls == 1 and delays == [timedelta(seconds=2)]
    assert due["MessageGroupId"] == f"{TENANT}:BR.1:turn"


def test_a_malformed_turn_record_is_not_retried() -> None:
    dlq = FakeDeadLetters()
    body = json.dumps({"tenant_id": str(TENANT), "turn_due": {"conversation_id": 1}})
    outcome = apply_record(
        QueueRecord("m-4", body, f"{TENANT}:BR.1:turn", 1),
        engine=FailingEngine(AssertionError("never called")),
        dead_letters=dlq,  # type: ignore[arg-type]
        max_attempts=5,
    )
    assert outcome is Outcome.DEAD_LETTERED
    assert dlq.put_calls[0][1] == "UNDECODABLE"
