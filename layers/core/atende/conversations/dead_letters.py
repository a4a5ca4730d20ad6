"""The conversation queue's dead-letter queue: where a record that keeps failing
ends, visibly, with its reason; and what an operator does with it.

The worker moves a record here itself on its last attempt, with message
attributes saying why (``reason``, ``detail``), how often it was tried and
when. The queue's own redrive policy (``maxReceiveCount`` above the worker's
budget) only catches what the worker never saw fail: crashes and timeouts;
those arrive without a reason.

Redrive sends a record back to the conversation queue in its message group.
It is idempotent: the worker stores each message once per wamid and runs each
bot turn once, so a record redriven twice is applied once.

LGPD: bodies carry a customer's message. They expire with the queue's retention
(14 days) and :meth:`DeadLetterQueue.erase_customer` removes an erased
customer's records at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from atende import aws
from atende.conversations.bursts import turn_group
from atende.observability import logger, mask_pii

__all__ = ["DeadLetter", "DeadLetterQueue", "QueueRecord"]

# How long listed records stay hidden from other readers while being paged.
_PAGE_VISIBILITY_S = 30


@dataclass(frozen=True)
class QueueRecord:
    """One record of the conversation queue, as the worker received it."""

    message_id: str
    body: str
    group_id: str
    attempts: int
    receipt_handle: str = ""


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    group_id: str
    body: str
    reason: str
    detail: str
    attempts: int
    failed_at: str | None
    source_message_id: str | None
    receipt_handle: str
    sent_at_ms: int = 0

    @property
    def tenant_id(self) -> str:
        return self.group_id.split(":", 1)[0]

    def summary(self) -> dict[str, Any]:
        """What ``atende dlq list`` shows: no message content."""
        kind = "?"
        with contextlib.suppress(ValueError, KeyError, TypeError):
            kind = str(json.loads(self.body)["update"]["kind"])
        return {
            "id": self.message_id,
            "tenant_id": self.tenant_id,
            "kind": kind,
            "reason": self.reason,
            "attempts": self.attempts,
            "failed_at": self.failed_at,
        }

    def inspect(self) -> dict[str, Any]:
        """What ``atende dlq show`` prints: everything, personal data masked."""
        try:
            body: Any = json.loads(self.body)
        except ValueError:
            body = self.body
        return {
            **self.summary(),
            "group": _mask_group(self.group_id),
            "detail": mask_pii(self.detail),
            "source_message_id": self.source_message_id,
            "body": _masked(body),
        }


def _mask_group(group_id: str) -> str:
    tenant, _, customer = group_id.partition(":")
    return f"{tenant}:{mask_pii(customer) if customer else ''}"


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


def _attribute(message: dict[str, Any], name: str) -> str | None:
    found = message.get("MessageAttributes", {}).get(name)
    return str(found["StringValue"]) if found else None


class DeadLetterQueue:
    """One FIFO dead-letter queue, by URL."""

    def __init__(self, queue_url: str, *, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def _sqs(self) -> Any:
        return self._client or aws.client("sqs")

    def put(self, record: QueueRecord, *, reason: str, detail: str) -> None:
        """Move ``record`` here with its reason (the worker's terminal outcome)."""
        attributes = {
            "reason": reason,
            "detail": detail[:1000] or "-",
            "attempts": str(record.attempts),
            "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source_message_id": record.message_id,
        }
        self._sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=record.body,
            MessageGroupId=record.group_id,
            # A worker that retries this step within five minutes adds nothing.
            MessageDeduplicationId=_digest("dead-letter", record.message_id),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
            },
        )

    def _page(self) -> Iterator[list[dict[str, Any]]]:
        """Every record, in batches; each is hidden while paged, then released.

        A FIFO queue hands out one message group at a time, so records are
        received until a receive comes back empty.
        """
        received: list[dict[str, Any]] = []
        try:
            while True:
                batch = self._sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=_PAGE_VISIBILITY_S,
                    WaitTimeSeconds=0,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not batch:
                    return
                received += batch
                yield batch
        finally:
            self._release(received)

    def _release(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            result = self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": 0,
                    }
                    for i, m in enumerate(chunk)
                ],
            )
            # Deleted meanwhile (redrive, erasure): nothing to release.
            if result.get("Failed"):
                logger.debug("dead letters not released", extra={"n": len(chunk)})

    def _each(self) -> Iterator[DeadLetter]:
        for batch in self._page():
            for message in batch:
                yield _dead_letter(message)

    def letters(self, *, tenant_id: UUID | None = None) -> list[DeadLetter]:
        """Every record, optionally one tenant's, oldest failure first."""
        found = [
            d
            for d in self._each()
            if tenant_id is None or d.tenant_id == str(tenant_id)
        ]
        return sorted(found, key=lambda d: d.failed_at or "")

    def show(self, message_id: str) -> DeadLetter | None:
        return next((d for d in self._each() if d.message_id == message_id), None)

    def redrive(
        self, target_queue_url: str, *, message_ids: Collection[str] | None = None
    ) -> list[str]:
        """Send records back to the conversation queue (all, or ``message_ids``);
        returns the ids redriven."""
        return self._remove_where(
            lambda d: message_ids is None or d.message_id in message_ids,
            before_delete=lambda d: self._send_back(target_queue_url, d),
        )

    def erase_customer(self, tenant_id: UUID, customer_keys: Collection[str]) -> int:
        """Delete the records of an erased customer (LGPD); returns how many."""
        groups = {
            group
            for key in customer_keys
            if key
            for group in (f"{tenant_id}:{key}"[:128], turn_group(tenant_id, key))
        }
        return len(self._remove_where(lambda d: d.group_id in groups))

    def purge_older_than(self, tenant_id: UUID, cutoff: datetime) -> int:
        """Delete the tenant's records that entered the queue before ``cutoff``
        (the tenant's message retention); returns how many."""
        limit_ms = cutoff.timestamp() * 1000
        return len(
            self._remove_where(
                lambda d: d.tenant_id == str(tenant_id) and d.sent_at_ms < limit_ms
            )
        )

    def _remove_where(
        self,
        wanted: Callable[[DeadLetter], bool],
        before_delete: Callable[[DeadLetter], None] | None = None,
    ) -> list[str]:
        removed: list[str] = []
        for letter in self._each():
            if not wanted(letter):
                continue
            if before_delete is not None:
                before_delete(letter)
            self._sqs.delete_message(
                QueueUrl=self.queue_url, ReceiptHandle=letter.receipt_handle
            )
            removed.append(letter.message_id)
        return removed

    def _send_back(self, target_queue_url: str, letter: DeadLetter) -> None:
        self._sqs.send_message(
            QueueUrl=target_queue_url,
            MessageBody=letter.body,
            MessageGroupId=letter.group_id,
            # A new id: the original's was used within five minutes at most,
            # and the worker's durable dedupe keeps the redrive exactly-once.
            MessageDeduplicationId=_digest("redrive", letter.message_id),
        )
        logger.info(
            "dead letter redriven",
            extra={"dead_letter": letter.message_id, "reason": letter.reason},
        )


def _dead_letter(message: dict[str, Any]) -> DeadLetter:
    attempts = _attribute(message, "attempts") or message.get("Attributes", {}).get(
        "ApproximateReceiveCount", "0"
    )
    return DeadLetter(
        message_id=message["MessageId"],
        group_id=message.get("Attributes", {}).get("MessageGroupId", ""),
        body=message["Body"],
        # Without the worker's attributes it came by the queue's redrive policy.
        reason=_attribute(message, "reason") or "MAX_RECEIVES",
        detail=_attribute(message, "detail")
        or "Passou do maxReceiveCount da fila (worker interrompido ou sem resposta).",
        attempts=int(attempts),
        failed_at=_attribute(message, "failed_at"),
        source_message_id=_attribute(message, "source_message_id"),
        receipt_handle=message["ReceiptHandle"],
        sent_at_ms=int(message.get("Attributes", {}).get("SentTimestamp", 0)),
    )


def _digest(purpose: str, message_id: str) -> str:
    return hashlib.sha256(f"{purpose}:{message_id}".encode()).hexdigest()
