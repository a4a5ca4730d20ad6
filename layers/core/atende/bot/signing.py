"""The signed values the bot's parties exchange.

- Rasa's callers (the conversation worker, the API's "return to bot") carry a
  short JWT (HS256, ``RASA_JWT_SECRET``) scoped to one conversation: Rasa's HTTP
  API and our REST channel accept nothing else (``bot/rasa_auth.py``).
- The worker signs the tenant it sends in a message's metadata (HMAC-SHA256,
  ``ACTION_SIGNING_KEY``, over tenant, conversation and time); the action server
  opens a tenant's data only for a tenant so signed. Rasa relays the metadata
  but holds no signing key, so neither Rasa nor anyone who can reach the action
  server can name another tenant.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import jwt

from atende.errors import Forbidden

__all__ = ["TenantNotVerified", "rasa_token", "sign_tenant", "verify_tenant"]

RASA_TOKEN_TTL_S = 60
# Clocks of the worker (Lambda) and the action server (Fargate) may differ a bit.
_CLOCK_SKEW_S = 30
_VERSION = "v1"
# A short or placeholder key would let anyone sign: refused on both sides.
MIN_KEY_LENGTH = 32


class TenantNotVerified(Forbidden):
    """The metadata's tenant was not signed by the worker (or not for this
    conversation, or too long ago). ``reason`` is for logs, never shown."""

    code = "TENANT_NAO_VERIFICADO"
    message = "Não foi possível confirmar a origem desta conversa."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


def rasa_token(
    secret: str, *, sender: str, ttl_s: int = RASA_TOKEN_TTL_S, now: float | None = None
) -> str:
    """A bearer token for Rasa, valid for conversation ``sender`` only.

    Rasa's ``user`` role (``rasa.server.requires_auth``) admits a token whose
    ``username`` is the conversation in the path; our REST channel applies the
    same rule to the message's sender.
    """
    issued = int(time.time() if now is None else now)
    claims = {
        "user": {"username": sender, "role": "user"},
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def _digest(key: str, tenant_id: UUID, sender: str, signed_at: int) -> str:
    message = f"{_VERSION}\n{tenant_id}\n{sender}\n{signed_at}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def sign_tenant(
    key: str, *, tenant_id: UUID | str, sender: str, now: float | None = None
) -> dict[str, str]:
    """The metadata fields that vouch for ``tenant_id`` in conversation ``sender``.

    Raises:
        ValueError: ``key`` shorter than MIN_KEY_LENGTH.
    """
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError("the action signing key is too short")
    tenant = UUID(str(tenant_id))
    signed_at = int(time.time() if now is None else now)
    return {
        "tenant_id": str(tenant),
        "tenant_signed_at": str(signed_at),
        "tenant_signature": _digest(key, tenant, sender, signed_at),
    }


def verify_tenant(
    key: str,
    metadata: Mapping[str, Any],
    *,
    sender: str,
    max_age_s: float,
    now: float | None = None,
) -> UUID:
    """The tenant of ``metadata``, if the worker signed it for ``sender`` lately.

    Raises:
        TenantNotVerified: missing, malformed, forged, for another conversation,
            or older than ``max_age_s``; or ``key`` too short to trust.
    """
    if len(key) < MIN_KEY_LENGTH:
        raise TenantNotVerified("key_too_short")
    try:
        tenant = UUID(str(metadata["tenant_id"]))
        signed_at = int(str(metadata["tenant_signed_at"]))
        signature = str(metadata["tenant_signature"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TenantNotVerified("missing_or_malformed") from exc
    expected = _digest(key, tenant, sender, signed_at)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise TenantNotVerified("bad_signature")
    age = (time.time() if now is None else now) - signed_at
    if age > max_age_s or age < -_CLOCK_SKEW_S:
        raise TenantNotVerified("expired")
    return tenant
