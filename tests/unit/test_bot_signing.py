"""The tenant claim the worker signs for the action server, and Rasa's JWT."""

from __future__ import annotations

from uuid import UUID, uuid4

import jwt
import pytest

from atende.bot.signing import (
    TenantNotVerified,
    rasa_token,
    sign_tenant,
    verify_tenant,
)

KEY = "k" * 16 + "e" * 16 + "y" * 16
SENDER = "0c8a7d1e-6b5e-4f7a-9a51-0f3b1d9c2e11"
NOW = 1_780_000_000.0
TENANT = uuid4()


def _verify(metadata: dict[str, str], *, key: str = KEY, now: float = NOW) -> UUID:
    return verify_tenant(key, metadata, sender=SENDER, max_age_s=300, now=now)


def _reason(metadata: dict[str, str], *, key: str = KEY, now: float = NOW) -> str:
    with pytest.raises(TenantNotVerified) as caught:
        _verify(metadata, key=key, now=now)
    assert caught.value.code == "TENANT_NAO_VERIFICADO"
    return caught.value.reason


def test_the_signed_tenant_is_returned() -> None:
    signed = sign_tenant(KEY, tenant_id=TENANT, sender=SENDER, now=NOW)
    assert _verify({**signed, "wamid": "w1"}, now=NOW + 299) == TENANT
    # The same tenant spelled differently is the same tenant.
    upper = {**signed, "tenant_id": str(TENANT).upper()}
    assert _verify(upper) == TENANT


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"tenant_id": str(TENANT)},
        {"tenant_id": str(TENANT), "tenant_signed_at": str(int(NOW))},
        {"tenant_id": "nope", "tenant_signed_at": "1", "tenant_signature": "00"},
        {"tenant_id": str(TENANT), "tenant_signed_at": "x", "tenant_signature": "0"},
    ],
)
def test_missing_or_malformed_claims_are_refused(metadata: dict[str, str]) -> None:
    assert _reason(metadata) == "missing_or_malformed"


def test_tampered_fields_are_refused() -> None:
    signed = sign_tenant(KEY, tenant_id=TENANT, sender=SENDER, now=NOW)
    flipped = ("0" if signed["tenant_signature"][0] != "0" else "1") + signed[
        "tenant_signature"
    ][1:]
    assert _reason({**signed, "tenant_signature": flipped}) == "bad_signature"
    assert _reason({**signed, "tenant_signature": ""}) == "bad_signature"
    # Moving the time forward to dodge the age limit breaks the signature.
    later = {**signed, "tenant_signed_at": str(int(NOW) + 60)}
    assert _reason(later, now=NOW + 60) == "bad_signature"


def test_another_tenants_valid_signature_opens_no_other_tenant() -> None:
    tenant_a, tenant_b = uuid4(), uuid4()
    signed_for_a = sign_tenant(KEY, tenant_id=tenant_a, sender=SENDER, now=NOW)
    assert _verify(signed_for_a) == tenant_a
    assert _reason({**signed_for_a, "tenant_id": str(tenant_b)}) == "bad_signature"


def test_a_signature_is_bound_to_its_conversation() -> None:
    signed = sign_tenant(KEY, tenant_id=TENANT, sender=str(uuid4()), now=NOW)
    assert _reason(signed) == "bad_signature"


def test_a_signature_with_another_key_is_refused() -> None:
    signed = sign_tenant("o" * 48, tenant_id=TENANT, sender=SENDER, now=NOW)
    assert _reason(signed) == "bad_signature"


def test_old_and_future_signatures_are_refused() -> None:
    signed = sign_tenant(KEY, tenant_id=TENANT, sender=SENDER, now=NOW)
    assert _reason(signed, now=NOW + 301) == "expired"
    assert _reason(signed, now=NOW - 31) == "expired"
    assert _verify(signed, now=NOW - 29) == TENANT


def test_short_keys_are_refused_on_both_sides() -> None:
    with pytest.raises(ValueError, match="too short"):
        sign_tenant("SET-ME", tenant_id=TENANT, sender=SENDER)
    signed = sign_tenant(KEY, tenant_id=TENANT, sender=SENDER, now=NOW)
    assert _reason(signed, key="") == "key_too_short"


def test_rasa_token_is_short_lived_and_scoped_to_one_conversation() -> None:
    token = rasa_token(KEY, sender=SENDER, now=NOW)
    claims = jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["user"] == {"username": SENDER, "role": "user"}
    assert claims["exp"] - claims["iat"] == 60
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "x" * 48, algorithms=["HS256"])
