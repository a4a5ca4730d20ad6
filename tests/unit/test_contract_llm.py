"""Contract fields from the private LLM, each checked against the source text.

Ollama is answered with its real ``/api/chat`` wire shape through
``httpx.MockTransport``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import ollama
import pytest

from atende.config import get_settings
from atende.documents.contract_llm import (
    CONTRACT_SCHEMA,
    DEFAULT_MAX_CHARS,
    ContractFields,
    Parte,
    extract_contract_fields,
    extract_contract_fields_or_unavailable,
)
from atende.llm import LlmUnavailable

CONTRACT = (
    "CONTRATO DE LOCAÇÃO RESIDENCIAL\n\n"
    "LOCADOR: José  Antônio Pereira, brasileiro, CPF 529.982.247-25, residente na "
    "Rua das Acácias, 120, Jardim América, São Paulo/SP, CEP 01430-000.\n"
    "LOCATÁRIA: Ana Beatriz Costa, CPF 111.444.777-35, residente na Avenida Brasil, "
    "500, apto 32, Rio de Janeiro/RJ.\n"
    "CLÁUSULA 1ª \u2013 DO OBJETO. Locação do imóvel situado na Rua das Acácias, 120, "
    "Jardim América, São Paulo/SP, para fins exclusivamente residenciais.\n"
    "CLÁUSULA 2ª \u2013 DO VALOR. O aluguel mensal é de R$ 3.500,00 (três mil e "
    "quinhentos reais), pago até o dia 5 de cada mês.\n"
    "CLÁUSULA 3ª \u2013 DO PRAZO. O prazo da locação é de 30 (trinta) meses, com "
    "início em 1º de abril de 2026.\n"
    "Testemunha: Carlos Eduardo Lima."
)

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OLLAMA_HOST", "")  # also hides one from a .env file
    monkeypatch.setenv("OLLAMA_MODEL", "llama3:8b")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _chat_response(content: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "model": "llama3:8b",
            "created_at": "2026-11-22T03:00:00Z",
            "message": {"role": "assistant", "content": content},
            "done": True,
            "done_reason": "stop",
            "total_duration": 2412000000,
            "load_duration": 12000000,
            "prompt_eval_count": 611,
            "eval_count": 188,
        },
    )


def _ollama(
    answer: dict[str, Any] | str | None, requests: list[dict[str, Any]] | None = None
) -> ollama.Client:
    """A client whose host answers ``answer`` (a dict as JSON content, a str as
    raw content) or refuses the connection (None)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if answer is None:
            raise httpx.ConnectError("connection refused", request=request)
        assert request.url.path == "/api/chat"
        if requests is not None:
            requests.append(json.loads(request.content))
        content = answer if isinstance(answer, str) else json.dumps(answer)
        return _chat_response(content)

    return ollama.Client(
        host="http://ollama.test:11434", transport=httpx.MockTransport(handler)
    )


def _answer(**overrides: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "partes": [
            {
                "nome": "José Antônio Pereira",
                "papel": "locador",
                "documento": "529.982.247-25",
            },
            {
                "nome": "ana beatriz costa",
                "papel": "locatario",
                "documento": "11144477735",
            },
        ],
        "enderecos": [
            "Rua das Acácias, 120, Jardim América, São Paulo/SP, CEP 01430-000",
            "Avenida Brasil, 500, apto 32, Rio de Janeiro/RJ",
        ],
        "objeto": "Locação do imóvel situado na Rua das Acácias, 120, Jardim América,"
        " São Paulo/SP, para fins exclusivamente residenciais",
        "valor": "R$ 3.500,00",
        "prazo": "30 (trinta) meses",
        "nomes": [
            "José Antônio Pereira",
            "Ana Beatriz Costa",
            "Carlos Eduardo Lima",
        ],
    }
    answer.update(overrides)
    return answer


def test_values_present_in_the_text_are_kept() -> None:
    requests: list[dict[str, Any]] = []
    fields = extract_contract_fields(CONTRACT, client=_ollama(_answer(), requests))
    assert fields.available and fields.llm == "ok"
    assert fields.partes == (
        Parte("José Antônio Pereira", "locador", "529.982.247-25"),
        # Matched ignoring case; the document as written in the text.
        Parte("ana beatriz costa", "locatario", "111.444.777-35"),
    )
    assert len(fields.enderecos) == 2
    assert fields.objeto is not None and fields.objeto.startswith("Locação do imóvel")
    assert fields.valor == "R$ 3.500,00"
    assert fields.prazo == "30 (trinta) meses"
    assert fields.nomes == (
        "José Antônio Pereira",
        "Ana Beatriz Costa",
        "Carlos Eduardo Lima",
    )
    assert (fields.dropped, fields.dropped_fields) == (0, ())
    assert not fields.truncated and fields.chars_sent == len(CONTRACT)


