"""The suite's own log output must carry no whole phone, e-mail or CPF.

Every log record of the session is rendered the way production writes it:
records of the Powertools logger through its masking formatter, any other
library's records as plain text (Lambda would print them as they are). The
captured stdout and stderr of every test are scanned too. A test that feeds
PII to the logger on purpose passes as long as what comes out is masked.

A finding fails the run at the end, listing where it was seen (masked).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import pytest

from atende.entities import extract_entities
from atende.observability import logger as app_logger
from atende.observability import mask_pii

__all__ = ["LogScan", "find_pii"]

# A WhatsApp id is a bare phone with country code (5511987654321).
_BARE_BR_PHONE = re.compile(r"(?<![\w*])55\d{10,11}(?![\w*])")
# Ids are not personal data, but a random UUID's last group can be twelve
# digits that start with 55 (a flaky finding in one suite run in a few).
_UUID = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I
)


def find_pii(text: str) -> list[str]:
    """Whole CPFs (valid check digits), e-mails and phones in ``text``."""
    text = _UUID.sub("<uuid>", text)
    found = [
        entity.raw
        for entity in extract_entities(text)
        # "a***@example.com" is the masked form of an e-mail, not an e-mail.
        if entity.kind in ("cpf", "email", "phone") and "*" not in entity.raw
    ]
    return found + _BARE_BR_PHONE.findall(text)


@dataclass
class LogScan:
    """Collects findings for the session; one instance per pytest run."""

    findings: list[tuple[str, str]] = field(default_factory=list)
    current: str = "session"

    def scan(self, where: str, text: str) -> None:
        for value in find_pii(text):
            finding = (where, mask_pii(value))
            # A phase's captured output shows up again in later reports.
            if finding not in self.findings:
                self.findings.append(finding)


class _RecordScanner(logging.Handler):
    def __init__(self, scan: LogScan) -> None:
        super().__init__(level=logging.DEBUG)
        self._scan = scan
        self._app_handler = app_logger.registered_handler

    def emit(self, record: logging.LogRecord) -> None:
        formatter = self._app_handler.formatter
        if record.name == app_logger.name and formatter is not None:
            text = formatter.format(record)  # masked, as production writes it
        else:
            text = record.getMessage()
        self._scan.scan(f"{self._scan.current} (log {record.name})", text)


_SCAN = LogScan()
_HANDLER = _RecordScanner(_SCAN)


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(_HANDLER)
    # The app logger may not propagate: watch it directly as well.
    if not logging.getLogger(app_logger.name).propagate:
        logging.getLogger(app_logger.name).addHandler(_HANDLER)


def pytest_runtest_logstart(nodeid: str) -> None:
    _SCAN.current = nodeid


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for title, text in report.sections:
        if title.startswith(("Captured stdout", "Captured stderr")):
            _SCAN.scan(f"{report.nodeid} ({title.lower()})", text)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_HANDLER)
    logging.getLogger(app_logger.name).removeHandler(_HANDLER)
    if not _SCAN.findings:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.section("personal data in the log output", sep="=", red=True)
        for where, value in _SCAN.findings[:50]:
            reporter.write_line(f"{where}: {value}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
