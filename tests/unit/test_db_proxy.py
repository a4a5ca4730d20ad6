"""Connections through RDS Proxy: IAM token per connection, TLS, no startup options."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from psycopg.conninfo import conninfo_to_dict

from atende import aws, db
from atende.config import get_settings
from atende.db.iam import proxy_conninfo

PROXY = "atende-dev.proxy-c1a2b3c4d5e6.sa-east-1.rds.amazonaws.com"
PROXY_URL = f"postgresql://atende_app@{PROXY}:5432/atende"


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for var in ("DATABASE_URL", "DATABASE_SECRET_ARN", "DATABASE_PROXY_URL"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    aws.client.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
    aws.client.cache_clear()


def test_proxy_conninfo_carries_an_iam_token_for_the_proxy_user(
    fresh_settings: pytest.MonkeyPatch,
) -> None:
    params = conninfo_to_dict(proxy_conninfo(PROXY_URL))

    assert (params["host"], params["port"]) == (PROXY, "5432")
    assert (params["user"], params["dbname"]) == ("atende_app", "atende")
    assert params["sslmode"] == "require"
    # The token is a presigned rds-db:connect request for this host and user.
    token = str(params["password"])
    assert token.startswith(f"{PROXY}:5432/?")
    query = parse_qs(token.split("?", 1)[1])
    assert query["Action"] == ["connect"]
    assert query["DBUser"] == ["atende_app"]
    assert query["X-Amz-Expires"] == ["900"]
    assert "/sa-east-1/rds-db/aws4_request" in query["X-Amz-Credential"][0]
    assert query["X-Amz-Signature"][0]


def test_proxy_conninfo_keeps_a_stricter_sslmode_and_refuses_plaintext(
    fresh_settings: pytest.MonkeyPatch,
) -> None:
    strict = conninfo_to_dict(proxy_conninfo(PROXY_URL + "?sslmode=verify-full"))
    assert strict["sslmode"] == "verify-full"
    with pytest.raises(ValueError, match="TLS"):
        proxy_conninfo(PROXY_URL + "?sslmode=disable")
    with pytest.raises(ValueError, match="host and a user"):
        proxy_conninfo(f"postgresql://{PROXY}/atende")


class _RecordingPool:
    """Stands in for psycopg_pool.ConnectionPool: records what it was given."""

    def __init__(self, conninfo: Any, **kwargs: Any) -> None:
        self.conninfo, self.kwargs = conninfo, kwargs

    def close(self) -> None:
        pass


def _pool_through(monkeypatch: pytest.MonkeyPatch) -> _RecordingPool:
    monkeypatch.setattr(db, "ConnectionPool", _RecordingPool)
    monkeypatch.setattr(db, "_pool", None)
    monkeypatch.setattr(db, "_app_url", None)
    pool = db.get_pool()
    assert isinstance(pool, _RecordingPool)
    return pool


def test_pool_through_the_proxy_sends_no_startup_options(
    fresh_settings: pytest.MonkeyPatch,
) -> None:
    fresh_settings.setenv("DATABASE_PROXY_URL", PROXY_URL)
    fresh_settings.setenv(
        "DATABASE_SECRET_ARN", "arn:aws:secretsmanager:sa-east-1:1:secret:app"
    )
    fresh_settings.setenv("DB_POOL_MIN_SIZE", "1")
    fresh_settings.setenv("DB_POOL_MAX_SIZE", "1")
    assert not get_settings().embedded_database

    pool = _pool_through(fresh_settings)

    # One request at a time per Lambda instance: one connection.
    assert (pool.kwargs["min_size"], pool.kwargs["max_size"]) == (1, 1)
    # RDS Proxy refuses "command-line options"; its init query sets the timeout.
    assert "options" not in pool.kwargs["kwargs"]
    # Each new connection builds its conninfo, with a token of its own.
    assert callable(pool.conninfo)
    params = conninfo_to_dict(pool.conninfo())
    assert params["host"] == PROXY
    assert str(params["password"]).startswith(f"{PROXY}:5432/?Action=connect")


def test_pool_without_the_proxy_keeps_the_statement_timeout(
    fresh_settings: pytest.MonkeyPatch,
) -> None:
    fresh_settings.setenv("DATABASE_URL", "postgresql://atende_app:s@db/atende")
    fresh_settings.setenv("DATABASE_PROXY_URL", PROXY_URL)
    fresh_settings.setenv("DB_STATEMENT_TIMEOUT_MS", "1234")

    pool = _pool_through(fresh_settings)

    assert pool.conninfo == "postgresql://atende_app:s@db/atende"
    assert pool.kwargs["kwargs"]["options"] == "-c statement_timeout=1234"
