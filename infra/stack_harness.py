"""`make run`'s stack as a child process, for the end-to-end tests and benchmarks.

Starts ``infra/local_stack.py`` on free ports in a data folder of its own, waits
until it is healthy (and, if asked, until Rasa has loaded its model), and
gives what a client needs: URLs, the demo tenant, database URLs, the PIDs of
its role processes. Stopping it is Ctrl-C, as a user does.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP_SECRET = "dev-app-secret"  # noqa: S105 - local_stack.py's dev secret
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE_NUMBER = "+55 11 4000-1234"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def get_json(url: str, timeout_s: float = 5) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:  # a busy server (Rasa loading) answering slowly
            pass
        time.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


@dataclass
class LocalStack:
    """One running local stack (see the module docstring)."""

    data_dir: Path
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def graph(self) -> str:
        return f"http://127.0.0.1:{self.ports['graph']}"

    @property
    def aws_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['aws']}"

    @property
    def webhook(self) -> str:
        return f"{self.api}/whatsapp/webhook"

    @property
    def demo(self) -> dict[str, str]:
        demo: dict[str, str] = json.loads(
            (self.data_dir / "demo-tenant.json").read_text()
        )
        return demo

    def database_url(self, user: str = "postgres", dbname: str = "atende") -> str:
        """``postgres`` is the embedded superuser (bypasses RLS)."""
        return f"postgresql://{user}@/{dbname}?host={self.data_dir / 'postgres'}"

    def graph_sends(self) -> list[dict[str, Any]]:
        """Message sends the Graph API stand-in recorded, oldest first."""
        _status, recorded = get_json(f"{self.graph}/_standin/requests", 30)
        return [r for r in recorded if (r.get("body") or {}).get("type")]

    def output(self) -> str:
        return (self.data_dir / "stack-output.log").read_text(errors="replace")

    def start(self, *, extra_env: dict[str, str] | None = None) -> LocalStack:
        self.ports = self.ports or {
            name: free_port()
            for name in ("api", "aws", "graph", "simulator", "rasa", "actions", "live")
        }
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("ATENDE_", "AWS_", "DATABASE_"))
            },
            "ATENDE_ENV": "local",
            "ATENDE_DATA_DIR": str(self.data_dir),
            "ATENDE_API_PORT": str(self.ports["api"]),
            "ATENDE_LOCAL_AWS_PORT": str(self.ports["aws"]),
            "ATENDE_LOCAL_GRAPH_PORT": str(self.ports["graph"]),
            "ATENDE_SIMULATOR_PORT": str(self.ports["simulator"]),
            "ATENDE_LOCAL_RASA_PORT": str(self.ports["rasa"]),
            "ATENDE_LOCAL_ACTIONS_PORT": str(self.ports["actions"]),
            "ATENDE_LOCAL_LIVE_PORT": str(self.ports["live"]),
            **(extra_env or {}),
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Output goes to a file: a pipe nobody reads fills up and then blocks
        # the whole stack.
        output = (self.data_dir / "stack-output.log").open("a")
        self.process = subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, str(ROOT / "infra" / "local_stack.py")],
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self

    def wait_healthy(self, *, bot: bool = False, timeout_s: float = 120) -> Any:
        """The readiness answer once the API is ready (and Rasa answers, if
        ``bot``: readiness doesn't say, so Rasa is asked directly)."""
        found: dict[str, Any] = {}

        def healthy() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited:\n{self.output()[-4000:]}")
            if not port_open(self.ports["api"]):
                return False
            status, body = get_json(f"{self.api}/health/ready")
            found["body"] = body
            return status == 200 and (not bot or self._rasa_answers())

        try:
            wait_for(healthy, timeout_s + (180 if bot else 0), "the local stack")
        except TimeoutError as error:
            # Say why: what readiness last answered, whether Rasa did, and
            # the end of every log, so a CI failure can be read without a rerun.
            rasa = "yes" if self._rasa_answers() else "no"
            raise TimeoutError(
                f"{error}; last readiness answer: {found.get('body')!r};"
                f" Rasa answers: {rasa}\n{self.log_tails()}"
            ) from error
        return found["body"]

    def log_tails(self, lines: int = 25) -> str:
        """The last lines of the stack's output and of each role's log."""
        logs = [self.data_dir / "stack-output.log"]
        logs += sorted((self.data_dir / "logs").glob("*.log"))
        tails = []
        for log in logs:
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                tails.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(tails)

    def _rasa_answers(self) -> bool:
        url = f"http://127.0.0.1:{self.ports['rasa']}/"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return bool(response.status == 200)
        except urllib.error.URLError:
            return False

    def role_pid(self, role: str) -> int:
        """PID of one of the stack's role processes (``aws``, ``api``, ``worker``)."""
        out = subprocess.run(  # noqa: S603
            ["/usr/bin/pgrep", "-f", f"stack_roles.py {role}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        assert self.process is not None
        for pid in out:
            if _parent_of(int(pid)) == self.process.pid:
                return int(pid)
        raise LookupError(f"no {role} process")

    def rasa_pid(self) -> int:
        port = f"--port {self.ports['rasa']}"
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            try:
                cmdline = (Path("/proc") / pid / "cmdline").read_bytes()
            except OSError:
                continue
            text = cmdline.replace(b"\0", b" ").decode(errors="replace")
            if " run --enable-api" in text and port in text:
                return int(pid)
        raise LookupError("no rasa process")

    def stop(self) -> str:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()


def _parent_of(pid: int) -> int:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])
