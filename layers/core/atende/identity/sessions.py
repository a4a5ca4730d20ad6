"""Signing in with Cognito: password, first-access new password, refresh."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from atende import aws
from atende.errors import (
    AtendeError,
    Conflict,
    InvalidInput,
    ServiceUnavailable,
    Unauthenticated,
)
from atende.identity.tokens import _pool

_BAD_CREDENTIALS = "E-mail ou senha incorretos."


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
