"""PII never appears whole in a log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from atende.observability import logger, mask_pii

PII = {
    "phone": "+55 (11) 98765-4321",
    "wa_id": "5511987654321",
    "email": "maria.souza@exemplo.com.br",
    "cpf": "529.982.247-25",
    "cpf_bare": "52998224725",
    "cnpj": "11.222.333/0001-81",
    "cnpj_alnum": "12.ABC.345/01DE-35",
    "cnpj_alnum_bare": "12ABC34501DE35",
}


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the shared Powertools logger writes, as the process would print it."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_log_line_with_phone_email_and_cpf_comes_out_masked(
    log_output: io.StringIO,
) -> None:
    logger.info(
        f"cliente {PII['email']} ligou de {PII['phone']} com CPF {PII['cpf']}",
        extra={"customer": {"wa_id": PII["wa_id"], "cnpj": PII["cnpj"]}},
    )
    line = log_output.getvalue().strip().splitlines()[-1]
    record = json.loads(line)
    for value in PII.values():
        assert value not in line
    assert record["message"] == (
        "cliente m***@exemplo.com.br ligou de +** (**) *****-**21"
        " com CPF ***.***.***-25"
    )
    assert record["customer"] == {
        "wa_id": "***********21",
        "cnpj": "**.***.***/****-81",
    }
    assert record["service"] == "atende-test"
    # São Paulo time, with its offset (no DST since 2019).
    assert record["timestamp"].endswith("-03:00")


def test_exception_messages_are_masked_too(log_output: io.StringIO) -> None:
    try:
        raise ValueError(f"CPF inválido: {PII['cpf_bare']}")
    except ValueError:
        logger.exception("falhou")
    line = log_output.getvalue()
    assert PII["cpf_bare"] not in line and "*********25" in line


@pytest.mark.parametrize("value", list(PII.values()))
def test_each_shape_is_masked(value: str) -> None:
    masked = mask_pii(f"valor={value};")
    assert value not in masked
    assert masked.startswith("valor=") and masked.endswith(";")


@pytest.mark.parametrize(
    "text",
    [
        "request 6f1c2b0e-8a4d-4c1e-9f3a-2b7d9e0c1a55 ok",
        # Its first groups read as +55 84 2690-0889: a consent id whose audit
        # event was refused as personal data (a random CI failure).
        "consent_id=55842690-0889-45d6-9529-b127f01a015f",
        "55119876-5432-4abc-8def-0123456789ab",
        "2026-11-22T02:41:37.123-03:00",
        "pedido 12345 com 3 itens, total R$ 1.234,56",
        "arn:aws:kms:sa-east-1:123456789012:key/abc",
        "TRACEIDABCDEF1234",
    ],
)
def test_ordinary_identifiers_stay_readable(text: str) -> None:
    assert mask_pii(text) == text


def test_a_phone_beside_a_uuid_is_still_masked() -> None:
    text = "55842690-0889-45d6-9529-b127f01a015f ligou de +55 84 2690-0889"
    assert mask_pii(text) == (
        "55842690-0889-45d6-9529-b127f01a015f ligou de +** ** ****-**89"
    )
