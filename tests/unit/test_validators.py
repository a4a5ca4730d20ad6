"""Check digits of CPF and CNPJ with published valid and invalid examples."""

from __future__ import annotations

import pytest

from atende.validators import is_valid_cnpj, is_valid_cpf, normalize_cnpj


@pytest.mark.parametrize("cpf", ["529.982.247-25", "52998224725", "111.444.777-35"])
def test_valid_cpfs(cpf: str) -> None:
    assert is_valid_cpf(cpf)


@pytest.mark.parametrize(
    "cpf",
    [
        "529.982.247-24",
        "111.111.111-11",
        "000.000.000-00",
        "1234567890",
        "123.456.789-0a",
        "",
    ],
)
def test_invalid_cpfs(cpf: str) -> None:
    assert not is_valid_cpf(cpf)


@pytest.mark.parametrize(
    "cnpj",
    [
        "11.222.333/0001-81",
        "11222333000181",
        "12ABC34501DE35",
        "12.ABC.345/01DE-35",
        "12.abc.345/01de-35",
    ],
)
def test_valid_cnpjs(cnpj: str) -> None:
    assert is_valid_cnpj(cnpj)


@pytest.mark.parametrize(
    "cnpj",
    [
        "11.222.333/0001-80",
        "12ABC34501DE36",
        "11111111111111",
        "12ABC34501DEAB",
        "1122233300018",
        "",
    ],
)
def test_invalid_cnpjs(cnpj: str) -> None:
    assert not is_valid_cnpj(cnpj)


def test_normalize_cnpj() -> None:
    assert normalize_cnpj("12.abc.345/01de-35") == "12ABC34501DE35"
