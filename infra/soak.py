"""A soak of the WhatsApp channel against a running local stack: ordinary traffic
and its faults, then an account of every message.

Traffic, from ``concurrency`` senders (each owns some customers and sends
their messages in order, as one phone does): ``messages`` signed texts from
``customers`` customers, interleaved with statuses for message ids Atende never
sent, and redeliveries of some messages — again alone, inside another webhook
batch, and days late (after their first copy was handled). Faults while it
runs: undecodable records put straight on the queue (the only records that may
end in the dead-letter queue), the Graph API answering 429 and 130429, Rasa
stopped (SIGSTOP) and started again, and the worker process killed mid-batch
(the stack starts it again).

Then it waits until everything drained and counts, from the database, Rasa's
tracker store, the Graph API stand-in and both queues: what was acknowledged
but not stored (lost), stored twice, turned twice, stuck, sent twice; and the
figures: ingest rate and latency, drain rate, time to drain.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
import psycopg

from atende.whatsapp.webhook import sign
from infra.simulator import SimulatedCustomer, status_payload, text_payload
from infra.stack_harness import APP_SECRET, PHONE_NUMBER_ID, LocalStack

DISPLAY = "551140001234"
# What customers write: answered by the bot, a few ask for a person.
TEXTS = (
    "oi, boa tarde",
    "qual o horário de atendimento?",
    "quero a segunda via do boleto",
    "meu pedido ainda não chegou",
    "vocês abrem no sábado?",
    "obrigado!",
    "quero cancelar minha compra",
    "qual o status do meu pedido 48213?",
    "quero falar com um atendente",
)


@dataclass(frozen=True)
class SoakPlan:
    messages: int = 2000
    customers: int = 200
    concurrency: int = 32
    unknown_statuses: int = 200
    redelivered: int = 200  # each sent 3 more times: alone, in a batch, days late
    poisoned: int = 3
    graph_throttles: int = 20  # 429s and 130429s answered by the Graph stand-in
    rasa_pause_s: float = 20.0
    kill_worker: bool = True
    rate_per_s: float | None = None  # None: as fast as the stack answers
    drain_timeout_s: float = 900.0
    seed: int = 7
    texts: tuple[str, ...] = TEXTS


@dataclass
class SoakReport:
    plan: SoakPlan
    webhooks: int = 0
    ingest_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    acknowledged: int = 0
    stored: int = 0
    lost: list[str] = field(default_factory=list)
    stored_twice: list[str] = field(default_factory=list)
    turned_twice: list[str] = field(default_factory=list)
    stuck: int = 0
    turns: int = 0
    drain_s: float = 0.0
    drain_after_ingest_s: float = 0.0
    replies_sent: int = 0
    graph_sends: int = 0
    outbox_pending: int = 0
    replies_failed: Counter[str] = field(default_factory=Counter)
    dead_letters: list[str] = field(default_factory=list)
    poisoned_groups: list[str] = field(default_factory=list)
    parked_statuses: int = 0
    worker_killed_at_s: float | None = None
    rasa_paused: tuple[float, float] | None = None

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0

    @property
    def ingest_rate(self) -> float:
        return self.webhooks / self.ingest_s if self.ingest_s else 0.0

    @property
    def drain_rate(self) -> float:
        return self.turns / self.drain_s if self.drain_s else 0.0

    @property
    def unexpected_dead_letters(self) -> list[str]:
        return sorted(set(self.dead_letters) - set(self.poisoned_groups))

    @property
    def correct(self) -> bool:
        return not (
            self.lost
            or self.stored_twice
            or self.turned_twice
            or self.stuck
            or self.outbox_pending
            or self.unexpected_dead_letters
            or sorted(self.dead_letters) != sorted(self.poisoned_groups)
            or self.graph_sends != self.replies_sent
        )


@dataclass
class _Request:
    body: bytes
    wamids: tuple[str, ...]  # the messages a 200 acknowledges


class _Sender(threading.Thread):
    def __init__(
        self,
        port: int,
        requests: list[_Request],
        report: SoakReport,
        lock: threading.Lock,
        acked: set[str],
        interval_s: float,
    ) -> None:
        super().__init__(daemon=True)
        self._port = port
        self._requests = requests
        self._report = report
        self._lock = lock
        self._acked = acked
        self._interval_s = interval_s

    def run(self) -> None:
        next_at = time.monotonic()
        for request in self._requests:
            if self._interval_s:
                next_at += self._interval_s
                time.sleep(max(0.0, next_at - time.monotonic()))
            started = time.perf_counter()
            outcome = _post(self._port, request.body)
            elapsed = (time.perf_counter() - started) * 1000
            with self._lock:
                self._report.latencies_ms.append(elapsed)
                if outcome == "200":
                    self._acked.update(request.wamids)
                else:
                    self._report.errors[outcome] += 1


def _post(port: int, body: bytes) -> str:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(
            "POST",
            "/whatsapp/webhook",
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(body, APP_SECRET),
            },
        )
        response = conn.getresponse()
        response.read()
        conn.close()
        return str(response.status)
    except OSError as error:
        return type(error).__name__


def _batch(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Several updates in one webhook, as Meta batches them (one change each)."""
    merged: dict[str, Any] = json.loads(json.dumps(payloads[0]))
    for extra in payloads[1:]:
        merged["entry"][0]["changes"] += extra["entry"][0]["changes"]
    return merged


