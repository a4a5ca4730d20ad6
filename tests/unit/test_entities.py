"""Brazilian entities found by validators, with published valid/invalid examples."""

from __future__ import annotations

import pytest

from atende.entities import (
    BRAZILIAN_DDDS,
    KINDS,
    Entity,
    EntityKind,
    extract_entities,
    summarize,
)

CONTRACT = (
    "CONTRATO DE PRESTAÇÃO DE SERVIÇOS\n\n"
    "CONTRATANTE: ACME Comércio Ltda., inscrita no CNPJ sob o nº 11.222.333/0001-81, "
    "com sede na Avenida Paulista, 1000, Bela Vista, São Paulo/SP, CEP 01310-100, "
    "neste ato representada por Maria da Silva, CPF 529.982.247-25, e-mail "
    "Maria.Silva@Acme.com.br.\n"
    "CONTRATADA: Beta Tecnologia S.A., CNPJ 12.ABC.345/01DE-35, com sede na Rua das "
    "Flores, 50, Curitiba/PR, CEP: 80010000, telefone (41) 3322-4455, representada "
    "por João Souza, CPF 111.444.777-35, celular +55 41 99876-5432.\n\n"
    "CLÁUSULA 2ª \u2013 DO VALOR. A CONTRATANTE pagará R$ 15.000,00 (quinze mil "
    "reais) em três parcelas, a primeira em 15/03/2026 e a última em "
    "1º de abril de 2026.\n"
    "CLÁUSULA 3ª \u2013 DO PRAZO. Vigência de 12 meses a partir de 2026-03-15. "
    "Dúvidas: SAC 0800 123 4567 ou contato@beta.com.br.\n"
    "São Paulo, 10 de março de 2026."
)


def _values(text: str, kind: EntityKind) -> list[str]:
    return [e.value for e in extract_entities(text) if e.kind == kind]


def test_realistic_contract_paragraph() -> None:
    summary = summarize(extract_entities(CONTRACT))
    assert summary == {
        "cpf": ["529.982.247-25", "111.444.777-35"],
        "cnpj": ["11.222.333/0001-81", "12.ABC.345/01DE-35"],
        "phone": ["+554133224455", "+5541998765432", "08001234567"],
        "email": ["maria.silva@acme.com.br", "contato@beta.com.br"],
        "cep": ["01310-100", "80010-000"],
        "date": ["2026-03-15", "2026-04-01", "2026-03-10"],
        "amount_brl": ["15000.00"],
    }


def test_entities_carry_raw_text_offsets_and_page() -> None:
    entities = extract_entities(CONTRACT, page=3)
    assert entities == sorted(entities, key=lambda e: e.start)
    for entity in entities:
        assert CONTRACT[entity.start : entity.end] == entity.raw
        assert entity.page == 3
    email = next(e for e in entities if e.kind == "email")
    assert email.raw == "Maria.Silva@Acme.com.br"
    assert extract_entities("CPF 529.982.247-25")[0].page is None


# --- CPF -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("CPF 529.982.247-25.", "529.982.247-25"),
        ("CPF: 52998224725", "529.982.247-25"),
        ("portador do CPF 111.444.777-35, residente", "111.444.777-35"),
    ],
)
def test_valid_cpfs_are_extracted_and_normalised(text: str, value: str) -> None:
    assert _values(text, "cpf") == [value]


@pytest.mark.parametrize(
    "text",
    [
        "inscrito no CPF sob o nº 529.982.247-24, residente",
        "CPF 111.111.111-11",
        "CPF 000.000.000-00",
        "CPF 52998224724",
    ],
)
def test_invalid_cpfs_are_not_extracted_as_anything(text: str) -> None:
    assert extract_entities(text) == []


# --- CNPJ ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("CNPJ 11.222.333/0001-81", "11.222.333/0001-81"),
        ("CNPJ 11222333000181", "11.222.333/0001-81"),
        ("CNPJ 12.ABC.345/01DE-35", "12.ABC.345/01DE-35"),
        ("CNPJ 12ABC34501DE35", "12.ABC.345/01DE-35"),
        ("CNPJ 12.abc.345/01de-35", "12.ABC.345/01DE-35"),
    ],
)
def test_valid_cnpjs_numeric_and_alphanumeric(text: str, value: str) -> None:
    assert _values(text, "cnpj") == [value]


