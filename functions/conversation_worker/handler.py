"""SQS FIFO consumer: applies WhatsApp updates through the conversation engine.

Partial batch failures are reported per message group (Powertools' FIFO
processor with ``skip_group_on_error``): a failed record holds back only the
later records of its own customer, never another customer's. Each record has
an attempt budget; on the last one it moves to the dead-letter queue with its
reason (``atende.conversations.consumer``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from atende import aws, composition
from atende.config import get_settings
from atende.conversations.bursts import turn_records_last
from atende.conversations.consumer import apply_record
from atende.conversations.dead_letters import QueueRecord
from atende.observability import logger, metrics

processor = SqsFifoPartialProcessor(skip_group_on_error=True)
# A batch whose records all failed is reported like any other (every record
# listed), not raised: an invocation error would count against the worker's
# error alarm for what is an ordinary retry.
processor.raise_on_entire_batch_failure = False


def retry_in(record: QueueRecord, delay: timedelta) -> None:
    """The record comes back after ``delay`` (instead of the queue's timeout)."""
    aws.client("sqs").change_message_visibility(
        QueueUrl=composition.queue().queue_url,
        ReceiptHandle=record.receipt_handle,
        VisibilityTimeout=int(delay.total_seconds()),
    )


def record_handler(record: SQSRecord) -> None:
    apply_record(
        QueueRecord(
            message_id=record.message_id,
            body=record.body,
            group_id=record.attributes.message_group_id or "",
            attempts=int(record.attributes.approximate_receive_count),
            receipt_handle=record.receipt_handle,
        ),
        engine=composition.engine(),
        dead_letters=composition.dead_letters(),
        max_attempts=get_settings().worker_max_attempts,
        retry_in=retry_in,
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse:
    # A burst's turn records after the updates of the batch (bursts module).
    event = {**event, "Records": turn_records_last(event.get("Records", []))}
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
