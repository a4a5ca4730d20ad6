"""Bursts answered as one: the "turn due" record.

While the burst window is on, a customer's typed messages are stored with
their bot turn pending, and a :class:`TurnDue` record goes to the conversation
queue in a message group of its own per customer (so it never holds back the
customer's next messages, which must be stored meanwhile). SQS FIFO queues
take no per-message delay: the worker keeps the record invisible until the
window of the conversation's first pending message has passed (see
``ConversationEngine.run_due_turn``), then runs one turn for every message
pending by then, their texts joined in order.

The record names the first pending message: the queue's deduplication drops
the copies every later message of the same burst (or a redelivery) sends, and
a copy past it finds nothing left to run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from atende import aws

__all__ = ["TurnDue", "TurnQueue", "turn_group", "turn_records_last"]

_TURN_GROUP_SUFFIX = ":turn"


def turn_group(tenant_id: UUID | str, customer_key: str) -> str:
    """The FIFO message group of a customer's turn records (the tenant first,
    as every group of the queue, and beside the customer's own group)."""
    return f"{tenant_id}:{customer_key}"[:123] + _TURN_GROUP_SUFFIX


def turn_records_last(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A batch of Lambda SQS records with the turn records after the updates.

    A turn record can share a batch with later messages of its own customer
    (another message group): run first, it would answer without them. Each
    group keeps its order, which is all FIFO promises.
    """
    return sorted(
        records,
        key=lambda r: str(
            (r.get("attributes") or {}).get("MessageGroupId", "")
        ).endswith(_TURN_GROUP_SUFFIX),
    )


@dataclass(frozen=True)
class TurnDue:
    tenant_id: UUID
    conversation_id: UUID
    customer_key: str
    # The wamid of the conversation's first pending message when sent.
    first_wamid: str

    def to_message(self) -> dict[str, Any]:
        dedup = f"turn:{self.tenant_id}:{self.conversation_id}:{self.first_wamid}"
        return {
            "MessageBody": json.dumps(
                {
                    "tenant_id": str(self.tenant_id),
                    "turn_due": {
                        "conversation_id": str(self.conversation_id),
                        "customer_key": self.customer_key,
                        "first_wamid": self.first_wamid,
                    },
                },
                separators=(",", ":"),
            ),
            "MessageGroupId": turn_group(self.tenant_id, self.customer_key),
            "MessageDeduplicationId": hashlib.sha256(dedup.encode()).hexdigest(),
        }

    @classmethod
    def from_body(cls, body: str) -> TurnDue | None:
        """The record a queue message carries; None when it is an update.

        Raises:
            ValueError: a turn record :meth:`to_message` did not write.
        """
        try:
            message = json.loads(body)
        except ValueError as exc:
            raise ValueError("undecodable queue record: not JSON") from exc
        if not isinstance(message, dict) or "turn_due" not in message:
            return None
        try:
            due = message["turn_due"]
            return cls(
                tenant_id=UUID(message["tenant_id"]),
                conversation_id=UUID(due["conversation_id"]),
                customer_key=str(due["customer_key"]),
                first_wamid=str(due["first_wamid"]),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"undecodable turn record: {type(exc).__name__}") from exc


class TurnQueue:
    """Sends turn records to the conversation queue."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def schedule(self, due: TurnDue) -> None:
        aws.client("sqs").send_message(QueueUrl=self.queue_url, **due.to_message())
