"""`make run`'s entry point as a user starts it: up, healthy, and cleanly stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _process_gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def _start(data_dir: Path, api_port: int, aws_port: int) -> subprocess.Popen[str]:
    graph_port, simulator_port = _free_port(), _free_port()
    env = {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("ATENDE_", "AWS_"))
        },
        "ATENDE_ENV": "local",
        "ATENDE_DATA_DIR": str(data_dir),
        "ATENDE_API_PORT": str(api_port),
        "ATENDE_LOCAL_AWS_PORT": str(aws_port),
        "ATENDE_LOCAL_GRAPH_PORT": str(graph_port),
        "ATENDE_SIMULATOR_PORT": str(simulator_port),
        "ATENDE_LOCAL_RASA_PORT": str(_free_port()),
        "ATENDE_LOCAL_ACTIONS_PORT": str(_free_port()),
    }
    return subprocess.Popen(
        [sys.executable, str(ROOT / "infra" / "local_stack.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_healthy(proc: subprocess.Popen[str], api_port: int) -> dict[str, object]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        if _port_open(api_port):
            status, body = _get_json(f"http://127.0.0.1:{api_port}/health")
            if status == 200:
                return body
        time.sleep(0.5)
    raise AssertionError("local stack did not become healthy")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    return out


def test_local_stack_comes_up_healthy_and_stops_cleanly(tmp_path: Path) -> None:
    api_port, aws_port = _free_port(), _free_port()
    proc = _start(tmp_path, api_port, aws_port)
    try:
        body = _wait_healthy(proc, api_port)
        postmaster_pid = int(
            (tmp_path / "postgres" / "postmaster.pid").read_text().split()[0]
        )
    finally:
        out = _stop(proc)
    assert body["status"] == "ok", body
    checks = body["checks"]
    assert isinstance(checks, dict) and checks["db"]["ok"] and checks["aws"]["ok"]
    assert proc.returncode == 0, out
    demo = json.loads((tmp_path / "demo-tenant.json").read_text())
    assert demo["api_key"] in out and "Loja Exemplo" in out
    assert (tmp_path / "demo-tenant.json").stat().st_mode & 0o077 == 0
    # Nothing is left running: API, moto and PostgreSQL are all gone.
    assert not _port_open(api_port) and not _port_open(aws_port)
    assert _process_gone(postmaster_pid, within_s=10)

    # Data survives a restart: the same demo tenant and key come back.
    proc = _start(tmp_path, api_port, aws_port)
    try:
        _wait_healthy(proc, api_port)
    finally:
        out = _stop(proc)
    assert demo["api_key"] in out and demo["tenant_id"] in out
