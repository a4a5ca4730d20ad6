"""Object storage for every package (documents, WhatsApp media, exports): S3,
under the tenant's prefix, always encrypted with the tenant's key (encryption context:
tenant, purpose, and the document or message). No plaintext PDF, page text,
result or media is ever written to S3 or disk. The one exception, downloads
handed out by presigned URL (``offer_download``), is encrypted by S3 under the
tenant's key instead (SSE-KMS), lives minutes in use and two days at most.

Keys are built from the tenant's id and our own ids; ``delete`` deletes only
keys under ``tenants/<tenant>/`` and refuses any other (logged masked, counted
as the ``StorageKeysRefused`` metric), so a stored reference never reaches
another tenant's objects."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from uuid import UUID

from atende import aws, crypto
from atende.config import get_settings
from atende.crypto import TenantKey
from atende.observability import logger, metrics

# After the tenant's prefix: path segments of safe characters, none starting
# with a dot (no "." or ".." segment, no empty one).
_OWN_KEY_REST = re.compile(r"[\w-][\w.=-]*(?:/[\w-][\w.=-]*)*", re.ASCII)


def tenant_prefix(tenant_id: UUID | str) -> str:
    return f"tenants/{UUID(str(tenant_id))}/"


def _is_own_key(tenant_id: UUID | str, s3_key: str) -> bool:
    """Whether ``s3_key`` is a plain key under the tenant's own prefix."""
    prefix = tenant_prefix(tenant_id)
    return s3_key.startswith(prefix) and bool(
        _OWN_KEY_REST.fullmatch(s3_key.removeprefix(prefix))
    )


def put(
    key: TenantKey,
    s3_key: str,
    data: bytes,
    *,
    purpose: str,
    context: Mapping[str, str],
) -> None:
    """Encrypt under the tenant's key (context: tenant, purpose, ``context``)."""
    sealed = crypto.encrypt(key, data, purpose=purpose, context=context)
    aws.client("s3").put_object(
        Bucket=get_settings().documents_bucket, Key=s3_key, Body=sealed
    )


def get(
    key: TenantKey, s3_key: str, *, purpose: str, context: Mapping[str, str]
) -> bytes:
    """Decrypt, refusing anything not sealed for this tenant, purpose and context."""
    body = aws.client("s3").get_object(
        Bucket=get_settings().documents_bucket, Key=s3_key
    )
    return crypto.decrypt(key, body["Body"].read(), purpose=purpose, context=context)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def offer_download(
    key: TenantKey,
    s3_key: str,
    data: bytes,
    *,
    filename: str,
    content_type: str = XLSX_TYPE,
    expires_s: int = 300,
    inline: bool = False,
) -> str:
    """Store ``data`` for one short download and return its presigned URL.

    Files too big for an API response (Lambda's 6 MB) go straight from S3 to
    the browser. S3 encrypts them with the tenant's KMS key (SSE-KMS) so a
    presigned GET can serve them; the signer needs that key, like every use of
    tenant data. The bucket's lifecycle removes them within two days.
    """
    s3 = aws.client("s3")
    bucket = get_settings().documents_bucket
    s3.put_object(
        Bucket=bucket,
        Key=s3_key,
        Body=data,
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key.key_arn,
        ContentType=content_type,
        ContentDisposition=f"{'inline' if inline else 'attachment'};"
        f' filename="{filename}"',
    )
    url: str = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": s3_key}, ExpiresIn=expires_s
    )
    return url


def _delete_objects(s3_keys: list[str]) -> None:
    for start in range(0, len(s3_keys), 1000):
        aws.client("s3").delete_objects(
            Bucket=get_settings().documents_bucket,
            Delete={
                "Objects": [{"Key": k} for k in s3_keys[start : start + 1000]],
                "Quiet": True,
            },
        )


def delete(tenant_id: UUID | str, s3_keys: Iterable[str]) -> int:
    """Delete the tenant's objects at ``s3_keys``; returns how many keys that was.

    A key outside the tenant's own prefix is refused, not deleted: logged with
    its hash only and counted (metric ``StorageKeysRefused``).
    """
    own: list[str] = []
    for s3_key in dict.fromkeys(s3_keys):
        if _is_own_key(tenant_id, s3_key):
            own.append(s3_key)
            continue
        logger.warning(
            "stored S3 reference outside the tenant's prefix refused",
            extra={
                "tenant_id": str(tenant_id),
                "reference_sha256": hashlib.sha256(s3_key.encode()).hexdigest()[:16],
                "reference_length": len(s3_key),
            },
        )
        metrics.add_metric(name="StorageKeysRefused", unit="Count", value=1)
    _delete_objects(own)
    return len(own)


def delete_under(prefix: str, *, keep: frozenset[str] = frozenset()) -> int:
    """Delete every object under ``prefix`` except ``keep``; returns how many."""
    s3 = aws.client("s3")
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=get_settings().documents_bucket, Prefix=prefix
        )
        for obj in page.get("Contents", [])
        if obj["Key"] not in keep
    ]
    _delete_objects(keys)
    return len(keys)


def exists(s3_key: str) -> bool:
    s3 = aws.client("s3")
    listing = s3.list_objects_v2(
        Bucket=get_settings().documents_bucket, Prefix=s3_key, MaxKeys=1
    )
    return any(obj["Key"] == s3_key for obj in listing.get("Contents", []))
