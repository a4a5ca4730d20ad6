"""Scheduled upkeep of the WhatsApp channel, for every tenant: idle
conversations closed with a PT-BR goodbye, replies WhatsApp could not take yet
relayed, parked statuses past their TTL dropped."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from atende import composition
from atende.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(_event: dict[str, Any], _context: LambdaContext) -> dict[str, int]:
    report = composition.engine().sweep_everywhere()
    metrics.add_metric(
        name="ConversationsClosedIdle", unit="Count", value=report.closed
    )
    return asdict(report)
