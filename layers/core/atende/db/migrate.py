"""Schema migrations: plain SQL files run by yoyo-migrations.

yoyo was chosen because it runs plain ``.sql`` files (no ORM, no Python DSL),
supports psycopg 3, applies each migration in a transaction with a lock against
concurrent runs, records what ran, and is a small, long-maintained dependency
that works the same from the CLI, the local stack and a deploy-time Lambda.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _yoyo_uri(conninfo: str) -> str:
    """yoyo's URL for any libpq conninfo (URL or key=value; TCP or Unix socket)."""
    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items()}
    user = quote(params.pop("user", ""), safe="")
    password = params.pop("password", None)
    dbname = quote(params.pop("dbname", ""), safe="")
    host = params.pop("host", "")
    port = params.pop("port", "")
    if host.startswith("/"):  # Unix socket: yoyo passes query args to psycopg
        params["host"] = host
        host = ""
    auth = (
        f"{user}:{quote(password, safe='')}@"
        if password
        else f"{user}@"
        if user
        else ""
    )
    location = f"{host}:{port}" if port and host else host
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql+psycopg://{auth}{location}/{dbname}{query}"


def apply_migrations(owner_conninfo: str) -> list[str]:
    """Apply pending migrations as the schema owner; returns the ids applied."""
    backend = get_backend(_yoyo_uri(owner_conninfo))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]