@pytest.mark.parametrize(
    "text",
    [
        "CNPJ 11.222.333/0001-80",
        "CNPJ 11222333000180",
        "CNPJ 12ABD34501DE35",
        "CNPJ 12.ABC.345/01DE-36",
        "CNPJ 00.000.000/0000-00",
        "PARTICIPANTES12 e CONTRATANTES1",  # words that look like a bare CNPJ
    ],
)
def test_invalid_cnpjs_are_not_extracted_as_anything(text: str) -> None:
    assert extract_entities(text) == []


# --- Phones ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Tel.: +55 11 98765-4321", "+5511987654321"),
        ("ligue +5511987654321 hoje", "+5511987654321"),
        ("ligue (11) 98765-4321 hoje", "+5511987654321"),
        ("ligue (11)98765-4321 hoje", "+5511987654321"),
        ("ligue 11 9 8765-4321 hoje", "+5511987654321"),
        ("ligue 11 3456-7890 hoje", "+551134567890"),
        ("ligue (011) 3456-7890 hoje", "+551134567890"),
        ("ligue +55 (21) 2345-6789 hoje", "+552123456789"),
        ("celular: 21987654321", "+5521987654321"),
        ("WhatsApp 85 99999-0000", "+5585999990000"),
        ("SAC 0800 123 4567", "08001234567"),
        ("SAC 0800-123-4567", "08001234567"),
    ],
)
def test_brazilian_phones(text: str, value: str) -> None:
    assert _values(text, "phone") == [value]


@pytest.mark.parametrize(
    "text",
    [
        "ligue (20) 98765-4321",  # DDD 20 does not exist
        "ligue 23 3456-7890",  # nor 23
        "ligue (11) 8765-4321",  # 8 digits starting with 8: neither kind
        "ligue (11) 88765-4321",  # 9 digits not starting with 9
        "ligue 11 6456-7890",  # landlines start with 2-5
        "ligue 98765-4321",  # no DDD: cannot be normalised
        "protocolo 11987654321",  # bare digits without a phone cue
        "processo 0001234-56.2026.8.26.0100",
    ],
)
def test_not_phones(text: str) -> None:
    assert _values(text, "phone") == []


def test_ddd_list_is_the_real_one() -> None:
    assert len(BRAZILIAN_DDDS) == 67
    assert {"11", "21", "61", "99"} <= BRAZILIAN_DDDS
    assert not {"10", "20", "23", "25", "26", "29", "30", "36", "39", "40"} & (
        BRAZILIAN_DDDS
    )
    assert not {"50", "52", "56", "57", "58", "59", "60", "70", "72", "76", "78"} & (
        BRAZILIAN_DDDS
    )
    assert not {"80", "90"} & BRAZILIAN_DDDS


def test_phone_never_read_inside_other_entities() -> None:
    text = (
        "CPF 529.982.247-25, CNPJ 11222333000181, CEP 01310-100, em 15.03.2026, "
        "R$ 11.987.654,32 e celular: 52998224725"
    )
    kinds = [e.kind for e in extract_entities(text)]
    assert kinds == ["cpf", "cnpj", "cep", "date", "amount_brl", "cpf"]


# --- E-mails ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Contato: Joao.Silva@Empresa.com.br.", "joao.silva@empresa.com.br"),
        ("(ana+contratos@x-y.com), ok", "ana+contratos@x-y.com"),
        ("e-mail <FIN@ACME.COM>;", "fin@acme.com"),
        ("escreva para suporte@beta.com.br!", "suporte@beta.com.br"),
    ],
)
def test_emails(text: str, value: str) -> None:
    [entity] = extract_entities(text)
    assert entity.kind == "email" and entity.value == value
    assert entity.raw.lower() == value  # trailing punctuation left out


@pytest.mark.parametrize("text", ["a@b", "joao@@x.com", "joao..silva@x.com", "@x.com"])
def test_not_emails(text: str) -> None:
    assert _values(text, "email") == []


