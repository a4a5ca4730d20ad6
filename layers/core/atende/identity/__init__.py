"""Attendants' identity: Cognito sign-in and ID tokens in, a principal out.

The user pool proves who someone is (its ID token, RS256, checked against the
pool's published keys) and which tenant they belong to (``custom:tenant_id``).
The ``attendants`` row decides what they may do: its role and ``active`` flag
take effect at once, without waiting for tokens to expire. Locally the pool is
moto's, which issues the same tokens and serves the same key set.
"""

# Queries below compose only fixed column lists and conditions; values are
# always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

import jwt
import psycopg
import requests
from botocore.exceptions import ClientError

from atende import aws
from atende.audit import Actor, RequestContext, record_event
from atende.config import get_settings
from atende.db import Connection, tenant_transaction
from atende.errors import (
    AtendeError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
)

__all__ = [
    "AttendantPrincipal",
    "NewPasswordRequired",
    "Role",
    "Session",
    "authenticate_bearer",
    "complete_new_password",
    "create_attendant",
    "list_attendants",
    "refresh_session",
    "sign_in",
    "update_attendant",
]

TENANT_CLAIM = "custom:tenant_id"
_JWKS_TTL_S = 3600.0


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    ATTENDANT = "attendant"


@dataclass(frozen=True)
class AttendantPrincipal:
    """A signed-in attendant of one tenant."""

    tenant_id: UUID
    attendant_id: UUID
    role: Role
    email: str
    display_name: str
    team: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor("attendant", str(self.attendant_id))

    @property
    def oversees(self) -> bool:
        """Supervisors and admins see and move every conversation."""
        return self.role in (Role.ADMIN, Role.SUPERVISOR)

    def require(self, *roles: Role) -> None:
        """Raises Forbidden unless the principal has one of ``roles``."""
        if self.role not in roles:
            raise Forbidden("Seu perfil não permite esta ação.")


@dataclass(frozen=True)
class Session:
    id_token: str
    expires_in: int
    # Lets the console renew the ID token (60 min) through a shift without a
    # new sign-in; Cognito caps its life (12 h in the template).
    refresh_token: str | None = None


class NewPasswordRequired(Conflict):
    """First sign-in with a temporary password: a new one must be chosen."""

    code = "SENHA_PROVISORIA"

    def __init__(self, session: str) -> None:
        super().__init__(
            "Defina uma nova senha para concluir o primeiro acesso.",
            session=session,
        )


class IdentityNotConfigured(ServiceUnavailable):
    code = "LOGIN_NAO_CONFIGURADO"


def _pool() -> tuple[str, str]:
    settings = get_settings()
    if not settings.cognito_user_pool_id or not settings.cognito_client_id:
        raise IdentityNotConfigured(message="O login do console não está configurado.")
    return settings.cognito_user_pool_id, settings.cognito_client_id


# -- tokens -------------------------------------------------------------------


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


# -- sign-in ------------------------------------------------------------------

_BAD_CREDENTIALS = "E-mail ou senha incorretos."


def _auth_error(error: ClientError) -> AtendeError:
    code = error.response.get("Error", {}).get("Code", "")
    if code in {"NotAuthorizedException", "UserNotFoundException"}:
        return Unauthenticated(_BAD_CREDENTIALS)
    if code == "InvalidParameterException":
        return InvalidInput("Dados de acesso inválidos. Confira e tente novamente.")
    if code in {"CodeMismatchException", "ExpiredCodeException"}:
        return Unauthenticated("O prazo para definir a senha acabou. Entre de novo.")
    if code == "InvalidPasswordException":
        return InvalidInput(
            "A nova senha não atende à política: use ao menos 12 caracteres, com"
            " letras maiúsculas, minúsculas, números e símbolos."
        )
    if code in {"TooManyRequestsException", "LimitExceededException"}:
        return ServiceUnavailable(
            message="Muitas tentativas. Aguarde e tente novamente."
        )
    return ServiceUnavailable(message="Não foi possível entrar agora. Tente novamente.")


def _session(result: dict[str, Any]) -> Session:
    tokens = result.get("AuthenticationResult")
    if not tokens:
        if result.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
            raise NewPasswordRequired(str(result["Session"]))
        raise Unauthenticated(_BAD_CREDENTIALS)
    return Session(
        id_token=tokens["IdToken"],
        expires_in=int(tokens["ExpiresIn"]),
        refresh_token=tokens.get("RefreshToken"),
    )


def sign_in(email: str, password: str) -> Session:
    """Exchange e-mail and password for an ID token (Cognito USER_PASSWORD_AUTH).

    Raises:
        Unauthenticated: wrong e-mail or password (one message for both).
        NewPasswordRequired: first access with a temporary password.
    """
    _pool_id, client_id = _pool()
    if not email.strip() or not password:
        raise InvalidInput("Informe e-mail e senha.")
    try:
        result = aws.client("cognito-idp").initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email.strip().lower(), "PASSWORD": password},
        )
    except ClientError as error:
        raise _auth_error(error) from error
    return _session(result)


def refresh_session(refresh_token: str) -> Session:
    """A new ID token from the refresh token of an earlier sign-in.

    Raises:
        Unauthenticated: the refresh token expired, was revoked or is unknown.
    """
    _pool_id, client_id = _pool()
    if not refresh_token:
        raise Unauthenticated("Sua sessão expirou. Entre novamente.")
    try:
        result = aws.client("cognito-idp").initiate_auth(
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NotAuthorizedException":
            raise Unauthenticated("Sua sessão expirou. Entre novamente.") from error
        raise _auth_error(error) from error
    return _session(result)


def complete_new_password(email: str, session: str, new_password: str) -> Session:
    """Answer Cognito's NEW_PASSWORD_REQUIRED challenge."""
    _pool_id, client_id = _pool()
    if not new_password:
        raise InvalidInput("Informe a nova senha.")
    try:
        result = aws.client("cognito-idp").respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=session,
            ChallengeResponses={
                "USERNAME": email.strip().lower(),
                "NEW_PASSWORD": new_password,
            },
        )
    except ClientError as error:
        raise _auth_error(error) from error
    return _session(result)


