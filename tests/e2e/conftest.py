"""One `make run` stack, Rasa loaded, shared by the end-to-end tests that need
the bot (the console in chromium, the handoff round trip, the soak): starting
one takes a minute. Each test uses customers of its own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.stack_harness import LocalStack

ROOT = Path(__file__).resolve().parents[2]
BOT_READY = (ROOT / ".venv-rasa" / "bin" / "rasa").exists() and (
    ROOT / "bot" / "models" / "atende.tar.gz"
).exists()


@pytest.fixture(scope="session")
def bot_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    if not BOT_READY:
        pytest.skip("needs `make bot`")
    # The bot's secrets, known to the tests (make run generates its own).
    bot_secrets = {
        name: secrets.token_urlsafe(32)
        for name in ("RASA_JWT_SECRET", "ACTION_SIGNING_KEY", "ACTION_SERVER_TOKEN")
    }
    stack = LocalStack(tmp_path_factory.mktemp("stack")).start(extra_env=bot_secrets)
    try:
        stack.wait_healthy(bot=True)
        yield stack
    finally:
        stack.stop()
