"""One record of the conversation queue, applied with a bounded retry budget.

A record that fails is retried by the queue (its customer's later records wait
behind it, other customers' go on), after a backoff the worker sets on the
record itself: when another worker holds the message's turn, once that
worker's lease ends (the soak showed a budget spent in seconds against a
60-second lease strands the turn); otherwise 5 s, 10 s, 20 s... On its last
attempt, or at once when it can't even be decoded, it moves to the dead-letter
queue with its reason: no record retries forever, and none disappears without
a trace. The customer's
message itself is already stored by then whenever it could be (the engine
stores before it talks to Rasa or WhatsApp).

A record is a WhatsApp update or a burst's turn record
(``atende.conversations.bursts``); the latter comes back exactly when its
window ends (``NotDue``), not after a backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from atende.conversations.bursts import TurnDue
from atende.conversations.dead_letters import DeadLetterQueue, QueueRecord
from atende.conversations.engine import NotDue, RetryLater
from atende.observability import logger, mask_pii, metrics
from atende.whatsapp.updates import Update
from atende.whatsapp.webhook import QueuedUpdate

__all__ = ["Outcome", "apply_record"]


class Outcome(StrEnum):
    APPLIED = "applied"
    DEAD_LETTERED = "dead_lettered"


class Engine(Protocol):
    def handle(self, tenant_id: UUID, update: Update) -> None: ...

    def run_due_turn(self, due: TurnDue) -> None: ...


# Sets when the queue delivers a failed record again (its visibility).
RetryIn = Callable[[QueueRecord, timedelta], None]

RETRY_BASE = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=2)


def retry_delay(error: Exception, attempts: int) -> timedelta:
    """When to try a failed record again."""
    if isinstance(error, NotDue):  # a burst's turn record: when its window ends
        return error.after
    if isinstance(error, RetryLater):
        return error.after + timedelta(seconds=1)
    return min(RETRY_BASE * (1 << (attempts - 1)), RETRY_MAX)


def apply_record(
    record: QueueRecord,
    *,
    engine: Engine,
    dead_letters: DeadLetterQueue,
    max_attempts: int,
    retry_in: RetryIn | None = None,
) -> Outcome:
    """Apply ``record`` (whose ``attempts`` counts this delivery).

    Raises:
        Exception: the update failed and has attempts left; the queue retries.
    """
    try:
        due = TurnDue.from_body(record.body)
        queued = QueuedUpdate.from_body(record.body) if due is None else None
    except ValueError as error:
        _dead_letter(record, dead_letters, reason="UNDECODABLE", error=error)
        return Outcome.DEAD_LETTERED
    try:
        if queued is not None:
            engine.handle(queued.tenant_id, queued.update)
        elif due is not None:
            engine.run_due_turn(due)
    except Exception as error:
        if record.attempts < max_attempts:
            delay = retry_delay(error, record.attempts)
            logger.warning(
                "queued update failed; the queue retries it",
                extra={
                    "attempt": record.attempts,
                    "error": type(error).__name__,
                    "update": queued.update.KIND if queued else "turn_due",
                    "retry_in_s": delay.total_seconds(),
                },
            )
            if retry_in is not None:
                try:
                    retry_in(record, delay)
                except Exception:  # the queue's own timeout applies instead
                    logger.exception("could not set the record's retry time")
            raise
        reason = "TURN_BUSY" if isinstance(error, RetryLater) else "FAILED"
        _dead_letter(record, dead_letters, reason=reason, error=error)
        return Outcome.DEAD_LETTERED
    return Outcome.APPLIED


def _dead_letter(
    record: QueueRecord,
    dead_letters: DeadLetterQueue,
    *,
    reason: str,
    error: Exception,
) -> None:
    detail = mask_pii(f"{type(error).__name__}: {error}")
    dead_letters.put(record, reason=reason, detail=detail)
    logger.error(
        "queued update moved to the dead-letter queue",
        extra={"reason": reason, "attempts": record.attempts, "detail": detail},
    )
    metrics.add_metric(name="UpdatesDeadLettered", unit="Count", value=1)
