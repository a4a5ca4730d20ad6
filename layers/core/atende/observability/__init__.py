"""Logging, metrics and tracing with Powertools, and PII masking.

Every process uses :data:`logger`, :data:`metrics` and :data:`tracer` from here,
so all log lines are JSON, carry the service name and correlation id, are
stamped in America/Sao_Paulo time, and have personal data masked.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import LogRecord

from atende.config import get_settings
from atende.observability.masking import contains_pii, mask_pii

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

__all__ = [
    "SAO_PAULO",
    "MaskingFormatter",
    "contains_pii",
    "logger",
    "mask_pii",
    "metrics",
    "tracer",
]


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools JSON formatter with São Paulo timestamps and PII masked.

    Lambda reserves ``TZ``, so the zone is applied here instead of relying on
    the process time zone.
    """

    def formatTime(  # noqa: N802 - logging.Formatter API
        self, record: logging.LogRecord, datefmt: str | None = None
    ) -> str:
        moment = datetime.fromtimestamp(record.created, tz=SAO_PAULO)
        return moment.isoformat(timespec="milliseconds")

    def serialize(self, log: LogRecord) -> str:
        return mask_pii(super().serialize(log))


def _build_logger() -> Logger:
    settings = get_settings()
    return Logger(
        service=settings.service_name,
        level=settings.log_level,
        logger_formatter=MaskingFormatter(),
    )


logger = _build_logger()
metrics = Metrics(namespace="Atende", service=get_settings().service_name)
tracer = Tracer(
    service=get_settings().service_name, disabled=get_settings().env != "aws"
)
