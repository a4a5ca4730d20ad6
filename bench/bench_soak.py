"""The WhatsApp channel under a burst and under faults, on `make run`'s stack.

Four runs on one stack (Rasa loaded), each against a baseline measured in the
same run:

1. Ingest at 32 concurrent senders as fast as the stack answers (closed loop)
   — baseline: the same senders against a bare Python HTTP server answering
   200 (the ceiling of a Python server on this machine).
2. Ingest at 100 webhooks/s offered by 32 senders (open loop, Meta's pace).
3. Drain: 1,000 messages the bot answers, turns completed per second by the
   worker instances with the real Rasa — baseline: Rasa's REST webhook alone,
   called by as many callers as there are workers.
4. The soak (infra/soak.py): 2,000 signed messages from 200 customers at 32
   concurrency, statuses for unknown ids, 3 more copies of some messages (alone, inside
   another batch, days late), a worker killed mid-batch, Rasa stopped for
   20 s, Graph 429/130429 answers, poisoned records — then every message
   accounted for.
"""

from __future__ import annotations

import http.client
import json
import secrets
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from atende.bot.signing import rasa_token
from bench.results import machine, write_section
from infra.soak import SoakPlan, SoakReport, run_soak
from infra.stack_harness import LocalStack

ANSWERED_BY_THE_BOT = (
    "oi, boa tarde",
    "qual o horário de atendimento?",
    "vocês abrem no sábado?",
    "obrigado!",
)


