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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> tuple[int, dict[str, Any]]:
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


_GRAPH_PORTS: dict[Path, int] = {}


def _start(data_dir: Path, api_port: int, aws_port: int) -> subprocess.Popen[str]:
    graph_port, simulator_port = _free_port(), _free_port()
    _GRAPH_PORTS[data_dir] = graph_port
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
        "ATENDE_LOCAL_LIVE_PORT": str(_free_port()),
    }
    # Output goes to a file: a pipe nobody reads fills up (the access log
    # writes a line per request) and then blocks the whole stack.
    output = (data_dir / "stack-output.log").open("a")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "infra" / "local_stack.py")],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _OUTPUTS[proc.pid] = data_dir / "stack-output.log"
    return proc


_OUTPUTS: dict[int, Path] = {}


def _output(proc: subprocess.Popen[str]) -> str:
    return _OUTPUTS[proc.pid].read_text(errors="replace")


def _wait_healthy(proc: subprocess.Popen[str], api_port: int) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, _output(proc)
        if _port_open(api_port):
            status, body = _get_json(f"http://127.0.0.1:{api_port}/health")
            if status == 200:
                return body
        time.sleep(0.5)
    raise AssertionError("local stack did not become healthy")


def _upload_and_wait(api_port: int, data_dir: Path) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.documents_kit import contract_pdf

    api_key = json.loads((data_dir / "demo-tenant.json").read_text())["api_key"]
    request = urllib.request.Request(
        f"http://127.0.0.1:{api_port}/v1/documents",
        data=contract_pdf(),
        method="POST",
        headers={"X-API-Key": api_key, "Content-Type": "application/pdf"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 202
        document_id = json.loads(response.read())["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = urllib.request.Request(
            f"http://127.0.0.1:{api_port}/v1/documents/{document_id}",
            headers={"X-API-Key": api_key},
        )
        with urllib.request.urlopen(status, timeout=10) as response:  # noqa: S310
            job: dict[str, Any] = json.loads(response.read())
        if job["purged"]:
            return job
        time.sleep(0.5)
    raise AssertionError(f"document job did not finish: {job}")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    return _output(proc)


def test_local_stack_comes_up_healthy_and_stops_cleanly(tmp_path: Path) -> None:
    api_port, aws_port = _free_port(), _free_port()
    proc = _start(tmp_path, api_port, aws_port)
    try:
        body = _wait_healthy(proc, api_port)
        postmaster_pid = int(
            (tmp_path / "postgres" / "postmaster.pid").read_text().split()[0]
        )
        job = _upload_and_wait(api_port, tmp_path)
    finally:
        out = _stop(proc)
    assert body["status"] == "ok", body
    checks = body["checks"]
    assert isinstance(checks, dict) and checks["db"]["ok"] and checks["aws"]["ok"]
    assert proc.returncode == 0, out
    # The README's curl upload: the pipeline ran on moto and purged the PDF.
    assert job["status"] == "COMPLETED" and job["purged"], job
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


BOT_READY = (ROOT / ".venv-rasa" / "bin" / "rasa").exists() and (
    ROOT / "bot" / "models" / "atende.tar.gz"
).exists()


def _graph_sends(graph_url: str) -> list[dict[str, Any]]:
    """Message sends recorded by the Graph API stand-in, oldest first."""
    with urllib.request.urlopen(f"{graph_url}/_standin/requests", timeout=5) as r:  # noqa: S310
        recorded: list[dict[str, Any]] = json.loads(r.read())
    return [r for r in recorded if (r.get("body") or {}).get("type")]


def _wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:  # a busy server (Rasa loading) answering slowly
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.bot
@pytest.mark.skipif(not BOT_READY, reason="needs `make bot`")
def test_handoff_and_return_to_bot_with_the_real_rasa(tmp_path: Path) -> None:
    import psycopg

    sys.path.insert(0, str(ROOT))
    from infra.simulator import SimulatedCustomer, post_signed, text_payload

    api_port, aws_port = _free_port(), _free_port()
    proc = _start(tmp_path, api_port, aws_port)
    try:
        _wait_healthy(proc, api_port)
        api = f"http://127.0.0.1:{api_port}"
        graph_url = f"http://127.0.0.1:{_GRAPH_PORTS[tmp_path]}"
        _wait_for(
            lambda: _get_json(f"{api}/health")[1]["checks"]["bot"]["ok"],
            180,
            "Rasa to load its model",
        )
        customer = SimulatedCustomer()

        def say(text: str) -> None:
            payload = text_payload(
                text,
                customer,
                phone_number_id="106540352242922",
                display_phone_number="+55 11 4000-1234",
            )
            assert (
                post_signed(f"{api}/whatsapp/webhook", payload, "dev-app-secret") == 200
            )

        say("quero falar com um atendente")
        _wait_for(lambda: len(_graph_sends(graph_url)) >= 1, 60, "the handoff reply")
        reply = _graph_sends(graph_url)[-1]["body"]
        assert "equipe" in reply["text"]["body"]

        admin = f"postgresql://postgres@/atende?host={tmp_path / 'postgres'}"
        with psycopg.connect(admin) as conn:
            row = conn.execute("SELECT id, state FROM conversations").fetchone()
        assert row is not None and row[1] == "waiting_human"

        demo = json.loads((tmp_path / "demo-tenant.json").read_text())
        request = urllib.request.Request(  # noqa: S310
            f"{api}/v1/conversations/{row[0]}/return-to-bot",
            method="POST",
            headers={"X-API-Key": demo["api_key"]},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200

        before = len(_graph_sends(graph_url))
        say("oi, bom dia")
        _wait_for(lambda: len(_graph_sends(graph_url)) > before, 60, "the bot's answer")
        with psycopg.connect(admin) as conn:
            state = conn.execute(
                "SELECT state FROM conversations WHERE id = %s", (row[0],)
            ).fetchone()
        assert state == ("bot",)

        # LGPD erasure removes what the bot remembers of the customer.
        from atende import db, lgpd
        from atende.audit import Actor

        tracker = f"postgresql://atende_rasa@/rasa_tracker?host={tmp_path / 'postgres'}"
        with psycopg.connect(tracker) as conn:
            kept = conn.execute(
                "SELECT count(*) FROM events WHERE sender_id = %s", (str(row[0]),)
            ).fetchone()
        assert kept is not None and kept[0] > 0
        db.configure(f"postgresql://atende_app@/atende?host={tmp_path / 'postgres'}")
        try:
            with db.tenant_transaction(demo["tenant_id"]) as app_conn:
                owner = app_conn.execute(
                    "SELECT customer_id FROM conversations WHERE id = %s", (row[0],)
                ).fetchone()
                assert owner is not None
                erased = lgpd.erase_bot_memory(
                    app_conn,
                    customer_id=owner["customer_id"],
                    tracker_db_url=tracker,
                    actor=Actor("operator", "e2e"),
                )
        finally:
            db.close_pool()
        assert erased == kept[0]
        with psycopg.connect(tracker) as conn:
            left = conn.execute(
                "SELECT count(*) FROM events WHERE sender_id = %s", (str(row[0]),)
            ).fetchone()
        assert left == (0,)
    finally:
        _stop(proc)
