"""Document jobs: the API's use cases (submit, status, list, result) and the
pipeline's task use cases (inspect, read page, extract, purge, fail).

The PDF is encrypted on arrival, read by the pipeline and purged on every path;
only the encrypted result remains, until its TTL. Large data moves through S3,
never through the state machine's payload.
"""

from __future__ import annotations

# S608: the only interpolated SQL is this module's constant column list; every
# value is a bound parameter.
# ruff: noqa: S608
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from botocore.exceptions import BotoCoreError, ClientError
from psycopg.types.json import Jsonb

from atende import aws, entities, storage
from atende.audit import SYSTEM_CONTEXT, RequestContext, record_event
from atende.config import get_settings
from atende.crypto import TenantKey
from atende.db import Connection, tenant_transaction
from atende.db.paging import Page, decode_cursor, keyset_page, page_limit
from atende.documents import contract_llm, keys, limits, pdf
from atende.documents.limits import TooManyDocumentsRunning
from atende.errors import (
    Conflict,
    DependencyFailed,
    InvalidInput,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)
from atende.observability import logger, metrics
from atende.tenancy import ApiKeyPrincipal, get_tenant, tenant_key

SUBJECT = "document"
STATUSES = ("RECEIVED", "PROCESSING", "COMPLETED", "FAILED")


class DocumentNotFound(NotFound):
    code = "DOCUMENTO_NAO_ENCONTRADO"
    message = "Documento não encontrado."


class ResultNotReady(Conflict):
    code = "RESULTADO_NAO_DISPONIVEL"
    message = "O resultado ainda não está pronto. Consulte o status do documento."


class ResultExpired(NotFound):
    code = "RESULTADO_EXPIRADO"
    message = "O resultado deste documento expirou e foi apagado."


class PipelineBusy(ServiceUnavailable):
    code = "PROCESSAMENTO_OCUPADO"
    message = "Muitos documentos em processamento. Tente novamente em instantes."


@dataclass(frozen=True)
class JobPages:
    total: int | None
    text_layer: int | None
    ocr: int | None


@dataclass(frozen=True)
class JobError:
    code: str
    message: str | None


@dataclass(frozen=True)
class DocumentJob:
    """A job as API clients see it (``timings_ms``: milliseconds per step)."""

    id: UUID
    status: str
    sha256: str
    size_bytes: int
    pages: JobPages
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    purged: bool
    timings_ms: dict[str, Any] | None
    llm: str | None
    error: JobError | None = None


@dataclass(frozen=True)
class Submission:
    job: DocumentJob
    created: bool


# -- encrypted objects of a job -------------------------------------------------


def _key_of(tenant_id: UUID | str) -> TenantKey:
    with tenant_transaction(tenant_id) as conn:
        return tenant_key(get_tenant(conn))


def _read(key: TenantKey, s3_key: str, purpose: str, document_id: UUID | str) -> bytes:
    return storage.get(
        key, s3_key, purpose=purpose, context={"document_id": str(document_id)}
    )


def _write(
    key: TenantKey, s3_key: str, data: bytes, purpose: str, document_id: UUID | str
) -> None:
    storage.put(
        key, s3_key, data, purpose=purpose, context={"document_id": str(document_id)}
    )


def _source(key: TenantKey, tenant_id: UUID | str, document_id: UUID | str) -> bytes:
    return _read(
        key, keys.source_key(tenant_id, document_id), "document.source", document_id
    )


# -- API use cases -------------------------------------------------------------


def _check_rate(conn: Connection, principal: ApiKeyPrincipal) -> None:
    limit = get_settings().api_rate_limit_per_minute
    row = conn.execute(
        "INSERT INTO api_rate_limits (tenant_id, api_key_id, window_start, hits)"
        " VALUES (current_tenant_id(), %s, date_trunc('minute', now()), 1)"
        " ON CONFLICT (tenant_id, api_key_id, window_start)"
        " DO UPDATE SET hits = api_rate_limits.hits + 1"
        " RETURNING hits, 60 - extract(second FROM now())::int AS retry_after",
        (principal.api_key_id,),
    ).fetchone()
    assert row is not None
    if row["hits"] > limit:
        raise RateLimited(retry_after_s=max(1, int(row["retry_after"])))


