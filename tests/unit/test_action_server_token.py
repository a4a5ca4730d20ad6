"""The action server's token check (bot/rasa_sdk_plugins), as rasa-sdk attaches
it at start; the real server refusing callers is in tests/e2e/test_bot_trust.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from types import SimpleNamespace
from typing import Any

import pytest
from rasa_sdk.plugin import plugin_manager

from atende.config import get_settings

TOKEN = "action-server-token-for-unit-tests-0123456789"
Middleware = Callable[[Any], Coroutine[Any, Any, Any]]


class App:
    """What the plugin touches of rasa-sdk's Sanic app."""

    def __init__(self) -> None:
        self.middleware: list[tuple[Middleware, str]] = []

    def register_middleware(self, function: Middleware, attach_to: str) -> None:
        self.middleware.append((function, attach_to))


def _attach(monkeypatch: pytest.MonkeyPatch, token: str | None) -> App:
    if token is None:
        monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    else:
        monkeypatch.setenv("ACTION_SERVER_TOKEN", token)
    get_settings.cache_clear()
    app = App()
    # As rasa_sdk.endpoint.run does, through the plugin the package registers.
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    get_settings.cache_clear()
    return app


def _status(app: App, path: str, authorization: str | None) -> int:
    [(check, attach_to)] = app.middleware
    assert attach_to == "request"
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = asyncio.run(check(SimpleNamespace(path=path, headers=headers)))
    return 200 if answer is None else int(answer.status)


def test_only_rasa_s_token_gets_past_the_health_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _attach(monkeypatch, TOKEN)
    assert _status(app, "/webhook", f"Bearer {TOKEN}") == 200
    assert _status(app, "/actions", f"Bearer {TOKEN}") == 200
    assert _status(app, "/webhook", None) == 401
    assert _status(app, "/webhook", f"Bearer {TOKEN[:-1]}") == 401
    assert _status(app, "/webhook", TOKEN) == 401
    assert _status(app, "/actions", "Bearer x") == 401
    assert _status(app, "/health", None) == 200


@pytest.mark.parametrize("token", [None, "", "SET-ME"])
def test_without_a_real_token_the_server_does_not_start(
    monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    with pytest.raises(SystemExit, match="ACTION_SERVER_TOKEN"):
        _attach(monkeypatch, token)
