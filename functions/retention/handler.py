"""Scheduled: applies every tenant's retention (messages, exports, document
results, audit events older than 365 days)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from atende.lgpd.retention import apply_retention
from atende.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(_event: dict[str, Any], _context: LambdaContext) -> dict[str, int]:
    removed = apply_retention()
    for kind, count in removed.items():
        metrics.add_metric(name=f"RetentionRemoved_{kind}", unit="Count", value=count)
    logger.info("retention applied", extra=removed)
    return removed
