"""One `make run` stack, Rasa loaded, shared by the end-to-end tests that need
the bot (the console in chromium, the handoff round trip, the soak): starting
one takes a minute. Each test uses customers of its own."""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.stack_harness import LocalStack

ROOT = Path(__file__).resolve().parents[2]
BOT_READY = (ROOT / ".venv-rasa" / "bin" / "rasa").exists() and (
    ROOT / "bot" / "models" / "atende.tar.gz"
).exists()


# Package scope: the stack stops after the last end-to-end test instead of
# idling through the rest of the session.
@pytest.fixture(scope="package")
def bot_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    if not BOT_READY:
        pytest.skip("needs `make bot`")
    # The bot's secrets, known to the tests (make run generates its own).
    bot_secrets = {
        name: secrets.token_urlsafe(32)
        for name in ("RASA_JWT_SECRET", "ACTION_SIGNING_KEY", "ACTION_SERVER_TOKEN")
    }
    stack = _ready_stack(tmp_path_factory, bot_secrets)
    try:
        yield stack
    finally:
        stack.stop()


def _ready_stack(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]
) -> LocalStack:
    """A stack with Rasa loaded. A start that doesn't get ready (a slow,
    shared CI machine) is retried once on new ports, with its logs reported
    as a warning, so one bad start doesn't fail every end-to-end test."""
    try:
        return _started(tmp_path_factory, env)
    except (TimeoutError, RuntimeError) as first:
        warnings.warn(
            f"the local stack did not get ready; retrying once: {first}",
            stacklevel=1,
        )
        return _started(tmp_path_factory, env)


def _started(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]
) -> LocalStack:
    stack = LocalStack(tmp_path_factory.mktemp("stack")).start(extra_env=env)
    try:
        stack.wait_healthy(bot=True)
    except BaseException:
        stack.stop()
        raise
    return stack
