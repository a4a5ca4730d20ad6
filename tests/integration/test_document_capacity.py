"""The pipeline's room is shared per tenant (issue 13, finding 2): a tenant's
burst of uploads fills its own share, never the others'.

The state machine is deployed on moto without running it, so every accepted
job stays RECEIVED (running) until the test ends it: the count is exact.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from app import app
from chalice.test import Client
from moto import mock_aws
from moto.core.config import DefaultConfig

from atende import aws, crypto, db, tenancy
from atende.audit import RequestContext
from atende.config import get_settings
from atende.db.embedded import EmbeddedDatabase
from atende.documents import jobs
from atende.errors import ServiceUnavailable
from infra import pipeline_local
from tests.support import documents as kit

pytestmark = pytest.mark.integration

BUCKET = "atende-documents-capacity"
SHARE = 2


@dataclass
class Tenant:
    id: UUID
    api_key: str

    def post(self, data: bytes) -> Any:
        with Client(app) as client:
            return client.http.post(
                "/v1/documents",
                headers={"X-API-Key": self.api_key, "Content-Type": "application/pdf"},
                body=data,
            )

    def running(self) -> int:
        with db.tenant_transaction(self.id) as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM documents"
                " WHERE status IN ('RECEIVED', 'PROCESSING')"
            ).fetchone()
        assert row is not None
        return int(row["n"])

    def rows(self) -> int:
        with db.tenant_transaction(self.id) as conn:
            row = conn.execute("SELECT count(*) AS n FROM documents").fetchone()
        assert row is not None
        return int(row["n"])

    def objects(self) -> list[str]:
        listing = aws.client("s3").list_objects_v2(
            Bucket=BUCKET, Prefix=f"tenants/{self.id}/"
        )
        return [o["Key"] for o in listing.get("Contents", [])]


@pytest.fixture
def tenants(
    database: EmbeddedDatabase, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Tenant, Tenant]]:
    config: DefaultConfig = {"stepfunctions": {"execute_state_machine": False}}
    with mock_aws(config=config):
        aws.client.cache_clear()
        crypto.clear_cache()
        pipeline_local.create_bucket(BUCKET)
        arn = pipeline_local.deploy()
        monkeypatch.setenv("DOCUMENTS_BUCKET", BUCKET)
        monkeypatch.setenv("DOCUMENT_PIPELINE_ARN", arn)
        monkeypatch.setenv("DOCUMENT_MAX_RUNNING_PER_TENANT", str(SHARE))
        get_settings.cache_clear()
        first = tenancy.create_tenant("Escritório Contábil A")
        second = tenancy.create_tenant("Escritório Contábil B")
        yield (
            Tenant(first.tenant.id, first.api_key),
            Tenant(second.tenant.id, second.api_key),
        )
        monkeypatch.undo()
        get_settings.cache_clear()
        aws.client.cache_clear()
        crypto.clear_cache()


def _pdf(n: int) -> bytes:
    return kit.simple_pdf(text=f"Documento de teste número {n}.")


def _accepted(response: Any) -> str:
    assert response.status_code == 202, response.body
    return str(json.loads(response.body)["id"])


def test_a_tenant_over_its_share_gets_503_while_another_tenant_submits(
    tenants: tuple[Tenant, Tenant],
) -> None:
    a, b = tenants
    for n in range(SHARE):
        _accepted(a.post(_pdf(n)))

    refused = a.post(_pdf(SHARE))

    assert refused.status_code == 503
    error = json.loads(refused.body)["error"]
    assert error["code"] == "DOCUMENTOS_EM_PROCESSAMENTO_DEMAIS"
    assert "aguarde" in error["message"].lower()
    assert int(refused.headers["Retry-After"]) > 0
    # Nothing of the refused upload is kept.
    assert a.rows() == SHARE and len(a.objects()) == SHARE
    # The other tenant's share is untouched.
    for n in range(SHARE):
        _accepted(b.post(_pdf(100 + n)))
    assert b.running() == SHARE


def test_a_finished_job_frees_its_slot(tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    ids = [_accepted(a.post(_pdf(n))) for n in range(SHARE)]
    assert a.post(_pdf(SHARE)).status_code == 503

    # The pipeline's failure path ends the first job (its success path, too,
    # leaves RECEIVED/PROCESSING).
    jobs.fail(a.id, ids[0], code="ERRO_NO_PROCESSAMENTO", message="Falhou.")

    _accepted(a.post(_pdf(SHARE)))
    assert a.post(_pdf(SHARE + 1)).status_code == 503


def test_a_job_lost_for_hours_stops_holding_a_slot(
    tenants: tuple[Tenant, Tenant], admin_conn: Any
) -> None:
    a, _ = tenants
    ids = [_accepted(a.post(_pdf(n))) for n in range(SHARE)]
    # A crash between the insert and the start leaves a job RECEIVED forever.
    admin_conn.execute(
        "UPDATE documents SET created_at = now() - interval '2 hours' WHERE id = %s",
        (ids[0],),
    )
    _accepted(a.post(_pdf(SHARE)))


def test_concurrent_submissions_of_one_tenant_never_overshoot_its_share(
    tenants: tuple[Tenant, Tenant],
) -> None:
    a, _ = tenants
    principal = tenancy.authenticate_api_key(a.api_key)
    context = RequestContext(principal.actor)
    uploads = [_pdf(n) for n in range(8)]
    start = threading.Barrier(len(uploads))
    outcomes: list[str] = []

    def submit(data: bytes) -> None:
        start.wait()
        try:
            jobs.submit(principal, data, context=context)
            outcomes.append("accepted")
        except ServiceUnavailable as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=submit, args=(u,)) for u in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == sorted(
        ["accepted"] * SHARE
        + ["DOCUMENTOS_EM_PROCESSAMENTO_DEMAIS"] * (len(uploads) - SHARE)
    )
    assert a.running() == a.rows() == len(a.objects()) == SHARE
