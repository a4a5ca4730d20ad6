"""The action server answers only Rasa: every request but the health check
carries ``Authorization: Bearer <ACTION_SERVER_TOKEN>``, which Rasa sends
(the action endpoint's ``headers`` in its endpoints file).

rasa-sdk has no such option; it imports this package at start when it is on the
path (``rasa_sdk.plugin``), as bot/ is, and lets it attach middleware. Without
a token the server does not start.
"""

from __future__ import annotations

import hmac

import pluggy
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from atende.bot.signing import MIN_KEY_LENGTH
from atende.config import get_settings

hookimpl = pluggy.HookimplMarker("rasa_sdk")
OPEN_PATHS = frozenset({"/health"})


class BearerToken:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        secret = get_settings().action_server_token
        token = secret.get_secret_value() if secret else ""
        if len(token) < MIN_KEY_LENGTH:
            raise SystemExit(
                f"set ACTION_SERVER_TOKEN (at least {MIN_KEY_LENGTH} characters)"
            )
        expected = f"Bearer {token}".encode()

        async def authenticate(request: Request) -> HTTPResponse | None:
            if request.path in OPEN_PATHS:
                return None
            given = request.headers.get("Authorization", "").encode()
            if hmac.compare_digest(given, expected):
                return None
            return response.json({"error": "Não autenticado."}, status=401)

        app.register_middleware(authenticate, "request")


def init_hooks(manager: pluggy.PluginManager) -> None:
    """Called by rasa-sdk's plugin manager."""
    manager.register(BearerToken())
