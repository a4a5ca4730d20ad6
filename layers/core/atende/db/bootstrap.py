"""Cluster-level set-up that migrations cannot do: roles and the database.

Runs with an administrator connection (the embedded server's superuser, or
Aurora's master user from Secrets Manager). Idempotent.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

OWNER_ROLE = "atende_owner"
APP_ROLE = "atende_app"


def _ensure_role(
    conn: psycopg.Connection[tuple[object, ...]], role: str, password: str | None
) -> None:
    exists = conn.execute(
        "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    verb = "ALTER" if exists else "CREATE"
    # The application role must never bypass RLS, whatever the server default.
    stmt = sql.SQL(
        "{} ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
    ).format(sql.SQL(verb), sql.Identifier(role))
    if password is not None:
        stmt = sql.SQL("{} PASSWORD {}").format(stmt, sql.Literal(password))
    conn.execute(stmt)


def bootstrap(
    admin_conninfo: str,
    database: str,
    *,
    owner_password: str | None = None,
    app_password: str | None = None,
) -> None:
    """Create the owner and application roles and the database they use."""
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        _ensure_role(conn, OWNER_ROLE, owner_password)
        _ensure_role(conn, APP_ROLE, app_password)
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                )
            )
    db_conninfo = psycopg.conninfo.make_conninfo(admin_conninfo, dbname=database)
    with psycopg.connect(db_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "REVOKE ALL ON SCHEMA public FROM PUBLIC;"
                "ALTER SCHEMA public OWNER TO {owner};"
                "GRANT USAGE ON SCHEMA public TO {app};"
                "REVOKE ALL ON DATABASE {db} FROM PUBLIC;"
                "GRANT CONNECT ON DATABASE {db} TO {owner}, {app};"
            ).format(
                owner=sql.Identifier(OWNER_ROLE),
                app=sql.Identifier(APP_ROLE),
                db=sql.Identifier(database),
            )
        )


def drop_database(admin_conninfo: str, database: str) -> None:
    """Drop a database (used for the tests' throw-away databases)."""
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database)
            )
        )


def ensure_service_database(admin_conninfo: str, database: str, role: str) -> None:
    """A database owned by its own login role, for a service outside atende's
    schema (the Rasa tracker store). It holds no RLS tables of atende's."""
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
        ).fetchone():
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(
                    sql.Identifier(role)
                )
            )
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(role)
                )
            )
