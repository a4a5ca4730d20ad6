"""Just enough of Lambda to run the real handlers in the local stack."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from atende import aws
from atende.observability import logger

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LocalContext:
    """The attributes of ``LambdaContext`` that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:sa-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def sqs_event_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "sa-east-1",
    }


class _Trigger(threading.Thread):
    """A background thread that invokes one handler until stopped."""

    def __init__(self, handler: Handler, name: str, kind: str) -> None:
        super().__init__(name=f"{kind}-{name}", daemon=True)
        self._handler = handler
        self._function = name
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()


class SqsPoller(_Trigger):
    """Lambda's SQS event source mapping: batches in, partial failures back."""

    def __init__(self, queue_url: str, handler: Handler, name: str) -> None:
        super().__init__(handler, name, "sqs")
        self._queue_url = queue_url

    def run(self) -> None:
        sqs = aws.new_client("sqs")
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=self._queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        while not self._stopping.is_set():
            try:
                self._poll_once(sqs, queue_arn)
            except Exception:  # keep polling, like the real service
                logger.exception("local poller iteration failed")
                time.sleep(1)

    def _poll_once(self, sqs: Any, queue_arn: str) -> None:
        messages = sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        event = {"Records": [sqs_event_record(m, queue_arn) for m in messages]}
        result = self._handler(event, LocalContext(self._function)) or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done)
                ],
            )
        # Failed records are left alone, as Lambda leaves them: they come back
        # when their visibility ends (the worker sets it to its backoff).


class Schedule(_Trigger):
    """An EventBridge rate() schedule for one handler."""

    def __init__(self, every_s: float, handler: Handler, name: str) -> None:
        super().__init__(handler, name, "schedule")
        self._every_s = every_s

    def run(self) -> None:
        while not self._stopping.wait(self._every_s):
            try:
                self._handler({"source": "aws.events"}, LocalContext(self._function))
            except Exception:
                logger.exception("local scheduled run failed")
