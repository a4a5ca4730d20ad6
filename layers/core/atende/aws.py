"""boto3 clients built from the settings (region, and the moto endpoint locally)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from atende.config import get_settings

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 3})


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
    if settings.env != "aws":
        # moto accepts any credentials; never sign requests for real AWS here.
        kwargs |= {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.session.Session().client(service, **kwargs)


@cache
def client(service: str) -> Any:
    """The process-wide client for ``service`` (clients are thread-safe)."""
    return new_client(service)
