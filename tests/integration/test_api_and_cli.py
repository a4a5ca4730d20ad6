"""The Chalice app in process, and the operator CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from app import api_errors, app
from chalice.test import Client

from atende import cli, db, tenancy
from atende.db.embedded import EmbeddedDatabase

pytestmark = pytest.mark.integration


def _get(path: str, **headers: str) -> tuple[int, Any, Any]:
    with Client(app) as client:
        response = client.http.get(path, headers=headers)
    return response.status_code, json.loads(response.body), response.headers


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Counts the readiness probes' runs; a fresh cache, a clock the test moves."""
    from atende import health

    counts: dict[str, float] = {"db": 0, "aws": 0, "bot": 0, "now": 0}
    for name in ("db", "aws", "bot"):
        probe = getattr(health, f"_probe_{name}")

        def counted(probe: Any = probe, name: str = name) -> None:
            counts[name] += 1
            probe()

        monkeypatch.setattr(health, f"_probe_{name}", counted)
    monkeypatch.setattr(
        health, "readiness", health.ReadinessProbe(clock=lambda: counts["now"])
    )
    return counts


def _bot(
    monkeypatch: pytest.MonkeyPatch, probes: dict[str, float], *, up: bool
) -> None:
    """Rasa answering or refusing (the tests run without one)."""
    from atende import health

    def probe() -> None:
        probes["bot"] += 1
        if not up:
            raise ConnectionRefusedError("rasa")

    monkeypatch.setattr(health, "_probe_bot", probe)


def test_liveness_stays_200_and_names_a_failing_dependency(
    database: EmbeddedDatabase,
    aws_mock: None,
    probes: dict[str, float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found walking the journeys: /health said "ok" while the bot was down.
    The process answers (200, so nothing restarts it), the body says what is
    failing; a flood still costs one run of the checks per TTL."""
    _bot(monkeypatch, probes, up=True)
    status, body, headers = _get("/health", **{"X-Request-Id": "req-42"})
    assert (status, body) == (200, {"status": "ok", "failing": []})
    assert headers["X-Request-Id"] == "req-42"

    from atende import health

    _bot(monkeypatch, probes, up=False)
    probes["now"] += health.READINESS_TTL_S
    for _ in range(20):
        status, body, _headers = _get("/health")
        assert (status, body) == (200, {"status": "degraded", "failing": ["bot"]})
    assert (probes["db"], probes["aws"]) == (2, 2)


def test_readiness_checks_dependencies_at_most_once_per_ttl_and_tells_no_details(
    database: EmbeddedDatabase,
    aws_mock: None,
    probes: dict[str, float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from atende import health

    _bot(monkeypatch, probes, up=True)
    ready = {"status": "ready", "failing": []}
    assert _get("/health/ready")[:2] == (200, ready)
    for _ in range(20):  # a flood within the TTL: served from the cache
        assert _get("/health/ready")[:2] == (200, ready)
    assert (probes["db"], probes["aws"], probes["bot"]) == (1, 1, 1)

    # The bot is not required (conversations go to people): still in rotation.
    _bot(monkeypatch, probes, up=False)
    probes["now"] += health.READINESS_TTL_S
    assert _get("/health/ready")[:2] == (
        200,
        {"status": "degraded", "failing": ["bot"]},
    )

    db.configure("postgresql://atende_app@/atende?host=/nonexistent&connect_timeout=1")
    try:
        assert _get("/health/ready")[0] == 200  # still the cached answer
        probes["now"] += health.READINESS_TTL_S
        status, body, _headers = _get("/health/ready")
        live_status, live_body, _headers = _get("/health")
    finally:
        db.configure(database.app_url)
    # Which dependency, never why (the error class and latency are in the logs).
    assert (status, body) == (503, {"status": "unavailable", "failing": ["db", "bot"]})
    assert (live_status, live_body["status"]) == (200, "unavailable")
    assert probes["db"] == 3


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