def _plan_traffic(
    plan: SoakPlan, run: str
) -> tuple[list[list[_Request]], list[_Request]]:
    """Per sender, its requests in order; and the days-late redeliveries."""
    rng = random.Random(plan.seed)  # noqa: S311 - traffic, not secrets
    customers = [
        SimulatedCustomer(
            user_id=f"BR.8{run}{i:06d}",
            phone=f"55119{run[-2:]}{i:06d}",
            name=f"Cliente {i}",
        )
        for i in range(plan.customers)
    ]
    now = int(time.time())
    per_customer: list[list[dict[str, Any]]] = [[] for _ in customers]
    for i in range(plan.messages):
        c = i % plan.customers
        wamid = f"wamid.SOAK{run}{i:05d}"
        text = plan.texts[rng.randrange(len(plan.texts))]
        per_customer[c].append(
            text_payload(
                text,
                customers[c],
                phone_number_id=PHONE_NUMBER_ID,
                display_phone_number=DISPLAY,
                wamid=wamid,
                timestamp=now + i // plan.customers,
            )
        )
    senders: list[list[_Request]] = [[] for _ in range(plan.concurrency)]
    count = min(plan.redelivered, plan.messages)
    redeliver = set(rng.sample(range(plan.messages), count))
    late: list[_Request] = []
    for c, payloads in enumerate(per_customer):
        queue = senders[c % plan.concurrency]
        for k, payload in enumerate(payloads):
            i = k * plan.customers + c
            wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
            body = json.dumps(payload).encode()
            queue.append(_Request(body, (wamid,)))
            if i in redeliver:
                queue.append(_Request(body, (wamid,)))  # Meta retries at once
                late.append(_Request(body, (wamid,)))  # ...and days later
                # ...and inside the batch that carries this customer's next
                # status for an id we never sent.
                stray = status_payload(
                    f"wamid.STRAY{run}{i:05d}",
                    "delivered",
                    customers[c],
                    phone_number_id=PHONE_NUMBER_ID,
                    display_phone_number=DISPLAY,
                )
                queue.append(
                    _Request(json.dumps(_batch([stray, payload])).encode(), (wamid,))
                )
    for n in range(plan.unknown_statuses):
        customer = customers[rng.randrange(len(customers))]
        status = status_payload(
            f"wamid.UNKNOWN{run}{n:05d}",
            rng.choice(("sent", "delivered", "read")),
            customer,
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number=DISPLAY,
        )
        queue = senders[rng.randrange(plan.concurrency)]
        request = _Request(json.dumps(status).encode(), ())
        queue.insert(rng.randrange(len(queue) + 1), request)
    return senders, late


def _sqs(stack: LocalStack) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=stack.aws_endpoint,
        region_name="sa-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto
    )


def _queue_urls(stack: LocalStack) -> tuple[str, str]:
    sqs = _sqs(stack)
    return (
        sqs.get_queue_url(QueueName="atende-conversations.fifo")["QueueUrl"],
        sqs.get_queue_url(QueueName="atende-conversations-dlq.fifo")["QueueUrl"],
    )


