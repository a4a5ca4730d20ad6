"""Test kit for the WhatsApp channel: a provisioned tenant with a business number,
moto's SQS FIFO queue, the Graph API stand-in, and a Rasa REST stand-in.

Rasa is answered through ``httpx.MockTransport`` with the REST channel's real
wire shape; the real Rasa server is exercised by the bot's own tests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import jwt
import pytest

from atende import aws, composition, db, tenancy
from atende.bot import RasaClient
from atende.config import get_settings
from atende.conversations.engine import ConversationEngine, EngineConfig
from atende.db.embedded import EmbeddedDatabase
from atende.whatsapp.graph import GraphClient
from atende.whatsapp.webhook import sign
from infra.graph_standin import GraphStandIn
from infra.handlers import load_handler
from infra.lambda_runtime import LocalContext, sqs_event_record
from infra.simulator import SimulatedCustomer, status_payload, text_payload

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "whatsapp"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"  # the number's WhatsApp Business Account
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
# The bot's secrets in tests: Rasa's JWT secret, the worker's tenant-signing key.
RASA_JWT_SECRET = "test-rasa-jwt-secret-0123456789abcdef"
ACTION_SIGNING_KEY = "test-action-signing-key-0123456789abcdef"


WORKER = load_handler("functions/conversation_worker/handler.py")
QUEUE_ARN = "arn:aws:sqs:sa-east-1:123456789012:conversations.fifo"


def run_worker(messages: list[dict[str, Any]]) -> set[str]:
    """One invocation of the real worker handler on ``messages`` (received with
    ``AttributeNames=["All"]``); returns the ids it reported as failed."""
    records = [sqs_event_record(m, QUEUE_ARN) for m in messages]
    result = WORKER.handler({"Records": records}, LocalContext("worker"))
    return {f["itemIdentifier"] for f in result["batchItemFailures"]}


def api_app() -> Any:
    """The real Chalice app (functions/api/app.py; on the path by pytest's
    ``pythonpath``)."""
    from app import app

    return app


def post_webhook(body: bytes, signature: str | None) -> Any:
    """``POST /whatsapp/webhook`` on the real Chalice app, in process."""
    from chalice.test import Client

    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    with Client(api_app()) as client:
        return client.http.post("/whatsapp/webhook", headers=headers, body=body)


def drain(ch: Channel, rounds: int = 10) -> int:
    """Feed the queue to the real worker handler, as Lambda's event source does:
    done records are deleted, failed ones come back at once."""
    sqs = aws.client("sqs")
    handled = 0
    for _ in range(rounds):
        messages = sqs.receive_message(
            QueueUrl=ch.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        failed = run_worker(messages)
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(
                    QueueUrl=ch.queue_url, ReceiptHandle=m["ReceiptHandle"]
                )
                handled += 1
            else:
                sqs.change_message_visibility(
                    QueueUrl=ch.queue_url,
                    ReceiptHandle=m["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
    return handled


def fixture(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return payload


def text_update(
    text: str,
    *,
    wamid: str,
    user_id: str | None = "BR.1502576394655843",
    phone: str | None = "5511987654321",
    username: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A ``messages`` webhook for one text, as the simulator (and Meta) sends it."""
    return text_payload(
        text,
        SimulatedCustomer(user_id=user_id, phone=phone, username=username),
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number="551140001234",
        wamid=wamid,
        timestamp=int((at or datetime.now(UTC)).timestamp()),
    )


def as_list_reply(payload: dict[str, Any], row_id: str, title: str) -> dict[str, Any]:
    """``payload`` (one message) turned into the customer's pick from a list
    message, in the Cloud API's shape (``interactive.list_reply``)."""
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"]
    message["type"] = "interactive"
    message["interactive"] = {
        "type": "list_reply",
        "list_reply": {"id": row_id, "title": title},
    }
    return payload


def status_update(
    wamid: str,
    status: str = "delivered",
    *,
    user_id: str | None = "BR.1502576394655843",
    phone: str | None = "5511987654321",
) -> dict[str, Any]:
    """A ``statuses`` webhook for one outbound message, as Meta sends it."""
    return status_payload(
        wamid,
        status,
        SimulatedCustomer(user_id=user_id, phone=phone),
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number="551140001234",
    )