def _bare_server_baseline(
    requests: int, concurrency: int
) -> tuple[float, float, float]:
    """Rate, p50 and p99 (ms) of a Python ThreadingHTTPServer answering 200."""

    class Ok(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    body = json.dumps({"x": "y" * 900}).encode()
    latencies: list[float] = []
    lock = threading.Lock()
    per_sender = requests // concurrency

    def sender() -> None:
        for _ in range(per_sender):
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/", body=body)
            conn.getresponse().read()
            conn.close()
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    server.shutdown()
    latencies.sort()
    return (
        len(latencies) / elapsed,
        latencies[len(latencies) // 2],
        latencies[int(len(latencies) * 0.99)],
    )


def _rasa_baseline(stack: LocalStack, calls: int, callers: int) -> float:
    """Turns per second of Rasa's REST webhook alone."""
    port = stack.ports["rasa"]
    secret = stack.env["RASA_JWT_SECRET"]
    done = [0]
    lock = threading.Lock()

    def caller(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(calls // callers):
            sender = f"bench-rasa-{n}-{i % 20}"
            body = json.dumps({"sender": sender, "message": ANSWERED_BY_THE_BOT[i % 4]})
            conn.request(
                "POST",
                "/webhooks/rest/webhook",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {rasa_token(secret, sender=sender)}",
                },
            )
            conn.getresponse().read()
            with lock:
                done[0] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / (time.perf_counter() - t0)


def _quiet(**changes: Any) -> SoakPlan:
    """A plan with no faults and no redeliveries."""
    base: dict[str, Any] = {
        "unknown_statuses": 0,
        "redelivered": 0,
        "poisoned": 0,
        "graph_throttles": 0,
        "rasa_pause_s": 0.0,
        "kill_worker": False,
    }
    return SoakPlan(**{**base, **changes})


def _row(name: str, report: SoakReport, goal: str = "") -> str:
    errors = sum(report.errors.values())
    return (
        f"| {name} | {report.webhooks} | {report.ingest_rate:.0f} |"
        f" {report.percentile(0.5):.0f} | {report.percentile(0.99):.0f} |"
        f" {errors} | {goal} |"
    )


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="atende-bench-soak-") as tmp:
        stack = LocalStack(Path(tmp)).start(
            extra_env={
                "LOG_LEVEL": "WARNING",
                # Known here, for the calls straight to Rasa.
                "RASA_JWT_SECRET": secrets.token_urlsafe(32),
            }
        )
        try:
            stack.wait_healthy(bot=True)
            workers = 4
            bare = _bare_server_baseline(2000, 32)
            burst = run_soak(stack, _quiet(messages=2000, customers=200))
            paced = run_soak(
                stack, _quiet(messages=2000, customers=200, rate_per_s=100.0)
            )
            drain = run_soak(
                stack,
                _quiet(messages=1000, customers=200, texts=ANSWERED_BY_THE_BOT),
            )
            rasa_alone = _rasa_baseline(stack, 400, workers)
            soak = run_soak(stack, SoakPlan())
        finally:
            stack.stop()

    def verdict(report: SoakReport) -> str:
        return "**all accounted for**" if report.correct else "**NOT CORRECT**"

    failed = (
        ", ".join(f"{code}: {n}" for code, n in soak.replies_failed.items()) or "none"
    )
    return f"""
## WhatsApp channel under burst and faults (`make run`'s stack)

{machine()}. One stack: API, moto, {workers} worker instances and the sweeper
each in a process of its own (as in AWS), Rasa 3.6 with its action server,
embedded PostgreSQL. Senders are threads of the benchmark process on the same
2 cores, each opening a connection per webhook, as Meta does.

### Ingest (`POST /whatsapp/webhook`, signed, one message each)

| run | webhooks | webhooks/s | p50 ms | p99 ms | errors | goal |
| --- | ---: | ---: | ---: | ---: | ---: | --- |
| baseline: bare Python HTTP server answering 200, 32 senders | 2000 | {bare[0]:.0f} | {bare[1]:.0f} | {bare[2]:.0f} | 0 | |
{_row("32 senders, closed loop (worker draining at the same time)", burst, "≥ 100/s, p99 ≤ 250 ms")}
{_row("100 webhooks/s offered by 32 senders (open loop)", paced, "p99 ≤ 250 ms")}

### Drain (bot turns with the real Rasa)

| run | turns | turns/s | goal |
| --- | ---: | ---: | --- |
| baseline: Rasa's REST webhook alone, {workers} callers | 400 | {rasa_alone:.1f} | |
| 1,000 messages the bot answers, {workers} worker instances | {drain.turns} | {drain.drain_rate:.1f} | ≥ 22 |

### Soak: {soak.plan.messages} messages, {soak.plan.customers} customers, {soak.plan.concurrency} senders, with faults

| measure | value |
| --- | ---: |
| webhooks sent (messages, redeliveries, statuses for unknown ids) | {soak.webhooks} |
| ingest | {soak.ingest_rate:.0f}/s, p50 {soak.percentile(0.5):.0f} ms, p99 {soak.percentile(0.99):.0f} ms, errors {sum(soak.errors.values())} |
| faults | Rasa stopped {soak.rasa_paused[1] - soak.rasa_paused[0] if soak.rasa_paused else 0:.0f} s, a worker killed at {soak.worker_killed_at_s or 0:.0f} s, {soak.plan.graph_throttles} Graph 429/130429, {soak.plan.poisoned} poisoned records |
| messages acknowledged / stored | {soak.acknowledged} / {soak.stored} |
| **lost** (acknowledged, not stored) | **{len(soak.lost)}** |
| **duplicated** (stored twice / Rasa turn run twice / reply sent twice) | **{len(soak.stored_twice)} / {len(soak.turned_twice)} / {soak.graph_sends - soak.replies_sent}** |
| turns stuck / replies left in the outbox | {soak.stuck} / {soak.outbox_pending} |
| bot turns, drain rate over the run | {soak.turns}, {soak.drain_rate:.1f}/s |
| time to drain after the last webhook | {soak.drain_after_ingest_s:.0f} s |
| replies sent (all reached the Graph API once) / failed | {soak.replies_sent} / {failed} |
| dead-letter queue | {len(soak.dead_letters)} records, the {len(soak.poisoned_groups)} poisoned ones: {"yes" if sorted(soak.dead_letters) == sorted(soak.poisoned_groups) else "NO"} |
| statuses for unknown ids parked | {soak.parked_statuses} |
| verdict | {verdict(soak)} (burst {verdict(burst)}, paced {verdict(paced)}, drain {verdict(drain)}) |

What limits the figures: two cores shared by the load generator (32 threads),
the API, moto, four worker instances, Rasa and PostgreSQL. The worker
instances and Rasa run at a lower priority (`nice 10`), as they would run on
capacity of their own in AWS, so the webhook answers first and the backlog
drains right after. At 32 closed-loop senders the latency is the queueing of
32 requests on ~2 cores (Little's law: 32 / rate ≈ p50), not one slow request;
at Meta's pace (100/s offered) the same path answers in tens of milliseconds.
Before this work the same stack took 6-24 webhooks/s with connections reset:
moto's SQS spent O(queue length) on every send, the API's accept backlog was
5, and API, moto and worker shared one interpreter. A run's drain rate
includes Rasa stopped for 20 s (turns hand off to people meanwhile) and a
killed worker's records waiting out their visibility (30 s) and the turn's
lease (30 s).
"""


def main() -> None:
    body = run()
    write_section("soak", body)
    print(body)


if __name__ == "__main__":
    main()