# --- CEP -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Av. Paulista, 1000, 01310-100 São Paulo", "01310-100"),
        ("CEP 01.310-100", "01310-100"),
        ("CEP 01310100", "01310-100"),
        ("CEP: 01310100", "01310-100"),
        ("cep nº 04538132", "04538-132"),
    ],
)
def test_ceps(text: str, value: str) -> None:
    assert _values(text, "cep") == [value]


@pytest.mark.parametrize(
    "text",
    [
        "pedido 01310100",  # bare 8 digits without a CEP cue
        "CEP 01310-100 e pedido 01310100",  # the cue is not for the second one
        "CEP 00000-000",
        "CEP 1310-100",
    ],
)
def test_not_ceps(text: str) -> None:
    assert len(_values(text, "cep")) == text.count("01310-100")


# --- Dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("em 15/03/2026,", "2026-03-15"),
        ("em 15-03-2026,", "2026-03-15"),
        ("em 15.03.2026.", "2026-03-15"),
        ("em 2026-03-15,", "2026-03-15"),
        ("em 1/4/2026", "2026-04-01"),
        ("em 1º de abril de 2026", "2026-04-01"),
        ("em 1o de abril de 2026", "2026-04-01"),
        ("em 15 de março de 2026", "2026-03-15"),
        ("em 15 de marco de 2026", "2026-03-15"),
        ("em 15 de MARÇO de 2026", "2026-03-15"),
        ("em 29 de fevereiro de 2028", "2028-02-29"),
        ("São Paulo, 5 de dezembro, 2026", "2026-12-05"),
    ],
)
def test_dates(text: str, value: str) -> None:
    assert _values(text, "date") == [value]


@pytest.mark.parametrize(
    "text",
    [
        "em 31/02/2026",
        "em 29 de fevereiro de 2026",
        "em 15/13/2026",
        "em 2026-02-30",
        "em 15/03-2026",  # mixed separators
        "em 15/03/26",  # two-digit year: ambiguous
        "em 32 de janeiro de 2026",
    ],
)
def test_not_dates(text: str) -> None:
    assert _values(text, "date") == []


# --- Amounts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "raw"),
    [
        ("valor de R$ 1.234,56.", "1234.56", "R$ 1.234,56"),
        ("valor de R$1.234,56,", "1234.56", "R$1.234,56"),
        ("valor de R$ 15.000,00 (quinze mil reais)", "15000.00", "R$ 15.000,00"),
        ("valor de R$ 500 por mês", "500.00", "R$ 500"),
        ("valor de R$ 1234,5", "1234.50", "R$ 1234,5"),
        ("valor de R$ 0,99", "0.99", "R$ 0,99"),
        ("valor de 1.234,56 reais", "1234.56", "1.234,56 reais"),
        ("valor de R$ 500 reais", "500.00", "R$ 500 reais"),
        ("valor de R$ 2 milhões", "2000000.00", "R$ 2 milhões"),
        ("valor de R$ 1,5 mil", "1500.00", "R$ 1,5 mil"),
    ],
)
def test_amounts(text: str, value: str, raw: str) -> None:
    [entity] = extract_entities(text)
    assert (entity.kind, entity.value, entity.raw) == ("amount_brl", value, raw)


@pytest.mark.parametrize(
    "text", ["valor de 1.234,56", "US$ 100", "R$ 1.2345", "nota 7,5 na prova"]
)
def test_not_amounts(text: str) -> None:
    assert _values(text, "amount_brl") == []


# --- Summary ---------------------------------------------------------------------


def test_summarize_dedupes_values_in_order_and_lists_every_kind() -> None:
    entities = extract_entities(
        "CPF 529.982.247-25, de novo 52998224725; R$ 10,00 e 10,00 reais"
    )
    summary = summarize(entities)
    assert list(summary) == list(KINDS)
    assert summary["cpf"] == ["529.982.247-25"]
    assert summary["amount_brl"] == ["10.00"]
    assert summary["email"] == []
    assert summarize([]) == {kind: [] for kind in KINDS}
    assert isinstance(entities[0], Entity)
