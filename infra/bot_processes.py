"""The Rasa server and the action server, as child processes of `make run`.

Each gets only its own secrets from the environment (docs/security.md): Rasa
its JWT secret (RASA_JWT_SECRET) and the action server's token
(ACTION_SERVER_TOKEN), the action server that token and the key that verifies
the worker's tenant signature (ACTION_SIGNING_KEY), which Rasa never sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOT_DIR = ROOT / "bot"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
MODEL = BOT_DIR / "models" / "atende.tar.gz"
# Only the action server may verify (or forge) the worker's tenant signature;
# only Rasa's callers may mint its JWTs.
RASA_HIDDEN = ("ACTION_SIGNING_KEY", "ACTION_SIGNING_KEY_SECRET_ARN")
ACTIONS_HIDDEN = ("RASA_JWT_SECRET", "RASA_JWT_SECRET_ARN")


class BotProcesses:
    """Starts Rasa (REST channel, tracker store in PostgreSQL) and rasa-sdk."""

    def __init__(
        self,
        *,
        rasa_port: int,
        actions_port: int,
        tracker_url: str,
        app_env: dict[str, str],
        niceness: int = 0,
    ) -> None:
        self.niceness = niceness
        self.rasa_port = rasa_port
        self.actions_port = actions_port
        self._tracker_url = tracker_url
        self._app_env = app_env
        self._children: list[subprocess.Popen[bytes]] = []

    @staticmethod
    def available() -> bool:
        return RASA.exists() and MODEL.exists()

    def start(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        quiet = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
        actions_env = {
            **{k: v for k, v in os.environ.items() if k not in ACTIONS_HIDDEN},
            **self._app_env,
            **quiet,
            "SANIC_HOST": "127.0.0.1",  # rasa-sdk binds 0.0.0.0 otherwise
            # The actions (and the plugin that checks Rasa's token) with the
            # atende of this checkout, not of whichever one is installed.
            "PYTHONPATH": os.pathsep.join(
                (str(BOT_DIR), str(ROOT / "layers" / "core"))
            ),
        }
        self._spawn(
            [
                sys.executable,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(self.actions_port),
            ],
            actions_env,
            log_dir / "actions.log",
        )
        # This run's ports and tracker store; bot/endpoints.yml keeps the
        # defaults that `rasa shell` or `rasa test` use by hand. Rasa reads
        # the token from its environment (an unquoted ${VAR}), not this file.
        endpoints = log_dir / "rasa-endpoints.yml"
        endpoints.write_text(
            "action_endpoint:\n"
            f'  url: "http://127.0.0.1:{self.actions_port}/webhook"\n'
            "  headers:\n"
            "    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n"
            "tracker_store:\n"
            "  type: SQL\n"
            "  dialect: postgresql\n"
            f'  url: "{self._tracker_url}"\n'
        )
        rasa_env = {
            **{k: v for k, v in os.environ.items() if k not in RASA_HIDDEN},
            **quiet,
        }
        self._spawn(
            [
                # `rasa run` with the JWT check on (bot/rasa_auth.py).
                str(RASA_PYTHON),
                "rasa_auth.py",
                "run",
                "--enable-api",
                "-i",
                "127.0.0.1",
                "--port",
                str(self.rasa_port),
                "-m",
                str(MODEL),
                "--endpoints",
                str(endpoints),
                "--credentials",
                "credentials.yml",
            ],
            rasa_env,
            log_dir / "rasa.log",
        )

    def _spawn(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        with log.open("ab") as out:
            self._children.append(
                subprocess.Popen(  # noqa: S603 - fixed argv of our own tools
                    ["nice", "-n", str(self.niceness), *argv]
                    if self.niceness
                    else argv,
                    cwd=BOT_DIR,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )

    def stop(self) -> None:
        for child in self._children:
            child.terminate()
        for child in self._children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._children.clear()
