"""The public API contract: an OpenAPI 3.1 document of every API-key route.

The schemas come from the types the routes return (the ``DocumentJob``
dataclasses, the entity and contract-field dataclasses) through pydantic, so
a field added to a result shows up here by itself. The error responses come
from the error classes each route can raise, and their statuses from
``atende.errors`` (the one status table). ``tests/unit/test_api_contract.py``
checks the operations against the routes Chalice registered, and
``tests/e2e/test_api_fuzz.py`` fuzzes the local API against this document.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter

from atende import errors, reports
from atende.documents import jobs
from atende.documents.contract_llm import ContractFields
from atende.documents.jobs import (
    DocumentJob,
    DocumentNotFound,
    PipelineBusy,
    ResultExpired,
    ResultNotReady,
    TooManyDocumentsRunning,
)
from atende.documents.pdf import (
    EmptyUpload,
    NotAPdf,
    PdfCorrupt,
    PdfProtected,
    PdfTooLarge,
    PdfTooManyPages,
    PdfWithoutPages,
)
from atende.entities import KINDS, Entity, EntityKind
from atende.reports.measures import Report
from atende.tenancy import Scope
from chalicelib.web import FLAG_VALUES

API_KEY_HEADER = "X-API-Key"
REF = "#/components/schemas/{model}"

# --- Response bodies that are not a single dataclass --------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="Código estável do erro.")
    message: str = Field(description="Mensagem em português.")
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """Every error: a stable code and a message in Portuguese."""

    error: ErrorDetail


class DocumentList(BaseModel):
    documents: list[DocumentJob]
    next_cursor: str | None = Field(
        description="Passe em `cursor` para a próxima página; `null` na última."
    )


class PageText(BaseModel):
    index: int
    text: str


class DocumentResult(BaseModel):
    """``pages`` only with ``?text=true``."""

    document_id: str
    entities: list[Entity]
    summary: dict[EntityKind, list[str]]
    contract: ContractFields | None
    llm: str
    pages: list[PageText] | None = None


class ConversationState(BaseModel):
    state: str


# --- Operations -----------------------------------------------------------------

# Raised by the authentication every operation goes through.
_AUTH_ERRORS: tuple[type[errors.AtendeError], ...] = (
    errors.Unauthenticated,
    errors.Forbidden,
    errors.RateLimited,
)


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "path" or "query"
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One API-key route as clients see it."""

    method: str
    path: str
    operation_id: str
    scope: Scope
    summary: str
    description: str
    ok_status: int
    ok_body: type | None
    errors: tuple[type[errors.AtendeError], ...]
    params: tuple[Param, ...] = ()
    request_body: dict[str, Any] | None = None
    ok_statuses: tuple[int, ...] = ()
    tags: tuple[str, ...] = field(default=("Documentos",))
    # What a success status means, when one operation has two.
    ok_notes: tuple[tuple[int, str], ...] = ()


