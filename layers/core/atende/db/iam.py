"""Connections through RDS Proxy with IAM authentication.

The proxy URL names the endpoint, port, user and database, without a
password: each new connection presents an IAM authentication token signed
with the process's AWS credentials (a Lambda function's role, which needs
``rds-db:connect`` on the proxy's user). A token is valid for 15 minutes and
checked only when a connection opens. The proxy requires TLS.
"""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from atende import aws
from atende.config import get_settings

_UNENCRYPTED = {"disable", "allow", "prefer"}


def proxy_conninfo(proxy_url: str) -> str:
    """``proxy_url`` with a fresh IAM token as its password (TLS required)."""
    params = conninfo_to_dict(proxy_url)
    host, user = params.get("host"), params.get("user")
    if not host or not user:
        raise ValueError("DATABASE_PROXY_URL needs a host and a user")
    port = int(params.get("port") or 5432)
    params["sslmode"] = params.get("sslmode") or "require"
    if params["sslmode"] in _UNENCRYPTED:
        raise ValueError("RDS Proxy with IAM authentication requires TLS")
    params["password"] = aws.client("rds").generate_db_auth_token(
        DBHostname=str(host),
        Port=port,
        DBUsername=str(user),
        Region=get_settings().aws_region,
    )
    params["port"] = port
    return make_conninfo("", **params)
