"""boto3 clients built from the settings (region, and the moto endpoint locally)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from atende.config import get_settings

# A pool as large as the local API's concurrency: with botocore's default of
# 10, a burst on the threaded local server opened (and threw away) a new
# connection per call. A Lambda instance serves one request at a time.
_RETRIES = Config(
    retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=64
)
# botocore presigns S3 URLs with Signature Version 2 unless told otherwise, and
# S3 refuses SigV2 for objects encrypted with a KMS key (every download we hand
# out); SigV4 also bounds the URL's life by X-Amz-Expires.
_S3 = Config(signature_version="s3v4")


def new_client(
    service: str,
    region_name: str | None = None,
    *,
    endpoint_url: str | None = None,
    config: Config | None = None,
) -> Any:
    """A new boto3 client for ``service`` (prefer :func:`client`, which caches).

    ``endpoint_url`` names a service endpoint of its own (API Gateway's
    management API is per API); otherwise moto's locally, AWS's in AWS.
    """
    settings = get_settings()
    kwargs: dict[str, Any] = {
        "region_name": region_name or settings.aws_region,
        "endpoint_url": endpoint_url or settings.resolved_aws_endpoint_url,
        "config": config or _RETRIES,
    }
    if service == "s3":
        kwargs["config"] = kwargs["config"].merge(_S3)
    if settings.env != "aws":
        # moto accepts any credentials; never sign requests for real AWS here.
        kwargs |= {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.session.Session().client(service, **kwargs)


class _Clients:
    """The process-wide client per service (clients are thread-safe).

    Built once even when many threads ask at the same moment (the local
    server's first burst): building a client takes tens of milliseconds.
    """

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        found = self._clients.get(service)
        if found is None:
            with self._lock:
                found = self._clients.get(service)
                if found is None:
                    found = self._clients[service] = new_client(service)
        return found

    def cache_clear(self) -> None:
        with self._lock:
            self._clients.clear()


client = _Clients()
