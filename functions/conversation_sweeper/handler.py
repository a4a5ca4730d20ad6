"""Scheduled: closes idle conversations with a PT-BR goodbye."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from atende.observability import logger, metrics
from atende.whatsapp import runtime


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(_event: dict[str, Any], _context: LambdaContext) -> dict[str, int]:
    closed = runtime.engine().close_idle_everywhere()
    metrics.add_metric(name="ConversationsClosedIdle", unit="Count", value=closed)
    return {"closed": closed}
