"""The embedded PostgreSQL used when no DATABASE_URL is configured.

pgserver ships PostgreSQL 16 as a wheel, listens on a Unix socket in its data
folder and is shared by every process that asks for the same folder; it stops
when the last of them exits. Data survives restarts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from atende.db.bootstrap import APP_ROLE, OWNER_ROLE, bootstrap
from atende.db.migrate import apply_migrations

DATABASE = "atende"


@dataclass(frozen=True)
class EmbeddedDatabase:
    """A running embedded server and the URLs of its three roles."""

    server: Any
    admin_url: str
    owner_url: str
    app_url: str


def _socket_url(socket_dir: Path, user: str, database: str) -> str:
    return f"postgresql://{user}@/{database}?host={quote(str(socket_dir))}"


def start_embedded(data_dir: Path, *, database: str = DATABASE) -> EmbeddedDatabase:
    """Start (or join) the embedded server in ``data_dir``, bootstrap and migrate."""
    from pgserver.postgres_server import get_server  # the `local` extra only

    pgdata = data_dir / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI).
        warnings.simplefilter("ignore")
        server = get_server(pgdata, cleanup_mode="stop")
    socket_dir = Path(server.pgdata)
    admin_url = _socket_url(socket_dir, "postgres", "postgres")
    bootstrap(admin_url, database)
    owner_url = _socket_url(socket_dir, OWNER_ROLE, database)
    apply_migrations(owner_url)
    return EmbeddedDatabase(
        server=server,
        admin_url=admin_url,
        owner_url=owner_url,
        app_url=_socket_url(socket_dir, APP_ROLE, database),
    )