# -- managing attendants (admins) ------------------------------------------------

_ATTENDANT_COLUMNS = "id, email, display_name, role, team, active, created_at"


def _attendant_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "email": row["email"],
        "display_name": row["display_name"],
        "role": row["role"],
        "team": row["team"],
        "active": row["active"],
    }


def _clean_team(team: str | None) -> str | None:
    if team is None or not team.strip():
        return None
    if len(team.strip()) > 60:
        raise InvalidInput("O nome da equipe deve ter até 60 caracteres.")
    return team.strip()


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise InvalidInput(
            "Perfil inválido: use admin, supervisor ou attendant."
        ) from exc


def list_attendants(principal: AttendantPrincipal) -> list[dict[str, Any]]:
    """The tenant's attendants (everyone signed in may list them: transfers)."""
    with tenant_transaction(principal.tenant_id) as conn:
        rows = conn.execute(
            f"SELECT {_ATTENDANT_COLUMNS} FROM attendants ORDER BY display_name"
        ).fetchall()
    return [_attendant_view(r) for r in rows]


def create_attendant(
    tenant_id: UUID,
    *,
    email: str,
    display_name: str,
    role: str,
    team: str | None = None,
    context: RequestContext,
    password: str | None = None,
) -> dict[str, Any]:
    """Create the pool user and the attendant row; audited.

    Without ``password`` Cognito e-mails a temporary one (first sign-in then
    asks for a new one); with it (local demo users) the password is permanent.

    Raises:
        InvalidInput: bad e-mail, name, role or team.
        Conflict: the e-mail is already an attendant of some tenant.
    """
    pool_id, _client_id = _pool()
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise InvalidInput("Informe um e-mail válido.")
    if not display_name.strip() or len(display_name) > 120:
        raise InvalidInput("Informe o nome do atendente (até 120 caracteres).")
    checked_role, checked_team = _role(role), _clean_team(team)
    cognito = aws.client("cognito-idp")
    try:
        user = cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": TENANT_CLAIM, "Value": str(tenant_id)},
            ],
            **({"MessageAction": "SUPPRESS"} if password else {}),
        )["User"]
        if password:
            cognito.admin_set_user_password(
                UserPoolId=pool_id, Username=email, Password=password, Permanent=True
            )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "UsernameExistsException":
            raise Conflict("Já existe um acesso com este e-mail.") from error
        raise _auth_error(error) from error
    sub = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
    try:
        return _insert_attendant(
            tenant_id,
            email,
            display_name.strip(),
            checked_role,
            checked_team,
            sub,
            context,
        )
    except Exception as error:
        # No pool user without its attendant: a retry must not find a
        # half-made invitation ("e-mail already in use", then 403 forever).
        cognito.admin_delete_user(UserPoolId=pool_id, Username=email)
        if isinstance(error, psycopg.errors.UniqueViolation):
            raise Conflict("Já existe um atendente com este e-mail.") from error
        raise


def _insert_attendant(
    tenant_id: UUID,
    email: str,
    display_name: str,
    role: Role,
    team: str | None,
    sub: str,
    context: RequestContext,
) -> dict[str, Any]:
    with tenant_transaction(tenant_id) as conn:
        row = conn.execute(
            "INSERT INTO attendants (tenant_id, email, display_name, role, team,"
            " identity_sub) VALUES (current_tenant_id(), %s, %s, %s, %s, %s)"
            f" RETURNING {_ATTENDANT_COLUMNS}",
            (email, display_name, role.value, team, sub),
        ).fetchone()
        assert row is not None
        record_event(
            conn,
            action="ATTENDANT_CREATED",
            subject_type="attendant",
            subject_id=str(row["id"]),
            context=context,
            details={"role": role.value},
        )
    return _attendant_view(row)


def update_attendant(
    principal: AttendantPrincipal,
    attendant_id: UUID,
    *,
    role: str | None = None,
    team: str | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    """Change an attendant's role, team or access (admins); audited.

    Raises:
        Forbidden: not an admin, or an admin removing their own admin access.
        NotFound: no such attendant in this tenant.
    """
    principal.require(Role.ADMIN)
    if attendant_id == principal.attendant_id and (
        active is False or (role is not None and role != Role.ADMIN)
    ):
        raise Forbidden("Você não pode remover o seu próprio acesso de admin.")
    changes: dict[str, Any] = {}
    if role is not None:
        changes["role"] = _role(role).value
    if team is not None:
        changes["team"] = _clean_team(team)
    if active is not None:
        changes["active"] = bool(active)
    if not changes:
        raise InvalidInput("Nada para alterar: informe role, team ou active.")
    assignments = ", ".join(f"{name} = %({name})s" for name in changes)
    with tenant_transaction(principal.tenant_id) as conn:
        row = conn.execute(
            f"UPDATE attendants SET {assignments} WHERE id = %(id)s"
            f" RETURNING {_ATTENDANT_COLUMNS}",
            {**changes, "id": attendant_id},
        ).fetchone()
        if row is None:
            raise NotFound("Atendente não encontrado.")
        record_event(
            conn,
            action="ATTENDANT_UPDATED",
            subject_type="attendant",
            subject_id=str(attendant_id),
            context=RequestContext(principal.actor),
            details={k: v for k, v in changes.items() if k != "team"},
        )
    return _attendant_view(row)