def signed(payload: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, sign(body, secret)


@dataclass
class RasaStandIn:
    """Counts turns; answers like Rasa's REST channel, or fails when told to."""

    reply: str = "Olá! Sou a assistente virtual da Loja Exemplo. Como posso ajudar?"
    buttons: list[dict[str, str]] = field(default_factory=list)
    more_replies: list[str] = field(default_factory=list)
    down: bool = False
    delay_s: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    with_people: list[str] = field(default_factory=list)
    trackers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Rasa runs the turn, but its answer never reaches the worker.
    fail_after_turn: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def refusal(request: httpx.Request, sender: str) -> httpx.Response | None:
        """Rasa's answer to a caller without a valid JWT for ``sender``."""
        header = request.headers.get("Authorization", "")
        try:
            claims = jwt.decode(
                header.removeprefix("Bearer "), RASA_JWT_SECRET, algorithms=["HS256"]
            )
        except jwt.InvalidTokenError:
            return httpx.Response(401, json={"reason": "NotAuthenticated"})
        if claims["user"] != {"username": sender, "role": "user"}:
            return httpx.Response(403, json={"reason": "NotAuthorized"})
        return None

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        sender = request.url.path.split("/")[2]
        if request.method == "POST" and sender == "rest":  # the REST channel
            sender = json.loads(request.content)["sender"]
        refused = self.refusal(request, sender)
        if refused is not None:
            return refused
        if request.method == "GET":  # the tracker, with the turns Rasa ran
            with self._lock:
                events = list(self.trackers.get(sender, []))
            return httpx.Response(200, json={"sender_id": sender, "events": events})
        body = json.loads(request.content)
        if request.url.path.endswith("/tracker/events"):
            # A resume after a handoff (it restarts), or people have it.
            restarts = any(e.get("event") == "restart" for e in body)
            with self._lock:
                (self.resumed if restarts else self.with_people).append(sender)
            return httpx.Response(200, json={})
        with self._lock:
            self.calls.append(body)
        time.sleep(self.delay_s)
        reply: dict[str, Any] = {"recipient_id": body["sender"], "text": self.reply}
        if self.buttons:
            reply["buttons"] = self.buttons
        more = [{"recipient_id": body["sender"], "text": t} for t in self.more_replies]
        replies = [reply, *more]
        with self._lock:
            self.trackers.setdefault(body["sender"], []).extend(
                [
                    {
                        "event": "user",
                        "text": body["message"],
                        "metadata": body["metadata"],
                    },
                    *(
                        {
                            "event": "bot",
                            "text": r["text"],
                            "data": {"buttons": r.get("buttons")},
                        }
                        for r in replies
                    ),
                    {"event": "action", "name": "action_listen"},
                ]
            )
        if self.fail_after_turn:
            raise httpx.ReadTimeout("Rasa ran the turn; the answer got lost")
        return httpx.Response(200, json=replies)

    def client(self) -> RasaClient:
        return RasaClient(
            "http://rasa.test:5005",
            jwt_secret=RASA_JWT_SECRET,
            signing_key=ACTION_SIGNING_KEY,
            http=httpx.Client(transport=httpx.MockTransport(self.handler)),
            sleep=lambda _s: None,
        )


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Channel:
    tenant_id: UUID
    queue_url: str
    graph: GraphStandIn
    rasa: RasaStandIn
    clock: Clock
    engine: ConversationEngine
    dlq_url: str = ""

    def sent(self) -> list[dict[str, Any]]:
        """Message sends the stand-in recorded (bodies), oldest first."""
        return [
            r["body"]
            for r in self.graph.requests()
            if r["path"].endswith("/messages")
            and (r.get("body") or {}).get("type")
            and r.get("response_status") == 200
        ]

    def queued(self) -> list[dict[str, Any]]:
        sqs = aws.client("sqs")
        found: list[dict[str, Any]] = []
        for _ in range(3):
            found += sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
            ).get("Messages", [])
            if found:
                break
        return found


def graph_client_factory(
    graph: GraphStandIn,
) -> Callable[[str], GraphClient]:
    clients: dict[str, GraphClient] = {}

    def factory(phone_number_id: str) -> GraphClient:
        if phone_number_id not in clients:
            clients[phone_number_id] = GraphClient(
                phone_number_id=phone_number_id,
                access_token="test-access-token",
                base_url=graph.url,
                rate_per_second=None,
                sleep=lambda _s: None,
                base_delay_s=0.0,
            )
        return clients[phone_number_id]

    return factory


def open_channel(
    database: EmbeddedDatabase, aws_mock: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Channel]:
    provisioned = tenancy.create_tenant("Loja Exemplo")
    tenant_id = provisioned.tenant.id
    with db.tenant_transaction(tenant_id) as conn:
        conn.execute(
            "INSERT INTO whatsapp_numbers (tenant_id, phone_number_id, waba_id)"
            " VALUES (%s, %s, %s)",
            (tenant_id, PHONE_NUMBER_ID, WABA_ID),
        )
    sqs = aws.client("sqs")
    dlq_url = sqs.create_queue(
        QueueName="conversations-dlq.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    queue_url = sqs.create_queue(
        QueueName="conversations.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "1"},
    )["QueueUrl"]
    graph = GraphStandIn().start()
    monkeypatch.setenv("WHATSAPP_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.setenv("RASA_JWT_SECRET", RASA_JWT_SECRET)
    monkeypatch.setenv("ACTION_SIGNING_KEY", ACTION_SIGNING_KEY)
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "test-access-token")
    monkeypatch.setenv("GRAPH_API_BASE_URL", graph.url)
    monkeypatch.setenv("CONVERSATION_QUEUE_URL", queue_url)
    monkeypatch.setenv("CONVERSATION_DLQ_URL", dlq_url)
    get_settings.cache_clear()
    composition.reset()
    rasa = RasaStandIn()
    clock = Clock()
    engine = ConversationEngine(
        bot=rasa.client(),
        graph_for=graph_client_factory(graph),
        config=EngineConfig(
            idle_timeout=timedelta(minutes=30), turn_lease=timedelta(seconds=60)
        ),
        clock=clock,
    )
    monkeypatch.setattr(composition, "engine", lambda: engine)
    try:
        yield Channel(tenant_id, queue_url, graph, rasa, clock, engine, dlq_url)
    finally:
        # Business numbers are globally unique: free it for the next test's tenant.
        with db.tenant_transaction(tenant_id) as conn:
            conn.execute("DELETE FROM whatsapp_numbers")
        graph.stop()
        monkeypatch.undo()
        get_settings.cache_clear()
        composition.reset()
