"""SQS FIFO consumer: applies WhatsApp updates through the conversation engine.

Partial batch failures are reported with Powertools' FIFO processor, which also
fails every later record of the batch so a customer's updates stay in order.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from aws_lambda_powertools.utilities.batch import (
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from atende.observability import logger, metrics
from atende.whatsapp import runtime
from atende.whatsapp.updates import update_from_json

processor = SqsFifoPartialProcessor()


def record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    update = update_from_json(message["update"])
    runtime.engine().handle(UUID(message["tenant_id"]), update)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
