"""Per-tenant envelope encryption with the AWS Encryption SDK.

Each tenant has its own KMS key. Ciphertexts carry an encryption context that
names the tenant and the purpose (plus e.g. a job id); decryption verifies it,
so a ciphertext can't be replayed under another tenant or for another purpose.
Data keys are cached (CachingCryptoMaterialsManager) so hot paths don't call
KMS on every message.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_encryption_sdk
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError
from aws_encryption_sdk.key_providers.kms import StrictAwsKmsMasterKeyProvider
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidSignature, InvalidTag

from atende import aws
from atende.config import get_settings
from atende.errors import DecryptionRefused

__all__ = ["TenantKey", "decrypt", "decrypt_field", "encrypt", "encrypt_field"]

_SDK = aws_encryption_sdk.EncryptionSDKClient(
    commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
)


@dataclass(frozen=True)
class TenantKey:
    """Which tenant, and the ARN of its KMS key."""

    tenant_id: str
    key_arn: str


class _TenantKeyProvider(StrictAwsKmsMasterKeyProvider):  # type: ignore[misc]
    """Strict KMS provider whose clients come from :mod:`atende.aws`.

    The SDK builds its own boto3 clients and knows no endpoint URL; overriding
    this hook lets the local moto endpoint and retry config apply.
    """

    def add_regional_client(self, region_name: str) -> None:
        if region_name not in self._regional_clients:
            kms = aws.new_client("kms", region_name)
            self._register_client(kms, region_name)
            self._regional_clients[region_name] = kms


_managers: dict[str, Any] = {}
_managers_lock = threading.Lock()


def _materials_manager(key_arn: str) -> Any:
    with _managers_lock:
        manager = _managers.get(key_arn)
        if manager is None:
            settings = get_settings()
            manager = aws_encryption_sdk.CachingCryptoMaterialsManager(
                master_key_provider=_TenantKeyProvider(key_ids=[key_arn]),
                cache=aws_encryption_sdk.LocalCryptoMaterialsCache(
                    settings.crypto_cache_capacity
                ),
                max_age=settings.crypto_cache_max_age_s,
                max_messages_encrypted=settings.crypto_cache_max_messages,
            )
            _managers[key_arn] = manager
        return manager


def clear_cache() -> None:
    """Forget cached data keys and providers (key rotation, tests)."""
    with _managers_lock:
        _managers.clear()


def _context(
    key: TenantKey, purpose: str, extra: Mapping[str, str] | None
) -> dict[str, str]:
    context = {"tenant_id": key.tenant_id, "purpose": purpose}
    for name, value in (extra or {}).items():
        if name in context:
            raise ValueError(f"encryption context key {name!r} is reserved")
        context[name] = value
    return context


def encrypt(
    key: TenantKey,
    plaintext: bytes,
    *,
    purpose: str,
    context: Mapping[str, str] | None = None,
) -> bytes:
    """Encrypt ``plaintext`` under the tenant's key for ``purpose``."""
    ciphertext, _header = _SDK.encrypt(
        source=plaintext,
        materials_manager=_materials_manager(key.key_arn),
        encryption_context=_context(key, purpose, context),
    )
    return bytes(ciphertext)


def decrypt(
    key: TenantKey,
    ciphertext: bytes,
    *,
    purpose: str,
    context: Mapping[str, str] | None = None,
) -> bytes:
    """Decrypt and check that the ciphertext was made for this tenant and purpose.

    Raises:
        DecryptionRefused: wrong tenant key, wrong context, or damaged data.
    """
    expected = _context(key, purpose, context)
    try:
        plaintext, header = _SDK.decrypt(
            source=ciphertext, materials_manager=_materials_manager(key.key_arn)
        )
    except (
        AWSEncryptionSDKClientError,
        ClientError,
        BotoCoreError,
        InvalidSignature,
        InvalidTag,
    ) as exc:
        raise DecryptionRefused() from exc
    actual = header.encryption_context
    if any(actual.get(name) != value for name, value in expected.items()):
        raise DecryptionRefused()
    return bytes(plaintext)


def encrypt_field(key: TenantKey, value: str, *, purpose: str) -> str:
    """Encrypt a small text field; returns base64 text for a text column."""
    return base64.b64encode(encrypt(key, value.encode(), purpose=purpose)).decode()


def decrypt_field(key: TenantKey, value: str, *, purpose: str) -> str:
    """Inverse of :func:`encrypt_field`."""
    return decrypt(key, base64.b64decode(value), purpose=purpose).decode()