_UUID = {"type": "string", "format": "uuid"}
_DOCUMENT_ID = Param(
    "document_id", "path", _UUID, "Identificador do documento.", required=True
)
_PDF_BODY = {
    "required": True,
    "description": (
        "O PDF no corpo da requisição (`application/pdf`) ou como arquivo de um "
        "formulário `multipart/form-data` (campo `file`)."
    ),
    "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}

_REPORT_PARAMS = (
    Param(
        "de",
        "query",
        {"type": "string", "format": "date"},
        "Primeiro dia (horário de São Paulo, AAAA-MM-DD); padrão: 29 dias "
        f"antes de `ate`. Datas entre {reports.EARLIEST:%d/%m/%Y} e "
        f"{reports.LATEST:%d/%m/%Y}.",
    ),
    Param(
        "ate",
        "query",
        {"type": "string", "format": "date"},
        "Último dia, incluído; padrão: hoje.",
    ),
    Param(
        "granularidade",
        "query",
        {"type": "string", "enum": ["hour", "day", "week"], "default": "day"},
        f"Períodos do relatório (por hora: até {reports.MAX_HOURLY_DAYS} dias; "
        f"no total, até {reports.MAX_DAYS}).",
    ),
    Param("equipe", "query", {"type": "string"}, "Só esta equipe."),
    Param(
        "atendente", "query", {"type": "string", "format": "uuid"}, "Só este atendente."
    ),
    Param(
        "entrada",
        "query",
        {"type": "string"},
        "Só este ponto de entrada (o `phone_number_id` do WhatsApp).",
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/v1/documents",
        "enviarDocumento",
        scope=Scope.DOCUMENTS,
        summary="Enviar um PDF para leitura",
        description=(
            "Recebe um PDF e inicia a leitura (camada de texto e OCR das páginas "
            "digitalizadas) e a extração de entidades. Responde 202 com o trabalho "
            "criado; o mesmo arquivo enviado de novo devolve o trabalho existente "
            "com 200. Acompanhe em `Location`.\n\n"
            "Envio repetido: o mesmo PDF (mesmo SHA-256) enviado pelo mesmo "
            "cliente enquanto a leitura anterior está em `RECEIVED`/`PROCESSING`, "
            "ou concluída com o resultado ainda disponível, não inicia outra "
            "leitura: a resposta é 200 com o trabalho existente (mesmo `id`). "
            "Depois de uma falha (`FAILED`) ou de o resultado expirar, o mesmo "
            "arquivo inicia uma leitura nova (202)."
        ),
        ok_status=202,
        ok_statuses=(200,),
        ok_notes=(
            (202, "Trabalho criado; consulte a situação no endereço de `Location`."),
            (
                200,
                "O mesmo PDF já está em leitura ou com resultado disponível: o "
                "trabalho existente, sem nova leitura.",
            ),
        ),
        ok_body=DocumentJob,
        request_body=_PDF_BODY,
        errors=(
            EmptyUpload,
            PdfCorrupt,
            PdfProtected,
            PdfWithoutPages,
            PdfTooManyPages,
            PdfTooLarge,
            NotAPdf,
            TooManyDocumentsRunning,
            PipelineBusy,
        ),
    ),
    Operation(
        "GET",
        "/v1/documents",
        "listarDocumentos",
        scope=Scope.DOCUMENTS,
        summary="Listar documentos",
        description=(
            "Os documentos do cliente da chave, dos mais recentes aos mais antigos."
        ),
        ok_status=200,
        ok_body=DocumentList,
        params=(
            Param(
                "status",
                "query",
                {"type": "string", "enum": list(jobs.STATUSES)},
                "Só os documentos nesta situação.",
            ),
            Param(
                "limit",
                "query",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": jobs.LIST_MAXIMUM,
                    "default": jobs.LIST_DEFAULT,
                },
                "Quantos documentos por página (fora do intervalo: 400).",
            ),
            Param(
                "cursor",
                "query",
                {"type": "string"},
                "O `next_cursor` da página anterior.",
            ),
        ),
        errors=(errors.InvalidInput, errors.PageLimitInvalid, errors.CursorInvalid),
    ),
    Operation(
        "GET",
        "/v1/documents/{document_id}",
        "consultarDocumento",
        scope=Scope.DOCUMENTS,
        summary="Consultar um documento",
        description="A situação da leitura: páginas, tempos e, se falhou, o motivo.",
        ok_status=200,
        ok_body=DocumentJob,
        params=(_DOCUMENT_ID,),
        errors=(errors.InvalidInput, DocumentNotFound),
    ),
    Operation(
        "GET",
        "/v1/documents/{document_id}/result",
        "obterResultado",
        scope=Scope.DOCUMENTS,
        summary="Obter o resultado da leitura",
        description=(
            "As entidades encontradas (CPF, CNPJ, telefones, e-mails, CEPs...) e os "
            "campos do contrato. Disponível por tempo limitado depois de concluído; "
            "cada entrega é registrada na auditoria."
        ),
        ok_status=200,
        ok_body=DocumentResult,
        params=(
            _DOCUMENT_ID,
            Param(
                "text",
                "query",
                {"type": "string", "enum": list(FLAG_VALUES)},
                "Incluir o texto de cada página (`true`).",
            ),
        ),
        errors=(errors.InvalidInput, DocumentNotFound, ResultNotReady, ResultExpired),
    ),
    Operation(
        "POST",
        "/v1/conversations/{conversation_id}/return-to-bot",
        "devolverAoRobo",
        scope=Scope.CONVERSATIONS,
        summary="Devolver uma conversa ao robô",
        description=(
            "Tira a conversa da fila ou do atendente e devolve ao robô, que retoma "
            "o atendimento."
        ),
        ok_status=200,
        ok_body=ConversationState,
        params=(
            Param(
                "conversation_id",
                "path",
                _UUID,
                "Identificador da conversa.",
                required=True,
            ),
        ),
        errors=(errors.InvalidInput, errors.NotFound, errors.Conflict),
        tags=("Conversas",),
    ),
    Operation(
        "GET",
        "/v1/reports",
        "obterRelatorio",
        scope=Scope.REPORTS,
        summary="Obter os relatórios",
        description=(
            "Os números da página Relatórios do console: conversas, contenção pelo "
            "robô, transferências e motivos, tempo até a primeira resposta humana, "
            "atendimento e resolução, abandono, modelos enviados fora da janela de "
            "24 horas e documentos, por período, equipe, atendente e ponto de "
            "entrada. Atualizados a cada poucos minutos (`refreshed_at`)."
        ),
        ok_status=200,
        ok_body=Report,
        params=_REPORT_PARAMS,
        errors=(errors.InvalidInput,),
        tags=("Relatórios",),
    ),
)