def _check_capacity() -> None:
    arn = _pipeline_arn()
    limit = get_settings().document_max_running
    running = aws.client("stepfunctions").list_executions(
        stateMachineArn=arn, statusFilter="RUNNING", maxResults=limit + 1
    )["executions"]
    if len(running) >= limit:
        raise PipelineBusy(retry_after_s=30)


def _pipeline_arn() -> str:
    arn = get_settings().document_pipeline_arn
    if not arn:
        raise ServiceUnavailable(
            message="O processamento de documentos não está configurado."
        )
    return arn


_JOB_COLUMNS = (
    "id, status, page_count, text_pages, ocr_pages, size_bytes, created_at,"
    " started_at, finished_at, purged_at, error_code, error_message, timings,"
    " llm_status, encode(sha256, 'hex') AS sha256"
)


def _job_view(row: dict[str, Any]) -> DocumentJob:
    return DocumentJob(
        id=row["id"],
        status=row["status"],
        sha256=row["sha256"],
        size_bytes=row["size_bytes"],
        pages=JobPages(row["page_count"], row["text_pages"], row["ocr_pages"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        purged=row["purged_at"] is not None,
        timings_ms=row["timings"],
        llm=row["llm_status"],
        error=JobError(row["error_code"], row["error_message"])
        if row["error_code"]
        else None,
    )


def submit(
    principal: ApiKeyPrincipal, data: bytes, *, context: RequestContext
) -> Submission:
    """Validate, encrypt, store and start processing one PDF.

    The same bytes sent again while the first job's result lives return that job.

    Raises:
        RateLimited: the key's per-minute budget is spent (429).
        pdf validation errors: nothing is stored (4xx).
        TooManyDocumentsRunning: the tenant has its share running (503).
        PipelineBusy: too many executions running (503).
    """
    settings = get_settings()
    with tenant_transaction(principal.tenant_id) as conn:
        _check_rate(conn, principal)
    info = pdf.validate_upload(
        data,
        max_bytes=settings.document_max_bytes,
        max_pages=settings.document_max_pages,
    )
    digest = bytes.fromhex(info.sha256_hex)
    with tenant_transaction(principal.tenant_id) as conn:
        existing = conn.execute(
            f"SELECT {_JOB_COLUMNS} FROM documents d WHERE sha256 = %s AND ("
            " status IN ('RECEIVED', 'PROCESSING')"
            " OR (status = 'COMPLETED' AND EXISTS ("
            " SELECT 1 FROM document_results r WHERE r.document_id = d.id"
            " AND r.expires_at > now()))) ORDER BY created_at DESC LIMIT 1",
            (digest,),
        ).fetchone()
        if existing is not None:
            return Submission(_job_view(existing), created=False)
        # Refused here, a tenant over its share never spends the global check's
        # shared ListExecutions budget; the check that counts is the one below.
        limits.check_tenant_share(conn)
        tenant = get_tenant(conn)
    _check_capacity()

    document_id = uuid4()
    s3_key = keys.source_key(principal.tenant_id, document_id)
    with tenant_transaction(principal.tenant_id) as conn:
        limits.take_tenant_slot(conn)
        row = conn.execute(
            "INSERT INTO documents (tenant_id, id, api_key_id, sha256, size_bytes,"
            " page_count, s3_key) VALUES (current_tenant_id(), %s, %s, %s, %s, %s, %s)"
            f" RETURNING {_JOB_COLUMNS}",
            (
                document_id,
                principal.api_key_id,
                digest,
                info.size_bytes,
                info.page_count,
                s3_key,
            ),
        ).fetchone()
        assert row is not None
        record_event(
            conn,
            action="RECEIVED",
            subject_type=SUBJECT,
            subject_id=str(document_id),
            context=context,
            details={"pages": info.page_count, "bytes": info.size_bytes},
        )
    try:
        _write(tenant_key(tenant), s3_key, data, "document.source", document_id)
        execution = aws.client("stepfunctions").start_execution(
            stateMachineArn=_pipeline_arn(),
            name=str(document_id),
            input=json.dumps(
                {"tenant_id": str(principal.tenant_id), "document_id": str(document_id)}
            ),
        )
    except Exception as exc:
        # The job holds one of the tenant's slots: ending it frees the slot.
        fail(
            principal.tenant_id,
            document_id,
            code="PIPELINE_INDISPONIVEL",
            message="Não foi possível iniciar o processamento.",
        )
        purge(principal.tenant_id, document_id)
        if isinstance(exc, BotoCoreError | ClientError):
            raise DependencyFailed("Não foi possível iniciar o processamento.") from exc
        raise
    with tenant_transaction(principal.tenant_id) as conn:
        conn.execute(
            "UPDATE documents SET execution_arn = %s WHERE id = %s",
            (execution["executionArn"], document_id),
        )
    metrics.add_metric(name="DocumentsReceived", unit="Count", value=1)
    return Submission(_job_view(row), created=True)


def get_job(tenant_id: UUID, document_id: UUID) -> DocumentJob:
    with tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            f"SELECT {_JOB_COLUMNS} FROM documents WHERE id = %s", (document_id,)
        ).fetchone()
    if row is None:
        raise DocumentNotFound()
    return _job_view(row)


# Documents per page of GET /v1/documents (the OpenAPI contract says the same).
LIST_DEFAULT, LIST_MAXIMUM = 50, 200


def list_jobs(
    tenant_id: UUID,
    *,
    status: str | None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[DocumentJob]:
    """The tenant's documents, newest first, a page (at most 200) at a time."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            f"Status inválido. Use um de: {', '.join(STATUSES)}.", field="status"
        )
    limit = page_limit(limit, default=LIST_DEFAULT, maximum=LIST_MAXIMUM)
    params: list[Any] = [status, status]
    after = ""
    if cursor is not None:
        params += decode_cursor(cursor, datetime, UUID)
        after = " AND (created_at, id) < (%s, %s)"
    with tenant_transaction(tenant_id) as conn:
        rows = conn.execute(
            f"SELECT {_JOB_COLUMNS} FROM documents"
            " WHERE (%s::text IS NULL OR status = %s)" + after + " ORDER BY"
            " created_at DESC, id DESC LIMIT %s",
            (*params, limit + 1),
        ).fetchall()
    page, next_cursor = keyset_page(rows, limit, lambda r: (r["created_at"], r["id"]))
    return Page([_job_view(r) for r in page], next_cursor)


def get_result(
    principal: ApiKeyPrincipal,
    document_id: UUID,
    *,
    include_text: bool,
    context: RequestContext,
) -> dict[str, Any]:
    """The extracted entities (and page texts when asked); audited as DELIVERED."""
    with tenant_transaction(principal.tenant_id) as conn:
        row = conn.execute(
            "SELECT d.status, r.s3_key, r.expires_at FROM documents d"
            " LEFT JOIN document_results r ON r.document_id = d.id WHERE d.id = %s",
            (document_id,),
        ).fetchone()
        if row is None:
            raise DocumentNotFound()
        if row["status"] != "COMPLETED":
            raise ResultNotReady(status=row["status"])
        if row["s3_key"] is None or row["expires_at"] <= datetime.now(UTC):
            raise ResultExpired()
        key = tenant_key(get_tenant(conn))
        result = json.loads(_read(key, row["s3_key"], "document.result", document_id))
        record_event(
            conn,
            action="DELIVERED",
            subject_type=SUBJECT,
            subject_id=str(document_id),
            context=context,
            details={"with_text": include_text},
        )
    if not include_text:
        result.pop("pages", None)
    return dict(result)


# -- pipeline task use cases ---------------------------------------------------


def inspect(tenant_id: UUID | str, document_id: UUID | str) -> list[dict[str, Any]]:
    """Start processing: which pages have a text layer (the Map's items)."""
    pages = pdf.inspect_pages(_source(_key_of(tenant_id), tenant_id, document_id))
    with tenant_transaction(tenant_id) as conn:
        conn.execute(
            "UPDATE documents SET status = 'PROCESSING', started_at = now(),"
            " page_count = %s, updated_at = now() WHERE id = %s",
            (len(pages), document_id),
        )
        record_event(
            conn,
            action="PROCESSING",
            subject_type=SUBJECT,
            subject_id=str(document_id),
            context=SYSTEM_CONTEXT,
            details={"pages": len(pages)},
        )
    return [{"index": p.index, "ocr": not p.has_text_layer} for p in pages]


def read_page(
    tenant_id: UUID | str, document_id: UUID | str, index: int, *, use_ocr: bool
) -> dict[str, Any]:
    """Text of one page (text layer or OCR), stored encrypted; a small summary out.

    Raises:
        PageTextTooLong: more text than a page holds (the job fails).
    """
    started = time.perf_counter()
    key = _key_of(tenant_id)
    data = _source(key, tenant_id, document_id)
    confidence: float | None = None
    if use_ocr:
        # Only the OCR image has numpy, PaddleOCR and ONNX Runtime; the zip
        # functions (text layer) and the API import this module without them.
        from atende.documents import ocr

        settings = get_settings()
        engine = ocr.get_engine(
            settings.ocr_model_dir,
            cpu_threads=settings.ocr_cpu_threads,
            memory_arena=settings.ocr_memory_arena,
        )
        page = ocr.ocr_pdf_page(data, index, engine=engine)
        text, confidence = page.text, page.mean_confidence
    else:
        text = pdf.page_text(data, index)
    limits.check_page_text(text, index)
    _write(
        key,
        keys.page_key(tenant_id, document_id, index),
        text.encode(),
        "document.page_text",
        document_id,
    )
    return {
        "index": index,
        "method": "ocr" if use_ocr else "text_layer",
        "chars": len(text),
        "confidence": confidence,
        "ms": round((time.perf_counter() - started) * 1000),
    }


def extract(
    tenant_id: UUID | str, document_id: UUID | str, pages: list[dict[str, Any]]
) -> dict[str, Any]:
    """Entities from every page; the encrypted result stored with its TTL.

    Raises:
        DocumentTextTooLong: more text than a document may have (the job fails).
    """
    key = _key_of(tenant_id)
    texts: list[str] = []
    total_chars = 0
    for page in sorted(pages, key=lambda p: int(p["index"])):
        text = _read(
            key,
            keys.page_key(tenant_id, document_id, int(page["index"])),
            "document.page_text",
            document_id,
        ).decode()
        total_chars += len(text)
        limits.check_document_text(total_chars)
        texts.append(text)
    found = [
        entity
        for index, text in enumerate(texts)
        for entity in entities.extract_entities(text, page=index)
    ]
    fields = contract_llm.extract_contract_fields_or_unavailable("\n".join(texts))
    llm_status = fields.llm
    result = {
        "document_id": str(document_id),
        "entities": [asdict(e) for e in found],
        "summary": entities.summarize(found),
        # Without the LLM the job still completes, and says what is missing.
        "contract": fields.to_dict() if fields.available else None,
        "llm": llm_status,
        "pages": [{"index": i, "text": t} for i, t in enumerate(texts)],
    }
    s3_key = keys.result_key(tenant_id, document_id)
    _write(
        key,
        s3_key,
        json.dumps(result, ensure_ascii=False).encode(),
        "document.result",
        document_id,
    )
    ttl = timedelta(hours=get_settings().document_result_ttl_hours)
    timings = {str(p["index"]): p.get("ms") for p in pages}
    with tenant_transaction(tenant_id) as conn:
        conn.execute(
            "INSERT INTO document_results"
            " (tenant_id, document_id, s3_key, entity_count,"
            " llm_available, expires_at) VALUES (current_tenant_id(), %s, %s, %s, %s,"
            " now() + %s)",
            (document_id, s3_key, len(found), llm_status == "ok", ttl),
        )
        conn.execute(
            "UPDATE documents SET status = 'COMPLETED', finished_at = now(),"
            " updated_at = now(), llm_status = %s, text_pages = %s, ocr_pages = %s,"
            " timings = %s WHERE id = %s",
            (
                llm_status,
                sum(p["method"] == "text_layer" for p in pages),
                sum(p["method"] == "ocr" for p in pages),
                Jsonb(timings),
                document_id,
            ),
        )
        record_event(
            conn,
            action="COMPLETED",
            subject_type=SUBJECT,
            subject_id=str(document_id),
            context=SYSTEM_CONTEXT,
            details={"entities": len(found), "llm": llm_status},
        )
    metrics.add_metric(name="DocumentsCompleted", unit="Count", value=1)
    return {"entities": len(found), "llm": llm_status}


def fail(
    tenant_id: UUID | str, document_id: UUID | str, *, code: str, message: str
) -> None:
    """Record the job's failure (the pipeline's Catch path)."""
    with tenant_transaction(tenant_id) as conn:
        conn.execute(
            "UPDATE documents SET status = 'FAILED', finished_at = now(),"
            " updated_at = now(), error_code = %s, error_message = %s"
            " WHERE id = %s AND status <> 'COMPLETED'",
            (code[:100], message[:500], document_id),
        )
        record_event(
            conn,
            action="FAILED",
            subject_type=SUBJECT,
            subject_id=str(document_id),
            context=SYSTEM_CONTEXT,
            details={"code": code[:100]},
        )
    metrics.add_metric(name="DocumentsFailed", unit="Count", value=1)


def purge(tenant_id: UUID | str, document_id: UUID | str) -> int:
    """Delete the PDF and page texts on every path; audited as PURGED."""
    deleted = keys.purge_inputs(tenant_id, document_id)
    with tenant_transaction(tenant_id) as conn:
        conn.execute(
            "UPDATE documents SET purged_at = now(), updated_at = now() WHERE id = %s",
            (document_id,),
        )
        record_event(
            conn,
            action="PURGED",
            subject_type=SUBJECT,
            subject_id=str(document_id),
            context=SYSTEM_CONTEXT,
            details={"objects": deleted},
        )
    return deleted


def failure_from_state(error: dict[str, Any] | None) -> tuple[str, str]:
    """(code, PT-BR message) for the Catch path, from Step Functions' error.

    Task handlers raise ``PipelineTaskError`` with ``{"code", "message"}`` as
    its message; anything else (a crash, retries exhausted) gets a generic
    code naming the error, and a generic message.
    """
    error = error or {}
    name = str(error.get("Error") or "States.Runtime")
    try:
        cause = json.loads(error.get("Cause") or "{}")
        detail = json.loads(cause.get("errorMessage") or "{}")
    except (TypeError, ValueError):
        detail = {}
    if isinstance(detail, dict) and detail.get("code"):
        return str(detail["code"]), str(detail.get("message") or "")
    code = "FALHA_TRANSITORIA" if name == "TransientError" else "ERRO_NO_PROCESSAMENTO"
    logger.warning("document failed", extra={"error": name})
    return code, "Não foi possível processar o documento. Envie-o novamente."


__all__ = [
    "DocumentNotFound",
    "PipelineBusy",
    "ResultExpired",
    "ResultNotReady",
    "Submission",
    "TooManyDocumentsRunning",
    "extract",
    "fail",
    "failure_from_state",
    "get_job",
    "get_result",
    "inspect",
    "list_jobs",
    "purge",
    "read_page",
    "submit",
]