def _poison(stack: LocalStack, plan: SoakPlan, run: str) -> list[str]:
    queue_url, _ = _queue_urls(stack)
    tenant = stack.demo["tenant_id"]
    groups = []
    for n in range(plan.poisoned):
        group = f"{tenant}:BR.POISON{run}{n}"
        _sqs(stack).send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(
                {"tenant_id": tenant, "update": {"kind": "from_the_future"}}
            ),
            MessageGroupId=group,
            MessageDeduplicationId=f"poison-{run}-{n}",
        )
        groups.append(group)
    return groups


def _script_graph(stack: LocalStack, count: int) -> None:
    answers = [
        {"status": 429, "headers": {"Retry-After": "1"}}
        if n % 2 == 0
        else {"status": 400, "error": {"code": 130429}}
        for n in range(count)
    ]
    request = urllib.request.Request(  # noqa: S310 - local stand-in
        f"{stack.graph}/_standin/script",
        data=json.dumps(answers).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def _graph_sends(stack: LocalStack) -> int:
    with urllib.request.urlopen(  # noqa: S310 - local stand-in
        f"{stack.graph}/_standin/requests", timeout=30
    ) as response:
        recorded: list[dict[str, Any]] = json.loads(response.read())
    return sum(
        1
        for r in recorded
        if (r.get("body") or {}).get("type") and r.get("response_status") == 200
    )


def _pending_work(stack: LocalStack, run: str) -> int:
    queue_url, _ = _queue_urls(stack)
    attributes = _sqs(stack).get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    )["Attributes"]
    queued = sum(int(v) for v in attributes.values())
    with psycopg.connect(stack.database_url()) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE turn_state IN ('pending', 'running')"
            "   AND wamid LIKE %s),"
            " count(*) FILTER (WHERE direction = 'outbound' AND status = 'pending')"
            " FROM messages",
            (f"wamid.SOAK{run}%",),
        ).fetchone()
    assert row is not None
    return queued + int(row[0]) + int(row[1])


def _wait_drained(stack: LocalStack, run: str, timeout_s: float) -> float:
    started = time.monotonic()
    quiet_since: float | None = None
    while time.monotonic() - started < timeout_s:
        if _pending_work(stack, run) == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 3:  # stays drained
                return quiet_since - started
        else:
            quiet_since = None
        time.sleep(0.5)
    raise TimeoutError("the stack did not drain")


def _faults(
    stack: LocalStack,
    plan: SoakPlan,
    report: SoakReport,
    progress: Any,
    t0: float,
    run: str,
) -> None:
    """Poisoned records at once, Graph throttling at 20% of the traffic, Rasa
    stopped at 35%, a worker killed at 60% (mid-batch: it is busy by then)."""

    def wait_until(fraction: float) -> None:
        while progress() < fraction:
            time.sleep(0.05)

    if plan.poisoned:
        report.poisoned_groups = _poison(stack, plan, run)
    if plan.graph_throttles:
        wait_until(0.2)
        _script_graph(stack, plan.graph_throttles)
    if plan.rasa_pause_s:
        wait_until(0.35)
        rasa = stack.rasa_pid()
        os.kill(rasa, signal.SIGSTOP)
        paused_at = time.monotonic() - t0
        time.sleep(plan.rasa_pause_s)
        os.kill(rasa, signal.SIGCONT)
        report.rasa_paused = (paused_at, time.monotonic() - t0)
    if plan.kill_worker:
        wait_until(0.6)
        os.kill(stack.role_pid("worker"), signal.SIGKILL)
        report.worker_killed_at_s = time.monotonic() - t0