# The types' docstrings are for Atende's developers; clients read these.
_DESCRIPTIONS = {
    "ErrorBody": "Erro: um código estável e uma mensagem em português.",
    "DocumentJob": "Um documento enviado e a situação da sua leitura.",
    "DocumentList": "Uma página de documentos.",
    "DocumentResult": (
        "O resultado da leitura: entidades com a posição no texto, um resumo por "
        "tipo e os campos do contrato (`null` quando o LLM não estava disponível)."
    ),
    "Entity": "Uma entidade encontrada: tipo, valor normalizado e posição.",
    "ContractFields": "Campos do contrato confirmados no texto do documento.",
    "JobPages": "Páginas: total, com camada de texto e lidas por OCR.",
    "JobError": "Por que a leitura falhou.",
    "PageText": "O texto de uma página.",
    "Parte": "Uma parte do contrato.",
    "ConversationState": "A situação da conversa depois da operação.",
    "Report": "Os números de um período, com os filtros aplicados.",
}


_STATUS_MEANINGS = {
    "RECEIVED": "recebido, a leitura ainda não começou",
    "PROCESSING": "páginas sendo lidas (camada de texto ou OCR) e entidades extraídas",
    "COMPLETED": "concluído: o resultado está em `/result` até expirar",
    "FAILED": "a leitura falhou; o motivo está em `error`",
}
_KIND_MEANINGS = {
    "cpf": "CPF, só os 11 dígitos",
    "cnpj": "CNPJ, os 14 caracteres sem pontuação (numérico ou alfanumérico)",
    "phone": "telefone em E.164 (`+5511987654321`); 0800/0300 com 11 dígitos",
    "email": "e-mail em minúsculas",
    "cep": "CEP, os 8 dígitos",
    "date": "data em ISO 8601 (`2026-03-15`)",
    "amount_brl": "valor em reais com duas casas decimais (`1234.56`)",
}


def _described(meanings: dict[str, str], intro: str) -> str:
    return intro + " " + "; ".join(f"`{k}`: {v}" for k, v in meanings.items()) + "."


# Fields whose JSON differs from what their Python type says, or whose values
# a client must interpret.
_FIELD_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("DocumentJob", "status"): {
        "type": "string",
        "enum": list(jobs.STATUSES),
        "description": _described(_STATUS_MEANINGS, "Situação da leitura."),
    },
    ("DocumentJob", "timings_ms"): {
        "type": ["object", "null"],
        "additionalProperties": {"type": ["integer", "null"]},
        "description": (
            "Quanto levou a leitura de cada página, em milissegundos, pelo "
            'índice da página a partir de zero (`{"0": 120, "1": 3400}`; o OCR '
            "de uma página digitalizada leva segundos). `null` até a leitura "
            "terminar."
        ),
    },
    ("DocumentJob", "llm"): {
        "type": ["string", "null"],
        "enum": ["ok", "indisponivel", None],
        "description": (
            "`ok`: os campos do contrato foram lidos pelo LLM; `indisponivel`: "
            "o LLM não pôde ser usado e o resultado traz só as entidades "
            "(`contract` nulo). `null` até a leitura terminar."
        ),
    },
    ("Entity", "kind"): {
        "type": "string",
        "enum": list(KINDS),
        "description": _described(
            _KIND_MEANINGS, "Tipo da entidade e a forma normalizada do `value`:"
        ),
    },
    # Naive on purpose: a report's periods are São Paulo's calendar (found by
    # the fuzzing run: "date-time" demands an offset).
    ("Period", "start"): {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$",
        "description": "Início do período, hora local de São Paulo (sem fuso).",
    },
}


