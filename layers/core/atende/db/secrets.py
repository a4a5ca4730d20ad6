"""Database URLs from Secrets Manager (the RDS secret JSON shape)."""

from __future__ import annotations

import json
from urllib.parse import quote

from atende import aws


def conninfo_from_secret(secret_arn: str) -> str:
    """Build a libpq URL from a secret with username, password, host, port, dbname."""
    raw = aws.client("secretsmanager").get_secret_value(SecretId=secret_arn)
    secret = json.loads(raw["SecretString"])
    user = quote(secret["username"], safe="")
    password = quote(secret["password"], safe="")
    host = secret["host"]
    port = int(secret.get("port", 5432))
    dbname = quote(secret.get("dbname", "atende"), safe="")
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}?sslmode=require"
