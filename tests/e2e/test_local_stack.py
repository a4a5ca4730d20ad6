"""`make run`'s entry point as a user starts it: up, healthy, and cleanly stopped."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from infra.simulator import mark_read
from infra.stack_harness import (
    APP_SECRET,
    DISPLAY_PHONE_NUMBER,
    PHONE_NUMBER_ID,
    LocalStack,
    get_json,
    port_open,
    wait_for,
)

pytestmark = pytest.mark.e2e


def _upload_and_wait(api_port: int, data_dir: Path) -> dict[str, Any]:
    from tests.support.documents import contract_pdf

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


def _process_gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_local_stack_comes_up_healthy_and_stops_cleanly(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path).start()
    api_port, aws_port = stack.ports["api"], stack.ports["aws"]
    try:
        body = stack.wait_healthy()
        live = get_json(f"{stack.api}/health")
        postmaster_pid = int(
            (tmp_path / "postgres" / "postmaster.pid").read_text().split()[0]
        )
        role_pids = [
            stack.role_pid(role) for role in ("aws", "api", "worker", "sweeper")
        ]
        job = _upload_and_wait(api_port, tmp_path)
    finally:
        out = stack.stop()
    # Rasa may still be loading its model: not required, named when down.
    assert body in (
        {"status": "ready", "failing": []},
        {"status": "degraded", "failing": ["bot"]},
    ), body
    assert live[0] == 200 and live[1]["status"] in ("ok", "degraded"), live
    assert stack.process is not None and stack.process.returncode == 0, out
    # The README's curl upload: the pipeline ran on moto and purged the PDF.
    assert job["status"] == "COMPLETED" and job["purged"], job
    demo = json.loads((tmp_path / "demo-tenant.json").read_text())
    assert demo["api_key"] in out and "Loja Exemplo" in out
    assert (tmp_path / "demo-tenant.json").stat().st_mode & 0o077 == 0
    # Nothing is left running: API, moto, worker and PostgreSQL are all gone.
    assert not port_open(api_port) and not port_open(aws_port)
    assert _process_gone(postmaster_pid, within_s=10)
    assert all(_process_gone(pid, within_s=10) for pid in role_pids)

    # Data survives a restart: the same demo tenant and key come back.
    stack.start()
    try:
        stack.wait_healthy()
    finally:
        out = stack.stop()
    assert demo["api_key"] in out and demo["tenant_id"] in out


@pytest.mark.bot
def test_handoff_and_return_to_bot_with_the_real_rasa(bot_stack: LocalStack) -> None:
    import psycopg

    from infra.simulator import SimulatedCustomer, post_signed, text_payload

    api = bot_stack.api
    customer = SimulatedCustomer(
        user_id="BR.4400000000000001", phone="5511944000001", name="Rui Retorno"
    )

    def say(text: str) -> None:
        payload = text_payload(
            text,
            customer,
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number=DISPLAY_PHONE_NUMBER,
        )
        assert post_signed(bot_stack.webhook, payload, APP_SECRET) == 200

    def sent_to_customer() -> list[dict[str, Any]]:
        return [
            s["body"]
            for s in bot_stack.graph_sends()
            if s["body"].get("to") == customer.phone
        ]

    def last_text() -> str:
        return str(sent_to_customer()[-1]["text"]["body"])

    say("quero falar com um atendente")
    wait_for(lambda: len(sent_to_customer()) >= 1, 60, "the handoff reply")
    assert "equipe" in last_text()

    # Waiting for a person: never silence, and LGPD requests still answered.
    say("quero falar com um atendente")
    wait_for(lambda: len(sent_to_customer()) >= 2, 60, "the queue reply")
    assert last_text().startswith("Você já está na fila"), last_text()
    say("quais dados vocês têm sobre mim?")
    wait_for(lambda: len(sent_to_customer()) >= 4, 60, "the access links")
    assert "Enviei acima os links dos seus dados" in last_text(), last_text()

    admin = bot_stack.database_url()
    with psycopg.connect(admin) as conn:
        row = conn.execute(
            "SELECT v.id, v.state FROM conversations v JOIN customers c"
            " ON c.id = v.customer_id WHERE c.wa_user_id = %s",
            (customer.user_id,),
        ).fetchone()
    assert row is not None and row[1] == "waiting_human"

    # The Graph stand-in reports delivery as Meta does (a newcomer only ever
    # saw "Enviada"): the reply is marked delivered, and read once shown.
    def reply_status() -> str | None:
        with psycopg.connect(admin) as conn:
            found = conn.execute(
                "SELECT m.status FROM messages m WHERE m.conversation_id = %s"
                " AND m.direction = 'outbound' ORDER BY m.created_at DESC LIMIT 1",
                (row[0],),
            ).fetchone()
        return found[0] if found else None

    wait_for(lambda: reply_status() == "delivered", 30, "the delivered status")
    shown = [s["wamid"] for s in bot_stack.graph_sends() if s.get("wamid")]
    mark_read(bot_stack.graph, shown)
    wait_for(lambda: reply_status() == "read", 30, "the read status")

    demo = bot_stack.demo
    request = urllib.request.Request(  # noqa: S310
        f"{api}/v1/conversations/{row[0]}/return-to-bot",
        method="POST",
        headers={"X-API-Key": demo["api_key"]},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200

    wait_for(lambda: len(sent_to_customer()) >= 5, 60, "the return notice")
    assert last_text().startswith("O atendimento com a nossa equipe terminou")
    before = len(sent_to_customer())
    say("oi, bom dia")
    wait_for(lambda: len(sent_to_customer()) > before, 60, "the bot's answer")
    with psycopg.connect(admin) as conn:
        state = conn.execute(
            "SELECT state FROM conversations WHERE id = %s", (row[0],)
        ).fetchone()
    assert state == ("bot",)

    # LGPD erasure removes what the bot remembers of the customer.
    from atende import db, lgpd
    from atende.audit import Actor, RequestContext

    tracker = bot_stack.database_url("atende_rasa", "rasa_tracker")
    with psycopg.connect(tracker) as conn:
        kept = conn.execute(
            "SELECT count(*) FROM events WHERE sender_id = %s", (str(row[0]),)
        ).fetchone()
    assert kept is not None and kept[0] > 0
    db.configure(bot_stack.database_url("atende_app"))
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
                context=RequestContext(Actor("operator", "e2e")),
            )
    finally:
        db.close_pool()
    assert erased == kept[0]
    with psycopg.connect(tracker) as conn:
        left = conn.execute(
            "SELECT count(*) FROM events WHERE sender_id = %s", (str(row[0]),)
        ).fetchone()
    assert left == (0,)