def _schema_of(
    python_type: type, components: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    """A $ref to the type's schema, its definitions added to ``components``."""
    schema = TypeAdapter(python_type).json_schema(
        ref_template=REF, mode="serialization"
    )
    components.update(schema.pop("$defs", {}))
    if "$ref" in schema:
        return schema
    model = name or python_type.__name__
    components[model] = schema
    return {"$ref": REF.format(model=model)}


def _error_responses(operation: Operation, error_ref: dict[str, Any]) -> dict[str, Any]:
    by_status: dict[int, list[type[errors.AtendeError]]] = defaultdict(list)
    for error in (*_AUTH_ERRORS, *operation.errors):
        by_status[errors.status_of(error)].append(error)
    responses: dict[str, Any] = {}
    for status, kinds in sorted(by_status.items()):
        codes = ", ".join(sorted({f"`{kind.code}`" for kind in kinds}))
        response: dict[str, Any] = {
            "description": f"Erro. Códigos: {codes}.",
            "content": {"application/json": {"schema": error_ref}},
        }
        if status in (429, 503):
            response["headers"] = {
                "Retry-After": {
                    "description": "Segundos até tentar de novo.",
                    "schema": {"type": "integer"},
                }
            }
        responses[str(status)] = response
    # Anything unexpected: the same body, never a stack trace.
    responses["500"] = {
        "description": "Erro interno (`ERRO_INTERNO`).",
        "content": {"application/json": {"schema": error_ref}},
    }
    return responses


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once per process)."""
    components: dict[str, Any] = {}
    error_ref = _schema_of(ErrorBody, components)
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for operation in OPERATIONS:
        ok_ref = (
            _schema_of(operation.ok_body, components) if operation.ok_body else None
        )
        notes = dict(operation.ok_notes)
        responses: dict[str, Any] = {}
        for status in (operation.ok_status, *operation.ok_statuses):
            ok: dict[str, Any] = {"description": notes.get(status, "Sucesso.")}
            if ok_ref:
                ok["content"] = {"application/json": {"schema": ok_ref}}
            responses[str(status)] = ok
        responses.update(_error_responses(operation, error_ref))
        entry: dict[str, Any] = {
            "operationId": operation.operation_id,
            "summary": operation.summary,
            "description": (
                f"{operation.description}\n\n"
                f"Escopo da chave: `{operation.scope.value}`."
            ),
            "tags": list(operation.tags),
            "security": [{"apiKey": []}],
            "x-atende-scope": operation.scope.value,
            "responses": responses,
        }
        if operation.params:
            entry["parameters"] = [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.required,
                    "description": p.description,
                    "schema": p.schema,
                }
                for p in operation.params
            ]
        if operation.request_body:
            entry["requestBody"] = operation.request_body
        paths[operation.path][operation.method.lower()] = entry
    for (name, field_name), field_schema in _FIELD_SCHEMAS.items():
        components[name]["properties"][field_name] = field_schema
    for name, schema in components.items():
        schema.pop("description", None)
        if name in _DESCRIPTIONS:
            schema["description"] = _DESCRIPTIONS[name]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API do Atende",
            "version": "1.0.0",
            "description": (
                "Envio de PDFs para leitura e extração de dados, e integração com as "
                "conversas do WhatsApp. Autentique cada chamada com o cabeçalho "
                f"`{API_KEY_HEADER}`; cada chave tem escopos (`documents`, "
                "`conversations`, `reports`) escolhidos na criação. Erros vêm "
                "sempre como "
                '`{"error": {"code": ..., "message": ...}}`, com um código estável e '
                "uma mensagem em português, também quando a requisição não chega "
                "a uma operação: caminho inexistente (404 `NAO_ENCONTRADO`), método "
                "que o caminho não aceita (405 `METODO_NAO_PERMITIDO`, com o "
                "cabeçalho `Allow`; 404 quando é o gateway quem recusa), corpo "
                "de um tipo que a operação não aceita "
                "(415 `TIPO_NAO_SUPORTADO`), limite de requisições do gateway "
                "(429 `LIMITE_DE_REQUISICOES`), corpo acima de 10 MB (413 "
                "`CONTEUDO_GRANDE_DEMAIS`)."
            ),
        },
        "servers": [{"url": "/", "description": "Este servidor"}],
        "tags": [
            {"name": "Documentos", "description": "Leitura de PDFs."},
            {"name": "Conversas", "description": "Conversas do WhatsApp."},
            {"name": "Relatórios", "description": "Os números do atendimento."},
        ],
        "paths": dict(paths),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
            },
        },
    }


# --- The docs page: the same document as HTML, no script, no CDN --------------

_METHOD_COLOURS = {"get": "#1f6feb", "post": "#1a7f37", "put": "#9a6700"}


def _json_block(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return f"<pre><code>{html.escape(text)}</code></pre>"


def _operation_html(path: str, method: str, entry: dict[str, Any]) -> str:
    parts = [
        f'<section class="op" id="{html.escape(entry["operationId"])}">',
        f'<h3><span class="m" style="background:{_METHOD_COLOURS.get(method, "#555")}">'
        f"{method.upper()}</span> <code>{html.escape(path)}</code></h3>",
        f"<p><strong>{html.escape(entry['summary'])}</strong></p>",
    ]
    for paragraph in entry["description"].split("\n\n"):
        parts.append(f"<p>{html.escape(paragraph)}</p>")
    if entry.get("parameters"):
        rows = "".join(
            f"<tr><td><code>{html.escape(p['name'])}</code></td><td>{p['in']}</td>"
            f"<td>{'sim' if p['required'] else 'não'}</td>"
            f"<td>{html.escape(json.dumps(p['schema'], ensure_ascii=False))}</td>"
            f"<td>{html.escape(p['description'])}</td></tr>"
            for p in entry["parameters"]
        )
        parts.append(
            "<table><caption>Parâmetros</caption><thead><tr><th>Nome</th><th>Onde</th>"
            "<th>Obrigatório</th><th>Tipo</th><th>Descrição</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    if entry.get("requestBody"):
        body = entry["requestBody"]
        types = ", ".join(f"<code>{html.escape(t)}</code>" for t in body["content"])
        parts.append(
            f"<p><strong>Corpo:</strong> {html.escape(body['description'])} "
            f"Tipos aceitos: {types}.</p>"
        )
    rows = "".join(
        f"<tr><td>{status}</td><td>{html.escape(response['description'])}</td></tr>"
        for status, response in entry["responses"].items()
    )
    parts.append(
        "<table><caption>Respostas</caption><thead><tr><th>Status</th>"
        f"<th>Descrição</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )
    return "".join(parts)


@cache
def docs_page() -> str:
    """A readable page of the contract, in Portuguese, served by the API itself."""
    document = openapi_document()
    info = document["info"]
    operations = [
        _operation_html(path, method, entry)
        for path, methods in document["paths"].items()
        for method, entry in methods.items()
    ]
    index = "".join(
        f'<li><a href="#{html.escape(entry["operationId"])}">{method.upper()} '
        f"{html.escape(path)}</a> — {html.escape(entry['summary'])}</li>"
        for path, methods in document["paths"].items()
        for method, entry in methods.items()
    )
    schemas = "".join(
        f'<details id="schema-{html.escape(name)}"><summary><code>{html.escape(name)}'
        f"</code></summary>{_json_block(schema)}</details>"
        for name, schema in document["components"]["schemas"].items()
    )
    return (
        '<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(info['title'])}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem;line-height:1.5;color:#1f2328}"
        "code,pre{font-family:ui-monospace,monospace}"
        "pre{background:#f6f8fa;padding:.75rem;overflow:auto;border-radius:6px}"
        ".op{border:1px solid #d0d7de;border-radius:8px;padding:0 1rem 1rem;"
        "margin:1.5rem 0}"
        ".m{color:#fff;border-radius:4px;padding:.1rem .5rem;font-size:.9rem}"
        "table{border-collapse:collapse;width:100%;margin:.5rem 0}"
        "caption{text-align:left;font-weight:600}"
        "th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;"
        "vertical-align:top}"
        "</style></head><body>"
        f"<h1>{html.escape(info['title'])}</h1>"
        f"<p>{html.escape(info['description'])}</p>"
        '<p>O documento OpenAPI 3.1 completo: <a href="/openapi.json">'
        "<code>/openapi.json</code></a>.</p>"
        f"<h2>Operações</h2><ul>{index}</ul>{''.join(operations)}"
        f"<h2>Esquemas</h2>{schemas}</body></html>"
    )
