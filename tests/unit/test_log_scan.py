"""The log scan itself: what it finds, and that masked output passes."""

from __future__ import annotations

import logging

import pytest

from atende.observability import logger as app_logger
from tests.support.log_scan import LogScan, _RecordScanner, find_pii


@pytest.mark.parametrize(
    "text",
    [
        "cpf 529.982.247-25",
        "cpf=52998224725",
        "mail ana.souza@example.com",
        "ligou de (11) 98765-4321",
        "wa +5511987654321",
        '{"wa_id": "5511987654321"}',
    ],
)
def test_whole_values_are_found(text: str) -> None:
    assert find_pii(text)


@pytest.mark.parametrize(
    "text",
    [
        "cpf ***.***.***-25",
        "a***@example.com",
        "+** (**) *****-**21",
        "***********21",
        "request 6f1c2b0e-8a4d-4c1e-9f3a-2b7d9e0c1a55 at 1732255932",
        "cpf 529.982.247-24",  # wrong check digits: not a CPF
        "phone_number_id 106540352242922",
    ],
)
def test_masked_values_and_ids_pass(text: str) -> None:
    assert find_pii(text) == []


def _record(name: str, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, None, None)


def test_app_records_are_scanned_as_production_writes_them() -> None:
    scan = LogScan(current="t")
    scanner = _RecordScanner(scan)
    scanner.emit(_record(app_logger.name, "cliente ana.souza@example.com"))
    assert scan.findings == []  # the masking formatter hides it
    scanner.emit(_record("httpx", "POST para ana.souza@example.com"))
    assert scan.findings == [("t (log httpx)", "a***@example.com")]


def test_ids_are_not_taken_for_phones() -> None:
    # A UUID whose last group is twelve digits starting with 55 (seen in a run).
    assert find_pii("tenant 4c1870f9-55f8-44fc-96ca-551234567899 provisioned") == []
    assert find_pii("from 5511987654321 at 4c1870f9-55f8-44fc-96ca-18050299955c") == [
        "5511987654321"
    ]
