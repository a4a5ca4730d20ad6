"""Rasa answers only callers holding a JWT signed with RASA_JWT_SECRET.

Runs in Rasa's environment (.venv-rasa, the Rasa image), loaded by Rasa from its
working directory, bot/:

- ``python rasa_auth.py run …`` starts ``rasa run`` with the HTTP API's JWT
  check on (``--jwt-secret``, HS256) without the secret on the command line.
- ``AuthenticatedRestInput`` (credentials.yml) is Rasa's REST channel, same URL
  (/webhooks/rest/webhook), but it applies the HTTP API's rule, which Rasa's
  own REST channel does not: a JWT whose ``user`` is ``admin``, or ``user``
  with the message's sender as ``username``.

JWT rather than Rasa's ``--auth-token``: that token travels in the URL
(``?token=``, where access logs keep it) and never expires; ours go in a
header, live a minute and each opens one conversation (atende.bot.signing).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import jwt
from rasa.core.channels.rest import RestInput
from sanic.exceptions import SanicException
from sanic.request import Request

MIN_SECRET_LENGTH = 32


class _Refused(SanicException):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason, status_code=status)


def _secret() -> str:
    secret = os.environ.get("RASA_JWT_SECRET", "")
    if len(secret) < MIN_SECRET_LENGTH:
        raise SystemExit(
            f"rasa_auth: set RASA_JWT_SECRET (at least {MIN_SECRET_LENGTH} chars)"
        )
    return secret


class AuthenticatedRestInput(RestInput):
    """The REST channel for callers with a valid JWT for the sender."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    @classmethod
    def from_credentials(
        cls, credentials: dict[str, Any] | None
    ) -> AuthenticatedRestInput:
        return cls(_secret())

    async def _extract_sender(self, req: Request) -> str | None:
        sender = await super()._extract_sender(req)
        header = req.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        try:
            if scheme != "Bearer":
                raise jwt.InvalidTokenError("no bearer token")
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], options={"require": ["exp"]}
            )
        except jwt.InvalidTokenError:
            raise _Refused(401, "User is not authenticated.") from None
        user = claims.get("user") or {}
        if user.get("role") == "admin" or (
            user.get("role") == "user" and user.get("username") == sender
        ):
            return sender
        raise _Refused(403, "User has insufficient permissions.")


def main() -> None:
    """``rasa`` with its arguments, and for ``run`` the JWT check on."""
    if sys.argv[1:2] == ["run"]:
        sys.argv += ["--jwt-secret", _secret(), "--jwt-method", "HS256"]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