def run_soak(stack: LocalStack, plan: SoakPlan) -> SoakReport:
    """Run ``plan`` against ``stack`` (healthy, Rasa loaded); see the module."""
    run = f"{int(time.time()) % 100000:05d}"
    report = SoakReport(plan)
    senders, late = _plan_traffic(plan, run)
    report.webhooks = sum(len(s) for s in senders)
    graph_before = _graph_sends(stack)
    acked: set[str] = set()
    lock = threading.Lock()
    interval = plan.concurrency / plan.rate_per_s if plan.rate_per_s else 0.0
    threads = [
        _Sender(stack.ports["api"], requests, report, lock, acked, interval)
        for requests in senders
    ]

    def progress() -> float:
        with lock:
            return len(report.latencies_ms) / max(1, report.webhooks)

    t0 = time.monotonic()
    faults = threading.Thread(
        target=_faults, args=(stack, plan, report, progress, t0, run), daemon=True
    )
    for thread in threads:
        thread.start()
    faults.start()
    for thread in threads:
        thread.join()
    report.ingest_s = time.monotonic() - t0
    faults.join()
    report.drain_after_ingest_s = _wait_drained(stack, run, plan.drain_timeout_s)

    # Days-late redeliveries: their first copies were handled long ago.
    for request in late:
        outcome = _post(stack.ports["api"], request.body)
        if outcome != "200":
            report.errors[f"late {outcome}"] += 1
    _wait_drained(stack, run, plan.drain_timeout_s)
    _account(stack, run, report, acked, graph_before)
    return report


def _account(
    stack: LocalStack,
    run: str,
    report: SoakReport,
    acked: set[str],
    graph_before: int,
) -> None:
    like = f"wamid.SOAK{run}%"
    with psycopg.connect(stack.database_url()) as conn:
        stored = Counter(
            r[0]
            for r in conn.execute(
                "SELECT wamid FROM messages WHERE direction = 'inbound'"
                " AND wamid LIKE %s",
                (like,),
            )
        )
        turns = conn.execute(
            "SELECT min(created_at), max(updated_at), count(*) FROM messages"
            " WHERE wamid LIKE %s AND turn_state = 'done'",
            (like,),
        ).fetchone()
        report.stuck = int(
            conn.execute(
                "SELECT count(*) FROM messages WHERE wamid LIKE %s"
                " AND turn_state IN ('pending', 'running')",
                (like,),
            ).fetchone()[0]  # type: ignore[index]
        )
        outbound = conn.execute(
            "SELECT status, coalesce(error_code, '') FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id"
            " JOIN customers u ON u.id = c.customer_id"
            " WHERE m.direction = 'outbound' AND u.wa_user_id LIKE %s",
            (f"BR.8{run}%",),
        ).fetchall()
        report.parked_statuses = int(
            conn.execute("SELECT count(*) FROM parked_statuses").fetchone()[0]  # type: ignore[index]
        )
    report.acknowledged = len(acked)
    report.stored = len(stored)
    report.lost = sorted(acked - set(stored))
    report.stored_twice = sorted(w for w, n in stored.items() if n > 1)
    assert turns is not None
    report.turns = int(turns[2])
    if turns[0] and turns[1]:
        report.drain_s = (turns[1] - turns[0]).total_seconds()
    delivered = ("sent", "delivered", "read")
    report.replies_sent = sum(1 for s, _ in outbound if s in delivered)
    report.outbox_pending = sum(1 for s, _ in outbound if s == "pending")
    report.replies_failed = Counter(code for s, code in outbound if s == "failed")
    report.graph_sends = _graph_sends(stack) - graph_before

    with psycopg.connect(stack.database_url(dbname="rasa_tracker")) as conn:
        user_events = Counter(
            (json.loads(r[0]).get("metadata") or {}).get("wamid")
            for r in conn.execute(
                "SELECT data FROM events WHERE type_name = 'user' AND data LIKE %s",
                (f'%"wamid": "wamid.SOAK{run}%',),
            )
        )
    report.turned_twice = sorted(w for w, n in user_events.items() if w and n > 1)

    _, dlq_url = _queue_urls(stack)
    sqs = _sqs(stack)
    letters: list[str] = []
    handles = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=30,
            AttributeNames=["MessageGroupId"],
        ).get("Messages", [])
        if not batch:
            break
        letters += [m["Attributes"]["MessageGroupId"] for m in batch]
        handles += [m["ReceiptHandle"] for m in batch]
    for handle in handles:
        sqs.change_message_visibility(
            QueueUrl=dlq_url, ReceiptHandle=handle, VisibilityTimeout=0
        )
    report.dead_letters = [g for g in letters if run in g]
