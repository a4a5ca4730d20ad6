"""Per-tenant envelope encryption against moto's KMS."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from atende import aws, crypto
from atende.crypto import TenantKey
from atende.errors import DecryptionRefused

pytestmark = pytest.mark.integration


def _tenant_key(tenant_id: str) -> TenantKey:
    arn = aws.client("kms").create_key(Description=tenant_id)["KeyMetadata"]["Arn"]
    return TenantKey(tenant_id=tenant_id, key_arn=arn)


@pytest.fixture
def keys(aws_mock: None) -> tuple[TenantKey, TenantKey]:
    return _tenant_key("tenant-a"), _tenant_key("tenant-b")


def test_round_trip_bytes_and_fields(keys: tuple[TenantKey, TenantKey]) -> None:
    a, _b = keys
    payload = b"%PDF-1.7 contrato de Jo\xc3\xa3o"
    ciphertext = crypto.encrypt(
        a, payload, purpose="document", context={"job_id": "j1"}
    )
    assert payload not in ciphertext
    assert (
        crypto.decrypt(a, ciphertext, purpose="document", context={"job_id": "j1"})
        == payload
    )
    field = crypto.encrypt_field(a, "João da Silva", purpose="customer.name")
    assert "João" not in field
    assert crypto.decrypt_field(a, field, purpose="customer.name") == "João da Silva"


def test_other_tenants_key_cannot_decrypt(keys: tuple[TenantKey, TenantKey]) -> None:
    a, b = keys
    ciphertext = crypto.encrypt(a, b"segredo", purpose="document")
    with pytest.raises(DecryptionRefused):
        crypto.decrypt(b, ciphertext, purpose="document")
    # Even claiming to be tenant A with B's key is refused.
    impostor = TenantKey(tenant_id=a.tenant_id, key_arn=b.key_arn)
    with pytest.raises(DecryptionRefused):
        crypto.decrypt(impostor, ciphertext, purpose="document")


@pytest.mark.parametrize(
    ("purpose", "context"),
    [("result", {"job_id": "j1"}), ("document", {"job_id": "j2"}), ("document", None)],
)
def test_wrong_encryption_context_is_refused(
    keys: tuple[TenantKey, TenantKey], purpose: str, context: dict[str, str] | None
) -> None:
    a, _b = keys
    ciphertext = crypto.encrypt(
        a, b"segredo", purpose="document", context={"job_id": "j1"}
    )
    if context is None:
        # Same tenant and purpose but another tenant id in the context.
        with pytest.raises(DecryptionRefused):
            crypto.decrypt(
                TenantKey("tenant-x", a.key_arn),
                ciphertext,
                purpose="document",
                context={"job_id": "j1"},
            )
        return
    with pytest.raises(DecryptionRefused):
        crypto.decrypt(a, ciphertext, purpose=purpose, context=context)


def test_tampered_ciphertext_is_refused(keys: tuple[TenantKey, TenantKey]) -> None:
    a, _b = keys
    ciphertext = bytearray(crypto.encrypt(a, b"segredo" * 10, purpose="document"))
    ciphertext[-40] ^= 0xFF
    with pytest.raises(DecryptionRefused):
        crypto.decrypt(a, bytes(ciphertext), purpose="document")


def test_reserved_context_keys_are_rejected(keys: tuple[TenantKey, TenantKey]) -> None:
    a, _b = keys
    with pytest.raises(ValueError, match="reserved"):
        crypto.encrypt(a, b"x", purpose="document", context={"tenant_id": "other"})


def test_data_keys_are_cached(keys: tuple[TenantKey, TenantKey]) -> None:
    a, _b = keys
    calls: list[str] = []
    original: Any = crypto._TenantKeyProvider.add_regional_client

    def spy(self: Any, region_name: str) -> None:
        original(self, region_name)
        client = self._regional_clients[region_name]
        if not getattr(client, "_spied", False):
            client.meta.events.register(
                "before-call.kms.*", lambda model, **_: calls.append(model.name)
            )
            client._spied = True

    with mock.patch.object(crypto._TenantKeyProvider, "add_regional_client", spy):
        crypto.clear_cache()
        for _ in range(20):
            crypto.encrypt_field(a, "valor", purpose="hot-path")
    assert calls.count("GenerateDataKey") == 1
