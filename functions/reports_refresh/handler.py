"""Scheduled refresh of the report facts, for every tenant (every 5 minutes:
the reports page says how fresh its numbers are)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from atende import reports
from atende.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(_event: dict[str, Any], _context: LambdaContext) -> dict[str, int]:
    refreshed = reports.refresh_everywhere()
    metrics.add_metric(
        name="ReportConversationsRefreshed", unit="Count", value=refreshed
    )
    return {"conversations": refreshed}
