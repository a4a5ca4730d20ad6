"""Watching the storage guard: how many stored references it refused (the
metric) and what it logged about them, rendered as production writes it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from atende.observability import logger as app_logger
from atende.observability import metrics

METRIC = "StorageKeysRefused"


class RefusedKeys(logging.Handler):
    """Records of the app logger about refused keys, and the metric's count
    since the handler was attached."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self._start = self._total()

    @staticmethod
    def _total() -> float:
        return float(sum(metrics.metric_set.get(METRIC, {}).get("Value", [])))

    def emit(self, record: logging.LogRecord) -> None:
        formatter = app_logger.registered_handler.formatter
        assert formatter is not None
        if "outside the tenant's prefix" in record.getMessage():
            self.lines.append(formatter.format(record))

    def count(self) -> float:
        return self._total() - self._start

    def logged(self) -> int:
        return len(self.lines)

    def text(self) -> str:
        return "\n".join(self.lines)


def watch_refused_keys() -> Iterator[RefusedKeys]:
    watcher = RefusedKeys()
    logging.getLogger(app_logger.name).addHandler(watcher)
    try:
        yield watcher
    finally:
        logging.getLogger(app_logger.name).removeHandler(watcher)
