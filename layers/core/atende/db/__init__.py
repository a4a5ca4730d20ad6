"""Database access: one pool, and transactions scoped to one tenant.

The tenant is set per transaction with ``set_config('app.tenant_id', …, true)``,
never per session and never by string concatenation, so a pooled connection
carries nothing from one transaction to the next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from atende.config import get_settings

__all__ = [
    "Connection",
    "close_pool",
    "configure",
    "directory_transaction",
    "get_pool",
    "lookup_transaction",
    "tenant_transaction",
]

Connection = psycopg.Connection[DictRow]

_lock = threading.Lock()
_pool: ConnectionPool[Connection] | None = None
_app_url: str | None = None
_embedded: Any = None  # keeps the embedded server referenced while in use


def configure(app_url: str) -> None:
    """Point the pool at ``app_url`` (closing any previous pool)."""
    global _app_url
    close_pool()
    _app_url = app_url


def _resolve_app_url() -> str:
    global _app_url, _embedded
    if _app_url is None:
        settings = get_settings()
        if settings.database_url is not None:
            _app_url = settings.database_url.get_secret_value()
        elif settings.database_secret_arn is not None:
            from atende.db.secrets import conninfo_from_secret

            _app_url = conninfo_from_secret(settings.database_secret_arn)
        else:
            from atende.db.embedded import start_embedded

            _embedded = start_embedded(settings.data_dir)
            _app_url = _embedded.app_url
    return _app_url


def _app_conninfo() -> tuple[str | Callable[[], str], bool]:
    """The pool's conninfo, and whether it goes through RDS Proxy.

    Through the proxy it is a callable: every new connection gets a fresh IAM
    token (tokens last 15 minutes).
    """
    settings = get_settings()
    proxy_url = settings.database_proxy_url
    if _app_url is None and settings.database_url is None and proxy_url:
        from atende.db.iam import proxy_conninfo

        return (lambda: proxy_conninfo(proxy_url)), True
    return _resolve_app_url(), False


def get_pool() -> ConnectionPool[Connection]:
    """The process-wide pool of application-role connections."""
    global _pool
    with _lock:
        if _pool is None:
            settings = get_settings()
            conninfo, through_proxy = _app_conninfo()
            kwargs: dict[str, Any] = {
                "autocommit": True,
                "row_factory": dict_row,
                "application_name": settings.service_name,
            }
            if not through_proxy:
                # RDS Proxy refuses startup options ("command-line options"):
                # there, the proxy's initialization query sets the timeout.
                kwargs["options"] = (
                    f"-c statement_timeout={settings.db_statement_timeout_ms}"
                )
            _pool = ConnectionPool(
                conninfo,
                min_size=settings.db_pool_min_size,
                max_size=settings.db_pool_max_size,
                kwargs=kwargs,
                name="atende",
                open=True,
            )
        return _pool


def close_pool() -> None:
    """Close the pool (tests, shutdown)."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
            _pool = None


_SCOPES = {
    "tenant_id": "app.tenant_id",
    "api_key_hash": "app.api_key_hash",
    "phone_number_id": "app.phone_number_id",
    "tenant_directory": "app.tenant_directory",
    "connection_id": "app.connection_id",
}


@contextmanager
def _scoped_transaction(scope: dict[str, str]) -> Iterator[Connection]:
    with get_pool().connection() as conn, conn.transaction():
        for key, value in scope.items():
            conn.execute("SELECT set_config(%s, %s, true)", (_SCOPES[key], value))
        yield conn


@contextmanager
def tenant_transaction(tenant_id: UUID | str) -> Iterator[Connection]:
    """A transaction in which only ``tenant_id``'s rows exist."""
    with _scoped_transaction({"tenant_id": str(UUID(str(tenant_id)))}) as conn:
        yield conn


@contextmanager
def lookup_transaction(
    *,
    api_key_hash: bytes | None = None,
    phone_number_id: str | None = None,
    connection_id: str | None = None,
) -> Iterator[Connection]:
    """A transaction with no tenant that may read only the row it names.

    With ``api_key_hash`` the one API key with that hash is visible; with
    ``phone_number_id`` the one WhatsApp number with that id; with
    ``connection_id`` the one console connection. Each identifies its tenant
    before any tenant is known.
    """
    scope: dict[str, str] = {}
    if api_key_hash is not None:
        scope["api_key_hash"] = api_key_hash.hex()
    if phone_number_id is not None:
        scope["phone_number_id"] = phone_number_id
    if connection_id is not None:
        scope["connection_id"] = connection_id
    if not scope:
        raise ValueError("lookup_transaction needs something to look up")
    with _scoped_transaction(scope) as conn:
        yield conn


@contextmanager
def directory_transaction() -> Iterator[Connection]:
    """A transaction that may list tenants (ids and names) and nothing else.

    For system jobs that then work inside one ``tenant_transaction`` per tenant.
    """
    with _scoped_transaction({"tenant_directory": "on"}) as conn:
        yield conn
