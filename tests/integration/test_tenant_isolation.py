"""Row-level security, seen from the application role on a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from atende import db
from atende.config import get_settings
from atende.db.embedded import EmbeddedDatabase
from tests.support.tenant_rows import ROW_BUILDERS, Ids, seed_tenant

pytestmark = pytest.mark.integration

TENANT_TABLES = sorted(ROW_BUILDERS)
# Tables the app role may not DELETE from (append-only or long-lived).
# consent_texts and erasure_proofs are evidence: written once, never changed.
NO_DELETE = {"audit_events", "consent_texts", "erasure_proofs"}
# Notes are added, never edited.
NO_UPDATE = {
    "audit_events",
    "consent_texts",
    "erasure_proofs",
    "conversation_notes",
    "conversation_terms",  # rebuilt by triggers: inserted and deleted only
}


@pytest.fixture(scope="module")
def two_tenants(database: EmbeddedDatabase) -> tuple[Ids, Ids]:
    a_id, b_id = uuid.uuid4(), uuid.uuid4()
    with db.tenant_transaction(a_id) as conn:
        a = seed_tenant(conn, a_id)
    with db.tenant_transaction(b_id) as conn:
        b = seed_tenant(conn, b_id)
    return a, b


def _count(conn: db.Connection, table: str, tenant_id: uuid.UUID | None = None) -> int:
    query = sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table))
    if tenant_id is not None:
        query = sql.SQL("{} WHERE tenant_id = %s").format(query)
        row = conn.execute(query, (tenant_id,)).fetchone()
    else:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row["n"])


def test_app_role_cannot_bypass_rls_and_owns_nothing(admin_conn: Any) -> None:
    role = admin_conn.execute(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'atende_app'"
    ).fetchone()
    assert role == (False, False)
    owned = admin_conn.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE r.rolname = 'atende_app'"
    ).fetchone()
    assert owned == (0,)


def test_every_tenant_table_has_forced_rls_and_a_policy(admin_conn: Any) -> None:
    """Walks the catalog: a future table with tenant_id and no RLS fails here."""
    rows = admin_conn.execute(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                       AND a.attname = 'tenant_id' AND NOT a.attisdropped)
               OR c.relname = 'tenants')
        ORDER BY c.relname
        """
    ).fetchall()
    tables = {name for name, *_ in rows}
    assert tables == {*TENANT_TABLES, "tenants"}, "tenant_rows.ROW_BUILDERS is stale"
    unprotected = [r for r in rows if not (r[1] and r[2] and r[3] >= 1)]
    assert unprotected == []


def test_every_tenant_policy_checks_the_transaction_tenant(admin_conn: Any) -> None:
    rows = admin_conn.execute(
        """
        SELECT c.relname, p.polname, pg_get_expr(p.polqual, p.polrelid),
               pg_get_expr(p.polwithcheck, p.polrelid)
        FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
        WHERE p.polname = 'tenant_isolation'
        """
    ).fetchall()
    assert {r[0] for r in rows} == {*TENANT_TABLES, "tenants"}
    for _table, _name, using, check in rows:
        assert "current_tenant_id()" in using
        assert "current_tenant_id()" in check


def test_every_index_is_led_by_tenant_id(admin_conn: Any) -> None:
    rows = admin_conn.execute(
        """
        SELECT c.relname, i.relname, a.attname
        FROM pg_index x
        JOIN pg_class c ON c.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
        WHERE c.relname = ANY(%s)
        """,
        (TENANT_TABLES,),
    ).fetchall()
    # Global on purpose: the API key hash, Meta's phone_number_id and a console's
    # connection id find the tenant.
    global_lookups = {
        "api_keys_key_hash_key",
        "whatsapp_numbers_phone_number_id_key",
        "console_connections_connection_id_key",
    }
    offenders = [r for r in rows if r[2] != "tenant_id" and r[1] not in global_lookups]
    assert offenders == []


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_tenant_sees_only_its_own_rows(
    table: str, two_tenants: tuple[Ids, Ids]
) -> None:
    a, b = two_tenants
    with db.tenant_transaction(a["tenants"]) as conn:
        assert _count(conn, table, b["tenants"]) == 0
        assert _count(conn, table) == _count(conn, table, a["tenants"]) >= 1


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_tenant_cannot_insert_rows_for_another(
    table: str, two_tenants: tuple[Ids, Ids]
) -> None:
    a, b = two_tenants
    with (
        pytest.raises(errors.InsufficientPrivilege, match="row-level security"),
        db.tenant_transaction(a["tenants"]) as conn,
    ):
        ROW_BUILDERS[table](conn, b["tenants"], b)


@pytest.mark.parametrize("table", sorted(set(TENANT_TABLES) - NO_UPDATE))
def test_tenant_cannot_update_another_tenants_rows(
    table: str, two_tenants: tuple[Ids, Ids]
) -> None:
    a, b = two_tenants
    stmt = sql.SQL("UPDATE {} SET tenant_id = tenant_id WHERE tenant_id = %s").format(
        sql.Identifier(table)
    )
    with db.tenant_transaction(a["tenants"]) as conn:
        assert conn.execute(stmt, (b["tenants"],)).rowcount == 0


