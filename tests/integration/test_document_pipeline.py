"""The document pipeline end to end: the Chalice API, moto's execution of the
real ASL with its Lambda tasks routed to the real handlers, real PyMuPDF and
PaddleOCR, a real PostgreSQL; the PDF purged on every path."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from app import app
from chalice.test import Client
from moto import mock_aws
from moto.core.config import DefaultConfig

from atende import aws, crypto, db, tenancy
from atende.config import get_settings
from atende.db.embedded import EmbeddedDatabase
from atende.documents import jobs, limits
from atende.errors import DependencyFailed
from infra import pipeline_local
from tests.support import documents as kit

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration

BUCKET = "atende-documents-test"
EXPECTED = {
    "cpf": {"529.982.247-25", "111.444.777-35"},
    "cnpj": {"11.222.333/0001-81", "12.ABC.345/01DE-35"},
    "phone": {"+5511987654321", "+552134567890"},
    "email": {"maria.araujo@exemplo.com.br", "contato@refrigeracaoipe.com.br"},
    "cep": {"01310-100", "20011-000"},
    "amount_brl": {"15000.00", "1234.56"},
}


@dataclass
class Pipeline:
    tenant_id: Any
    api_key: str
    other_key: str

    def post(
        self,
        data: bytes,
        *,
        key: str | None = None,
        content_type: str = "application/pdf",
    ) -> Any:
        with Client(app) as client:
            return client.http.post(
                "/v1/documents",
                headers={
                    "X-API-Key": key or self.api_key,
                    "Content-Type": content_type,
                },
                body=data,
            )

    def get(self, path: str, *, key: str | None = None) -> Any:
        with Client(app) as client:
            return client.http.get(path, headers={"X-API-Key": key or self.api_key})

    def wait(self, document_id: str, timeout_s: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = json.loads(self.get(f"/v1/documents/{document_id}").body)
            if job["status"] in {"COMPLETED", "FAILED"} and job["purged"]:
                return dict(job)
            time.sleep(0.5)
        raise AssertionError(f"job {document_id} did not finish: {job}")

    def objects(self) -> list[str]:
        listing = aws.client("s3").list_objects_v2(
            Bucket=BUCKET, Prefix=f"tenants/{self.tenant_id}/"
        )
        return [o["Key"] for o in listing.get("Contents", [])]

    def audit(self, document_id: str) -> list[str]:
        with db.tenant_transaction(self.tenant_id) as conn:
            rows = conn.execute(
                "SELECT action FROM audit_events WHERE subject_type = 'document'"
                " AND subject_id = %s ORDER BY id",
                (document_id,),
            ).fetchall()
        return [r["action"] for r in rows]

    def rows(self) -> int:
        with db.tenant_transaction(self.tenant_id) as conn:
            row = conn.execute("SELECT count(*) AS n FROM documents").fetchone()
        assert row is not None
        return int(row["n"])


@pytest.fixture
def pipeline(
    database: EmbeddedDatabase, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    config: DefaultConfig = {
        "stepfunctions": {"execute_state_machine": True},
        "lambda": {"use_docker": False},
    }
    with mock_aws(config=config):
        aws.client.cache_clear()
        crypto.clear_cache()
        pipeline_local.route_invocations()
        pipeline_local.create_bucket(BUCKET)
        arn = pipeline_local.deploy(page_concurrency=2)
        monkeypatch.setenv("DOCUMENTS_BUCKET", BUCKET)
        monkeypatch.setenv("DOCUMENT_PIPELINE_ARN", arn)
        get_settings.cache_clear()
        first = tenancy.create_tenant("Escritório Contábil A")
        second = tenancy.create_tenant("Escritório Contábil B")
        yield Pipeline(first.tenant.id, first.api_key, second.api_key)
        monkeypatch.undo()
        get_settings.cache_clear()
        aws.client.cache_clear()
        crypto.clear_cache()


def _found(result: dict[str, Any]) -> dict[str, set[str]]:
    return {kind: set(values) for kind, values in result["summary"].items()}


def _assert_expected_entities(result: dict[str, Any]) -> None:
    found = _found(result)
    for kind, values in EXPECTED.items():
        assert values <= found[kind], (kind, found[kind])


def test_born_digital_contract_completes_with_entities_and_is_purged(
    pipeline: Pipeline,
) -> None:
    response = pipeline.post(kit.contract_pdf())
    assert response.status_code == 202, response.body
    document_id = json.loads(response.body)["id"]
    job = pipeline.wait(document_id)
    assert job["status"] == "COMPLETED", job
    assert job["pages"] == {"total": 3, "text_layer": 3, "ocr": 0}
    assert (
        job["llm"] == "indisponivel"
    )  # no OLLAMA_HOST: validators only, and it says so

    result = json.loads(pipeline.get(f"/v1/documents/{document_id}/result").body)
    _assert_expected_entities(result)
    assert result["contract"] is None and result["llm"] == "indisponivel"
    assert "pages" not in result
    with_text = json.loads(
        pipeline.get(f"/v1/documents/{document_id}/result?text=true").body
    )
    assert "529.982.247-25" in with_text["pages"][0]["text"]

    # Only the encrypted result is left: the PDF and its page texts are gone.
    assert pipeline.objects() == [
        f"tenants/{pipeline.tenant_id}/documents/{document_id}/result.json.enc"
    ]
    assert pipeline.audit(document_id) == [
        "RECEIVED",
        "PROCESSING",
        "COMPLETED",
        "PURGED",
        "DELIVERED",
        "DELIVERED",
    ]


def test_scanned_contract_goes_through_ocr_and_completes(pipeline: Pipeline) -> None:
    scan = kit.scanned_pdf(kit.contract_pdf())
    response = pipeline.post(scan)
    assert response.status_code == 202, response.body
    document_id = json.loads(response.body)["id"]
    job = pipeline.wait(document_id)
    assert job["status"] == "COMPLETED", job
    assert job["pages"] == {"total": 3, "text_layer": 0, "ocr": 3}
    result = json.loads(pipeline.get(f"/v1/documents/{document_id}/result").body)
    _assert_expected_entities(result)
    assert pipeline.objects() == [
        f"tenants/{pipeline.tenant_id}/documents/{document_id}/result.json.enc"
    ]
    assert pipeline.audit(document_id)[:4] == [
        "RECEIVED",
        "PROCESSING",
        "COMPLETED",
        "PURGED",
    ]


def test_a_page_whose_ocr_fails_every_retry_ends_failed_and_purged(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []
    real_read_page = jobs.read_page

    def flaky(tenant_id: Any, document_id: Any, index: int, *, use_ocr: bool) -> Any:
        if use_ocr and index == 1:
            attempts.append(index)
            raise DependencyFailed("OCR indisponível")
        return real_read_page(tenant_id, document_id, index, use_ocr=use_ocr)

    monkeypatch.setattr(jobs, "read_page", flaky)
    response = pipeline.post(kit.scanned_pdf(kit.simple_pdf(pages=2)))
    document_id = json.loads(response.body)["id"]
    job = pipeline.wait(document_id)
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "FALHA_TRANSITORIA"
    assert len(attempts) == 4  # the first try and three retries
    assert pipeline.objects() == []
    assert pipeline.audit(document_id) == ["RECEIVED", "PROCESSING", "FAILED", "PURGED"]
    result = pipeline.get(f"/v1/documents/{document_id}/result")
    assert result.status_code == 409


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (kit.empty(), 400, "ARQUIVO_VAZIO"),
        (kit.not_a_pdf(), 415, "NAO_E_PDF"),
        (kit.encrypted_pdf(), 400, "PDF_PROTEGIDO"),
        (kit.truncated_pdf(), 400, "PDF_CORROMPIDO"),
        (kit.zero_page_pdf(), 400, "PDF_SEM_PAGINAS"),
    ],
)
def test_bad_uploads_get_a_clear_error_and_store_nothing(
    pipeline: Pipeline, data: bytes, status: int, code: str
) -> None:
    response = pipeline.post(data)
    error = json.loads(response.body)["error"]
    assert (response.status_code, error["code"]) == (status, code)
    assert error["message"] and "Traceback" not in error["message"]
    assert pipeline.rows() == 0 and pipeline.objects() == []


def test_size_and_page_caps(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCUMENT_MAX_BYTES", "2000")
    monkeypatch.setenv("DOCUMENT_MAX_PAGES", "3")
    get_settings.cache_clear()
    too_big = pipeline.post(kit.contract_pdf())
    too_long = pipeline.post(kit.many_pages_pdf(4))
    monkeypatch.delenv("DOCUMENT_MAX_BYTES")
    monkeypatch.delenv("DOCUMENT_MAX_PAGES")
    get_settings.cache_clear()
    assert too_big.status_code == 413
    assert json.loads(too_big.body)["error"]["code"] == "PDF_GRANDE_DEMAIS"
    assert too_long.status_code == 400
    assert json.loads(too_long.body)["error"]["code"] == "PDF_PAGINAS_DEMAIS"
    assert pipeline.rows() == 0 and pipeline.objects() == []


def test_multipart_upload_and_the_same_bytes_again(pipeline: Pipeline) -> None:
    data = kit.simple_pdf(pages=1, text="Recibo: CPF 529.982.247-25, valor R$ 100,00.")
    boundary = "atendeboundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="recibo.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    first = pipeline.post(
        body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert first.status_code == 202, first.body
    again = pipeline.post(data)
    assert again.status_code == 200
    assert json.loads(again.body)["id"] == json.loads(first.body)["id"]
    assert pipeline.rows() == 1


def test_another_tenant_gets_404(pipeline: Pipeline) -> None:
    document_id = json.loads(pipeline.post(kit.simple_pdf()).body)["id"]
    pipeline.wait(document_id)
    for path in (f"/v1/documents/{document_id}", f"/v1/documents/{document_id}/result"):
        response = pipeline.get(path, key=pipeline.other_key)
        assert response.status_code == 404
        assert json.loads(response.body)["error"]["code"] == "DOCUMENTO_NAO_ENCONTRADO"
    listing = json.loads(pipeline.get("/v1/documents", key=pipeline.other_key).body)
    assert listing == {"documents": [], "next_cursor": None}


def test_missing_or_unknown_key_is_401_alike(pipeline: Pipeline) -> None:
    with Client(app) as client:
        missing = client.http.post(
            "/v1/documents",
            headers={"Content-Type": "application/pdf"},
            body=kit.simple_pdf(),
        )
    unknown = pipeline.post(kit.simple_pdf(), key="atd_" + "z" * 43)
    assert missing.status_code == unknown.status_code == 401
    assert json.loads(missing.body) == json.loads(unknown.body)
    assert pipeline.rows() == 0


def test_listing_filters_by_status(pipeline: Pipeline) -> None:
    document_id = json.loads(pipeline.post(kit.simple_pdf()).body)["id"]
    pipeline.wait(document_id)
    completed = json.loads(pipeline.get("/v1/documents?status=COMPLETED").body)[
        "documents"
    ]
    failed = json.loads(pipeline.get("/v1/documents?status=FAILED").body)["documents"]
    assert [d["id"] for d in completed] == [document_id] and failed == []
    bad = pipeline.get("/v1/documents?status=PRONTO")
    assert bad.status_code == 400


def test_rate_limit_per_key_answers_429_with_retry_after(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_RATE_LIMIT_PER_MINUTE", "2")
    get_settings.cache_clear()
    statuses = [pipeline.post(kit.empty()).status_code for _ in range(3)]
    assert statuses[:2] == [400, 400]
    limited = pipeline.post(kit.simple_pdf())
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert json.loads(limited.body)["error"]["code"] == "LIMITE_DE_REQUISICOES"


def test_backpressure_when_too_many_executions_run(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCUMENT_MAX_RUNNING_EXECUTIONS", "1")
    get_settings.cache_clear()
    real_inspect = jobs.inspect

    def slow(tenant_id: Any, document_id: Any) -> Any:
        time.sleep(3)
        return real_inspect(tenant_id, document_id)

    monkeypatch.setattr(jobs, "inspect", slow)
    first = pipeline.post(kit.simple_pdf(text="primeiro documento de teste"))
    assert first.status_code == 202
    busy = pipeline.post(kit.simple_pdf(text="segundo documento de teste"))
    assert busy.status_code == 503
    assert json.loads(busy.body)["error"]["code"] == "PROCESSAMENTO_OCUPADO"
    assert int(busy.headers["Retry-After"]) > 0
    pipeline.wait(json.loads(first.body)["id"])


def test_result_is_gone_after_its_ttl(pipeline: Pipeline, admin_conn: Any) -> None:
    document_id = json.loads(pipeline.post(kit.simple_pdf()).body)["id"]
    pipeline.wait(document_id)
    assert pipeline.get(f"/v1/documents/{document_id}/result").status_code == 200
    admin_conn.execute(
        "UPDATE document_results SET expires_at = now() - interval '1 second'"
        " WHERE document_id = %s",
        (document_id,),
    )
    expired = pipeline.get(f"/v1/documents/{document_id}/result")
    assert expired.status_code == 404
    assert json.loads(expired.body)["error"]["code"] == "RESULTADO_EXPIRADO"
    # The same bytes again start a new job: the old result no longer counts.
    again = pipeline.post(kit.simple_pdf())
    assert again.status_code == 202
    assert json.loads(again.body)["id"] != document_id


def test_a_page_with_more_text_than_a_page_holds_fails_the_job(
    pipeline: Pipeline,
) -> None:
    dense = kit.dense_text_pdf(limits.MAX_PAGE_TEXT_CHARS + 1)
    document_id = json.loads(pipeline.post(dense).body)["id"]
    job = pipeline.wait(document_id)
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "PAGINA_COM_TEXTO_DEMAIS"
    assert "página 1 do PDF" in job["error"]["message"]
    assert pipeline.objects() == []
    assert pipeline.get(f"/v1/documents/{document_id}/result").status_code == 409


def test_a_document_with_more_text_than_a_document_may_have_fails_the_job(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two pages of ~1,600 characters against a cap of 2,000 (the real cap,
    # 2,000,000, would take 21 full pages).
    monkeypatch.setattr(limits, "MAX_DOCUMENT_TEXT_CHARS", 2_000)
    dense = kit.dense_text_pdf(1_500, pages=2)
    document_id = json.loads(pipeline.post(dense).body)["id"]
    job = pipeline.wait(document_id)
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "DOCUMENTO_COM_TEXTO_DEMAIS"
    assert "Divida o documento" in job["error"]["message"]
    assert pipeline.objects() == []
