"""The Chalice app in process, and the operator CLI."""

from __future__ import annotations

import json

import pytest
from app import api_errors, app
from chalice.test import Client

from atende import cli, db, tenancy
from atende.db.embedded import EmbeddedDatabase

pytestmark = pytest.mark.integration


def test_health_reports_each_dependency(
    database: EmbeddedDatabase, aws_mock: None
) -> None:
    with Client(app) as client:
        response = client.http.get("/health", headers={"X-Request-Id": "req-42"})
    body = json.loads(response.body)
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["checks"]["db"]["ok"] and body["checks"]["aws"]["ok"]
    assert response.headers["X-Request-Id"] == "req-42"


def test_health_is_503_when_the_database_is_down(
    database: EmbeddedDatabase, aws_mock: None
) -> None:
    db.configure("postgresql://atende_app@/atende?host=/nonexistent&connect_timeout=1")
    try:
        with Client(app) as client:
            response = client.http.get("/health")
    finally:
        db.configure(database.app_url)
    body = json.loads(response.body)
    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert body["checks"]["db"]["ok"] is False and body["checks"]["aws"]["ok"] is True


def test_unhandled_errors_become_a_generic_pt_br_500() -> None:
    @api_errors
    def broken() -> None:
        raise RuntimeError("stack trace with secrets")

    response = broken()
    assert response.status_code == 500
    assert response.body == {
        "error": {
            "code": "ERRO_INTERNO",
            "message": "Ocorreu um erro interno. Tente novamente em instantes.",
        }
    }


def test_cli_creates_a_tenant_and_prints_its_key_once(
    database: EmbeddedDatabase, aws_mock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["tenant", "create", "Padaria Pão Quente"]) == 0
    out = capsys.readouterr().out
    assert "Padaria Pão Quente" in out
    raw_key = next(w for w in out.split() if w.startswith("atd_"))
    assert tenancy.authenticate_api_key(raw_key).tenant_id


def test_cli_reports_domain_errors_in_pt_br(
    database: EmbeddedDatabase, aws_mock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["tenant", "create", "   "]) == 1
    assert "ENTRADA_INVALIDA" in capsys.readouterr().err


def test_cli_migrate_on_the_embedded_database(
    database: EmbeddedDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["db", "migrate"]) == 0
    assert "migrado" in capsys.readouterr().out


def test_database_url_from_a_secrets_manager_secret(
    database: EmbeddedDatabase, aws_mock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production route: the owner's URL comes from a Secrets Manager secret."""
    from psycopg.conninfo import conninfo_to_dict

    from atende import aws

    owner = conninfo_to_dict(database.owner_url)
    secret = {
        "username": owner["user"],
        "password": "",
        "host": owner["host"],
        "port": 5432,
        "dbname": owner["dbname"],
    }
    arn = aws.client("secretsmanager").create_secret(
        Name="atende/owner", SecretString=json.dumps(secret)
    )["ARN"]
    from atende.db.secrets import conninfo_from_secret

    url = conninfo_from_secret(arn)
    assert url.startswith(f"postgresql://{owner['user']}:@")
    assert url.endswith(f":5432/{owner['dbname']}?sslmode=require")


def test_cli_migrate_needs_owner_credentials_for_an_external_database(
    database: EmbeddedDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from atende.config import get_settings

    monkeypatch.setenv("DATABASE_URL", database.app_url)
    get_settings.cache_clear()
    try:
        assert cli.main(["db", "migrate"]) == 2
        assert "DATABASE_OWNER_URL" in capsys.readouterr().err
        monkeypatch.setenv("DATABASE_OWNER_URL", database.owner_url)
        get_settings.cache_clear()
        assert cli.main(["db", "migrate"]) == 0
        assert "nenhuma pendente" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