@pytest.mark.parametrize("table", sorted(set(TENANT_TABLES) - NO_UPDATE))
def test_tenant_cannot_move_its_rows_to_another(
    table: str, two_tenants: tuple[Ids, Ids]
) -> None:
    a, b = two_tenants
    stmt = sql.SQL("UPDATE {} SET tenant_id = %s WHERE tenant_id = %s").format(
        sql.Identifier(table)
    )
    with (
        pytest.raises((errors.InsufficientPrivilege, errors.ForeignKeyViolation)),
        db.tenant_transaction(a["tenants"]) as conn,
    ):
        conn.execute(stmt, (b["tenants"], a["tenants"]))


@pytest.mark.parametrize("table", sorted(set(TENANT_TABLES) - NO_DELETE))
def test_tenant_cannot_delete_another_tenants_rows(
    table: str, two_tenants: tuple[Ids, Ids], admin_conn: Any
) -> None:
    a, b = two_tenants
    before = _admin_count(admin_conn, table, b["tenants"])
    stmt = sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(table))
    with db.tenant_transaction(a["tenants"]) as conn:
        assert conn.execute(stmt, (b["tenants"],)).rowcount == 0
    assert _admin_count(admin_conn, table, b["tenants"]) == before >= 1


def _admin_count(admin_conn: Any, table: str, tenant_id: uuid.UUID) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(
        sql.Identifier(table)
    )
    return int(admin_conn.execute(query, (tenant_id,)).fetchone()[0])


def test_tenants_row_of_another_tenant_is_invisible(
    two_tenants: tuple[Ids, Ids],
) -> None:
    a, b = two_tenants
    with db.tenant_transaction(a["tenants"]) as conn:
        rows = conn.execute("SELECT id FROM tenants").fetchall()
        assert [r["id"] for r in rows] == [a["tenants"]]
        assert (
            conn.execute(
                "UPDATE tenants SET name = 'x' WHERE id = %s", (b["tenants"],)
            ).rowcount
            == 0
        )


@pytest.mark.parametrize("table", [*TENANT_TABLES, "tenants"])
def test_without_a_tenant_nothing_is_visible(
    table: str, two_tenants: tuple[Ids, Ids]
) -> None:
    with db.get_pool().connection() as conn, conn.transaction():
        assert _count(conn, table) == 0


def test_without_a_tenant_nothing_can_be_written(two_tenants: tuple[Ids, Ids]) -> None:
    _a, b = two_tenants
    with (
        pytest.raises(errors.InsufficientPrivilege),
        db.get_pool().connection() as conn,
        conn.transaction(),
    ):
        ROW_BUILDERS["customers"](conn, b["tenants"], b)


@pytest.fixture
def single_connection_pool(database: EmbeddedDatabase) -> Iterator[None]:
    os.environ["DB_POOL_MIN_SIZE"] = "1"
    os.environ["DB_POOL_MAX_SIZE"] = "1"
    get_settings.cache_clear()
    db.close_pool()
    yield
    del os.environ["DB_POOL_MIN_SIZE"], os.environ["DB_POOL_MAX_SIZE"]
    get_settings.cache_clear()
    db.close_pool()


def test_pooled_connection_carries_no_tenant_over(
    single_connection_pool: None, two_tenants: tuple[Ids, Ids]
) -> None:
    a, _b = two_tenants
    with db.tenant_transaction(a["tenants"]) as conn:
        pid = conn.info.backend_pid
        assert _count(conn, "customers") >= 1
    with db.get_pool().connection() as conn, conn.transaction():
        assert conn.info.backend_pid == pid  # the very same session
        setting = conn.execute(
            "SELECT current_setting('app.tenant_id', true) AS t"
        ).fetchone()
        assert setting is not None and setting["t"] in ("", None)
        assert _count(conn, "customers") == 0


def test_tenant_is_reset_after_a_failed_transaction(
    single_connection_pool: None, two_tenants: tuple[Ids, Ids]
) -> None:
    a, _b = two_tenants
    with (
        pytest.raises(errors.DivisionByZero),
        db.tenant_transaction(a["tenants"]) as conn,
    ):
        conn.execute("SELECT 1 / 0")
    with db.get_pool().connection() as conn, conn.transaction():
        assert _count(conn, "messages") == 0


def test_tenant_id_must_be_a_uuid(database: EmbeddedDatabase) -> None:
    with (
        pytest.raises(ValueError, match="badly formed"),
        db.tenant_transaction("1' OR '1'='1"),
    ):
        pass


def test_audit_events_are_append_only(two_tenants: tuple[Ids, Ids]) -> None:
    a, _b = two_tenants
    with db.tenant_transaction(a["tenants"]) as conn:
        assert _count(conn, "audit_events") >= 1
    for stmt in ("UPDATE audit_events SET action = 'X'", "DELETE FROM audit_events"):
        with (
            pytest.raises(errors.InsufficientPrivilege, match="permission denied"),
            db.tenant_transaction(a["tenants"]) as conn,
        ):
            conn.execute(stmt)
    with (
        pytest.raises(errors.InsufficientPrivilege),
        db.tenant_transaction(a["tenants"]) as conn,
    ):
        conn.execute("TRUNCATE audit_events")


def test_app_role_cannot_change_the_schema(database: EmbeddedDatabase) -> None:
    with psycopg.connect(database.app_url) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE messages DISABLE ROW LEVEL SECURITY")
        conn.rollback()
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE sneaky (tenant_id uuid)")
