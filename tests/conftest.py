"""Shared fixtures: a throw-away PostgreSQL per test session, moto in process.

The database goes the same route as `make run`: the embedded server (in a
temporary folder) bootstrapped and migrated by `atende.db.embedded`. With
TEST_DATABASE_ADMIN_URL set, a throw-away database on that server is used.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Settings are read once per process: pin them before anything imports atende.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="atende-tests-"))
os.environ.update(
    {
        "ATENDE_ENV": "test",
        "ATENDE_DATA_DIR": str(_SESSION_DIR),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "sa-east-1",
        "AWS_REGION": "sa-east-1",
        "POWERTOOLS_SERVICE_NAME": "atende-test",
    }
)
for _var in (
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
    "DATABASE_SECRET_ARN",
    "AWS_ENDPOINT_URL",
):
    os.environ.pop(_var, None)

import psycopg  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402

from atende import aws, crypto, db  # noqa: E402
from atende.db.bootstrap import bootstrap, drop_database  # noqa: E402
from atende.db.embedded import EmbeddedDatabase, start_embedded  # noqa: E402
from atende.db.migrate import apply_migrations  # noqa: E402

# The suite's own log output is scanned for whole phones, e-mails and CPFs.
from tests.support.log_scan import (  # noqa: E402, F401
    pytest_runtest_logreport,
    pytest_runtest_logstart,
    pytest_sessionfinish,
    pytest_sessionstart,
)


def _external_database(admin_url: str) -> Iterator[EmbeddedDatabase]:
    name = f"atende_test_{uuid.uuid4().hex[:12]}"
    bootstrap(admin_url, name)
    owner = make_conninfo(admin_url, dbname=name, user="atende_owner")
    apply_migrations(owner)
    try:
        yield EmbeddedDatabase(
            server=None,
            admin_url=admin_url,
            owner_url=owner,
            app_url=make_conninfo(admin_url, dbname=name, user="atende_app"),
        )
    finally:
        db.close_pool()
        drop_database(admin_url, name)


@pytest.fixture(scope="session")
def database() -> Iterator[EmbeddedDatabase]:
    """A migrated database for this session; the pool points at its app role."""
    admin_url = os.environ.get("TEST_DATABASE_ADMIN_URL")
    if admin_url:
        gen = _external_database(admin_url)
        embedded = next(gen)
        db.configure(embedded.app_url)
        yield embedded
        next(gen, None)
        return
    embedded = start_embedded(_SESSION_DIR)
    db.configure(embedded.app_url)
    yield embedded
    db.close_pool()
    embedded.server.cleanup()


@pytest.fixture
def admin_conn(
    database: EmbeddedDatabase,
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A superuser connection to the session database (bypasses RLS)."""
    dbname = conninfo_to_dict(database.app_url)["dbname"]
    url = make_conninfo(database.admin_url, dbname=dbname)
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def aws_mock() -> Iterator[None]:
    """moto in process, with fresh clients and no cached data keys."""
    with mock_aws():
        aws.client.cache_clear()
        crypto.clear_cache()
        yield
        aws.client.cache_clear()
        crypto.clear_cache()
