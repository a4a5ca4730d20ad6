"""Object storage for every package (documents, WhatsApp media, exports): S3,
under the tenant's prefix, always encrypted with the tenant's key (encryption context:
tenant, purpose, and the document or message). No plaintext PDF, page text,
result or media is ever written to S3 or disk. The one exception, downloads
handed out by presigned URL (``offer_download``), is encrypted by S3 under the
tenant's key instead (SSE-KMS), lives minutes in use and two days at most."""

from __future__ import annotations

from collections.abc import Mapping

from atende import aws, crypto
from atende.config import get_settings
from atende.crypto import TenantKey


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
        ContentDisposition=f'attachment; filename="{filename}"',
    )
    url: str = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": s3_key}, ExpiresIn=expires_s
    )
    return url


def delete(s3_keys: list[str]) -> None:
    if s3_keys:
        aws.client("s3").delete_objects(
            Bucket=get_settings().documents_bucket,
            Delete={"Objects": [{"Key": k} for k in s3_keys], "Quiet": True},
        )


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
    for start in range(0, len(keys), 1000):
        delete(keys[start : start + 1000])
    return len(keys)


def exists(s3_key: str) -> bool:
    s3 = aws.client("s3")
    listing = s3.list_objects_v2(
        Bucket=get_settings().documents_bucket, Prefix=s3_key, MaxKeys=1
    )
    return any(obj["Key"] == s3_key for obj in listing.get("Contents", []))
