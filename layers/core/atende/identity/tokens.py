"""Cognito ID tokens checked against the pool's published keys (RS256), turned
into a principal by the attendants row, which decides at once (role, active)."""

# Queries below compose only fixed column lists and conditions; values are
# always bound parameters.

from __future__ import annotations

import functools
import time
from typing import Any
from uuid import UUID

import jwt
import requests

from atende.config import get_settings
from atende.db import Connection, tenant_transaction
from atende.errors import (
    Forbidden,
    ServiceUnavailable,
    Unauthenticated,
)
from atende.identity.principal import TENANT_CLAIM, AttendantPrincipal, Role

_JWKS_TTL_S = 3600.0


class IdentityNotConfigured(ServiceUnavailable):
    code = "LOGIN_NAO_CONFIGURADO"


def _pool() -> tuple[str, str]:
    settings = get_settings()
    if not settings.cognito_user_pool_id or not settings.cognito_client_id:
        raise IdentityNotConfigured(message="O login do console não está configurado.")
    return settings.cognito_user_pool_id, settings.cognito_client_id


@functools.lru_cache(maxsize=4)
def _jwks(pool_id: str, fetched_in: int) -> jwt.PyJWKSet:
    """The pool's signing keys, refetched each _JWKS_TTL_S (``fetched_in``)."""
    del fetched_in  # only part of the cache key
    settings = get_settings()
    endpoint = settings.resolved_aws_endpoint_url
    headers = {}
    if endpoint:
        url = f"{endpoint}/{pool_id}/.well-known/jwks.json"
        # moto's server tells services apart by the credential scope.
        headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=local/20260101/"
            f"{settings.aws_region}/cognito-idp/aws4_request"
        )
    else:
        url = (
            f"https://cognito-idp.{settings.aws_region}.amazonaws.com/"
            f"{pool_id}/.well-known/jwks.json"
        )
    try:
        response = requests.get(url, headers=headers, timeout=5)
        response.raise_for_status()
        return jwt.PyJWKSet.from_dict(response.json())
    except (requests.RequestException, jwt.PyJWTError, ValueError) as exc:
        raise ServiceUnavailable(
            message="Não foi possível validar o acesso agora. Tente novamente."
        ) from exc


def clear_key_cache() -> None:
    _jwks.cache_clear()


def verify_id_token(token: str) -> dict[str, Any]:
    """The claims of a valid ID token of this pool and client.

    Raises:
        Unauthenticated: bad signature, other issuer or audience, expired, or
            not an ID token.
    """
    pool_id, client_id = _pool()
    region = get_settings().aws_region
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        keys = _jwks(pool_id, int(time.time() // _JWKS_TTL_S))
        key = next((k for k in keys.keys if k.key_id == kid), None)
        if key is None:
            raise Unauthenticated("Sessão inválida. Entre novamente.")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=client_id,
            issuer=f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            leeway=30,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("Sua sessão expirou. Entre novamente.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("Sessão inválida. Entre novamente.") from exc
    if claims.get("token_use") != "id" or not claims.get(TENANT_CLAIM):
        raise Unauthenticated("Sessão inválida. Entre novamente.")
    return claims


def _principal_row(conn: Connection, sub: str) -> dict[str, Any] | None:
    return conn.execute(
        "SELECT id, email, display_name, role, team, active FROM attendants"
        " WHERE identity_sub = %s",
        (sub,),
    ).fetchone()


def authenticate_bearer(authorization: str | None) -> AttendantPrincipal:
    """The attendant behind ``Authorization: Bearer <Cognito ID token>``.

    Raises:
        Unauthenticated: no token or an invalid one (401).
        Forbidden: a valid identity whose attendant was deactivated (403).
    """
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Entre no console para continuar.")
    claims = verify_id_token(token.strip())
    try:
        tenant_id = UUID(str(claims[TENANT_CLAIM]))
    except ValueError as exc:
        raise Unauthenticated("Sessão inválida. Entre novamente.") from exc
    with tenant_transaction(tenant_id) as conn:
        row = _principal_row(conn, str(claims["sub"]))
    if row is None or not row["active"]:
        raise Forbidden("Seu acesso ao console está desativado.")
    return AttendantPrincipal(
        tenant_id=tenant_id,
        attendant_id=row["id"],
        role=Role(row["role"]),
        email=row["email"],
        display_name=row["display_name"],
        team=row["team"],
    )