def test_the_request_carries_the_schema_temperature_zero_and_the_model() -> None:
    requests: list[dict[str, Any]] = []
    extract_contract_fields(CONTRACT, client=_ollama(_answer(), requests))
    [body] = requests
    assert body["model"] == "llama3:8b"
    assert body["format"] == CONTRACT_SCHEMA
    assert body["options"]["temperature"] == 0
    assert body["stream"] is False
    system, user = body["messages"]
    assert system["role"] == "system" and "NUNCA invente" in system["content"]
    assert user["role"] == "user" and CONTRACT in user["content"]


def test_accents_case_and_whitespace_are_ignored_when_checking() -> None:
    fields = extract_contract_fields(
        CONTRACT,
        client=_ollama(
            _answer(
                nomes=["JOSE ANTONIO PEREIRA", "carlos   eduardo\nlima"],
                valor="R$3.500,00",
                prazo="30 (TRINTA) MESES",
            )
        ),
    )
    assert fields.nomes == ("JOSE ANTONIO PEREIRA", "carlos eduardo lima")
    assert fields.valor == "R$3.500,00"
    assert fields.prazo == "30 (TRINTA) MESES"
    assert fields.dropped == 0


def test_invented_values_are_dropped_and_counted() -> None:
    answer = _answer(
        partes=[
            *_answer()["partes"],
            # An invented party.
            {
                "nome": "Imobiliária Horizonte Ltda.",
                "papel": "interveniente",
                "documento": "11.222.333/0001-81",
            },
            # A real party with an invented document and a role not in the text.
            {
                "nome": "Carlos Eduardo Lima",
                "papel": "fiador",
                "documento": "123.456.789-09",
            },
        ],
        enderecos=[
            "Rua das Acácias, 120, Jardim América, São Paulo/SP, CEP 01430-000",
            "Rua Augusta, 1500, São Paulo/SP",  # invented address
        ],
        valor="R$ 35.000,00",  # invented value
        prazo="12 meses",  # invented term
        objeto="Compra e venda de imóvel",  # paraphrase / invention
        nomes=["Ana Beatriz Costa", "Ana", "Pedro Álvares Cabral"],
    )
    fields = extract_contract_fields(CONTRACT, client=_ollama(answer))
    assert [p.nome for p in fields.partes] == [
        "José Antônio Pereira",
        "ana beatriz costa",
        "Carlos Eduardo Lima",
    ]
    assert fields.partes[2] == Parte("Carlos Eduardo Lima", "outro", None)
    assert fields.enderecos == (
        "Rua das Acácias, 120, Jardim América, São Paulo/SP, CEP 01430-000",
    )
    assert (fields.valor, fields.prazo, fields.objeto) == (None, None, None)
    # "Ana" is a whole word of the text: kept; the invented name is not.
    assert fields.nomes == ("Ana Beatriz Costa", "Ana")
    assert fields.dropped_fields == (
        "partes[2].nome",
        "partes[3].papel",
        "partes[3].documento",
        "enderecos[1]",
        "objeto",
        "valor",
        "prazo",
        "nomes[2]",
    )
    assert fields.dropped == 8


def test_substrings_of_words_do_not_count_as_found() -> None:
    fields = extract_contract_fields(
        "Contratante: Mariana Souza.",
        client=_ollama(
            _answer(partes=[], enderecos=[], objeto="", valor="", prazo="", nomes=[])
            | {"nomes": ["Ana", "Mariana Souza"]}
        ),
    )
    assert fields.nomes == ("Mariana Souza",)
    assert fields.dropped == 1


def test_empty_values_are_not_counted_as_dropped() -> None:
    fields = extract_contract_fields(
        CONTRACT,
        client=_ollama(
            {
                "partes": [],
                "enderecos": [""],
                "objeto": "",
                "valor": "",
                "prazo": "",
                "nomes": [],
            }
        ),
    )
    assert fields == ContractFields(chars_sent=len(CONTRACT))


def test_wrong_types_are_dropped_not_trusted() -> None:
    fields = extract_contract_fields(
        CONTRACT,
        client=_ollama(
            {
                "partes": ["José Antônio Pereira", {"papel": "locador"}],
                "enderecos": "Avenida Brasil, 500",
                "valor": 3500,
                "nomes": [None, "Ana Beatriz Costa"],
            }
        ),
    )
    assert fields.partes == ()
    assert fields.enderecos == ()
    assert fields.valor is None and fields.objeto is None
    assert fields.nomes == ("Ana Beatriz Costa",)
    assert fields.dropped_fields == (
        "partes[0]",
        "partes[1].nome",
        "enderecos",
        "valor",
    )


def test_alphanumeric_cnpj_documents_match_ignoring_punctuation() -> None:
    text = "CONTRATADA: Beta Tecnologia S.A., CNPJ 12.ABC.345/01DE-35."
    answer = _answer(
        partes=[
            {
                "nome": "Beta Tecnologia S.A.",
                "papel": "contratada",
                "documento": "12abc34501de35",
            },
        ],
        enderecos=[],
        objeto="",
        valor="",
        prazo="",
        nomes=[],
    )
    fields = extract_contract_fields(text, client=_ollama(answer))
    assert fields.partes == (
        Parte("Beta Tecnologia S.A.", "contratada", "12.ABC.345/01DE-35"),
    )
    assert fields.dropped == 0


