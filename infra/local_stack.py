"""`make run`: the whole Atende system on 127.0.0.1, on embedded stand-ins.

- PostgreSQL: pgserver in ATENDE_DATA_DIR (survives restarts), migrated.
- AWS: a moto server (S3, KMS, SQS, DynamoDB, Step Functions, ...).
- API: the same Chalice app that is deployed, served by Chalice's local server.

A demo tenant is created on first run; its API key is kept in the data folder
(git-ignored, mode 0600) so later runs can print it again. moto keeps its state
in memory only, so on each start the tenants' KMS keys are created again.
Ctrl-C (or SIGTERM) stops everything.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions" / "api"))

from atende import db, tenancy  # noqa: E402
from atende.config import get_settings  # noqa: E402
from atende.db.embedded import EmbeddedDatabase, start_embedded  # noqa: E402


def _start_moto(port: int) -> Any:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def _rekey_tenants(embedded: EmbeddedDatabase) -> None:
    """Give every stored tenant a KMS key in the fresh (in-memory) moto server.

    Uses the embedded superuser: listing all tenants is a cross-tenant task that
    the application role must not be able to do.
    """
    url = make_conninfo(
        embedded.admin_url, dbname=conninfo_to_dict(embedded.app_url)["dbname"]
    )
    with psycopg.connect(url) as conn:
        tenant_ids = [row[0] for row in conn.execute("SELECT id FROM tenants")]
        for tenant_id in tenant_ids:
            key_arn = tenancy._create_kms_key(tenant_id)
            conn.execute(
                "UPDATE tenants SET kms_key_arn = %s WHERE id = %s",
                (key_arn, tenant_id),
            )


def _demo_tenant(data_dir: Path, name: str) -> dict[str, str]:
    """The demo tenant of this data folder, created on first run."""
    record_path = data_dir / "demo-tenant.json"
    if record_path.exists():
        record: dict[str, str] = json.loads(record_path.read_text())
        try:
            tenancy.authenticate_api_key(record["api_key"])
            return record
        except Exception:  # the database was reset: provision again
            record_path.unlink()
    provisioned = tenancy.create_tenant(name)
    record = {
        "tenant_id": str(provisioned.tenant.id),
        "name": provisioned.tenant.name,
        "api_key": provisioned.api_key,
    }
    record_path.touch(mode=0o600)
    record_path.write_text(json.dumps(record, indent=2))
    return record


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    from chalice.config import Config
    from chalice.local import LocalDevServer

    settings = get_settings()
    if settings.env != "local":
        print("make run needs ATENDE_ENV=local", file=sys.stderr)
        return 2
    # Explicit: a shell that starts us in the background ignores SIGINT.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    embedded = start_embedded(settings.data_dir) if settings.embedded_database else None
    if embedded is not None:
        db.configure(embedded.app_url)
    moto = _start_moto(settings.local_aws_port)
    server = None
    try:
        if embedded is not None:
            _rekey_tenants(embedded)
        demo = _demo_tenant(settings.data_dir, settings.demo_tenant_name)

        from app import app  # functions/api/app.py

        os.environ.setdefault("ATENDE_ENV", "local")
        server = LocalDevServer(app, Config(), settings.api_host, settings.api_port)
        api = f"http://{settings.api_host}:{settings.api_port}"
        database = f"embedded in {settings.data_dir}" if embedded else "DATABASE_URL"
        print(
            "\nAtende is running locally\n"
            f"  API         {api}   (health: {api}/health)\n"
            f"  AWS (moto)  {settings.resolved_aws_endpoint_url}\n"
            f"  PostgreSQL  {database}\n"
            f"  Demo tenant {demo['name']} ({demo['tenant_id']})\n"
            f"  API key     {demo['api_key']}\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        server.server.serve_forever()
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
    finally:
        if server is not None:
            server.server.server_close()
        moto.stop()
        db.close_pool()
        if embedded is not None:
            embedded.server.cleanup()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