def test_long_documents_are_capped() -> None:
    requests: list[dict[str, Any]] = []
    filler = "Cláusula acessória sem dados relevantes. " * 2000
    text = CONTRACT + "\n" + filler + "\nFIM-DO-DOCUMENTO R$ 99.999,00"
    fields = extract_contract_fields(
        text,
        client=_ollama(_answer(valor="R$ 99.999,00"), requests),
        max_chars=5_000,
    )
    user = requests[0]["messages"][1]["content"]
    assert user.startswith("Contrato:\n")
    sent = user.removeprefix("Contrato:\n")
    assert len(sent) <= 5_000 and text.startswith(sent)
    assert not sent.endswith(("Cláusul", "acessóri"))  # cut between words
    assert "FIM-DO-DOCUMENTO" not in user
    assert fields.truncated and fields.chars_sent == len(sent)
    # A value outside what was sent cannot have been read there: dropped.
    assert fields.valor is None and "valor" in fields.dropped_fields


def test_default_cap() -> None:
    requests: list[dict[str, Any]] = []
    text = "palavra " * (DEFAULT_MAX_CHARS // 4)
    extract_contract_fields(text, client=_ollama(_answer(), requests))
    sent = requests[0]["messages"][1]["content"].removeprefix("Contrato:\n")
    assert DEFAULT_MAX_CHARS - 10 <= len(sent) <= DEFAULT_MAX_CHARS
    with pytest.raises(ValueError, match="max_chars"):
        extract_contract_fields(text, client=_ollama(_answer()), max_chars=0)


def test_empty_text_does_not_call_the_llm() -> None:
    assert extract_contract_fields("  \n ", client=_ollama(None)) == ContractFields()


def test_connection_refused_is_llm_unavailable() -> None:
    with pytest.raises(LlmUnavailable):
        extract_contract_fields(CONTRACT, client=_ollama(None))
    result = extract_contract_fields_or_unavailable(CONTRACT, client=_ollama(None))
    assert result == ContractFields.unavailable()
    assert result.llm == "indisponivel" and not result.available


@pytest.mark.parametrize(
    "content", ['{"partes": [', "Claro! Aqui estão os dados:", "", "[1, 2]", "null"]
)
def test_invalid_json_is_llm_unavailable(content: str) -> None:
    with pytest.raises(LlmUnavailable):
        extract_contract_fields(CONTRACT, client=_ollama(content))
    unavailable = extract_contract_fields_or_unavailable(
        CONTRACT, client=_ollama(content)
    )
    assert unavailable.llm == "indisponivel"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(404, json={"error": "model 'llama3:8b' not found"}),
        httpx.Response(500, text="internal error"),
        httpx.Response(200, text="<html>proxy</html>"),
    ],
)
def test_llm_errors_are_llm_unavailable(response: httpx.Response) -> None:
    client = ollama.Client(
        host="http://ollama.test:11434",
        transport=httpx.MockTransport(lambda _request: response),
    )
    with pytest.raises(LlmUnavailable):
        extract_contract_fields(CONTRACT, client=client)


def test_timeout_is_llm_unavailable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = ollama.Client(
        host="http://ollama.test:11434", transport=httpx.MockTransport(slow)
    )
    assert extract_contract_fields_or_unavailable(CONTRACT, client=client).llm == (
        "indisponivel"
    )


def test_no_llm_configured_is_llm_unavailable() -> None:
    with pytest.raises(LlmUnavailable):
        extract_contract_fields(CONTRACT)
    assert extract_contract_fields_or_unavailable(CONTRACT).llm == "indisponivel"


def test_default_client_uses_the_configured_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("OLLAMA_TIMEOUT_S", "2")
    get_settings.cache_clear()
    assert extract_contract_fields_or_unavailable(CONTRACT).llm == "indisponivel"


def test_to_dict_is_json_ready() -> None:
    fields = extract_contract_fields(CONTRACT, client=_ollama(_answer()))
    body = fields.to_dict()
    assert json.loads(json.dumps(body)) == body
    assert body["llm"] == "ok"
    assert body["partes"][0] == {
        "nome": "José Antônio Pereira",
        "papel": "locador",
        "documento": "529.982.247-25",
    }
    assert ContractFields.unavailable().to_dict()["llm"] == "indisponivel"


def test_roles_and_documents_without_digits() -> None:
    answer = _answer(
        partes=[
            {"nome": "Carlos Eduardo Lima", "papel": "outro", "documento": ""},
            {
                "nome": "Ana Beatriz Costa",
                "papel": "sublocatária",  # not one of the roles
                "documento": "não informado",  # not a document
            },
        ],
    )
    fields = extract_contract_fields(CONTRACT, client=_ollama(answer))
    assert fields.partes == (
        Parte("Carlos Eduardo Lima", "outro", None),
        Parte("Ana Beatriz Costa", "outro", None),
    )
    assert fields.dropped_fields == ("partes[1].papel", "partes[1].documento")
