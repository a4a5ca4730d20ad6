"""The WhatsApp webhook handler in process: signature, parse, enqueue to moto.

Drives the real Chalice app (``chalice.test.Client``) with signed one-message
payloads. Baselines in the same run: the signature check and the parse alone,
so the cost of routing and enqueueing is visible. And the same signature check
and typed parse in pywa (a bench-only dependency the Makefile's bench target
installs into a separate folder), on the same bodies, alternating rounds.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

N = 2000
WARMUP = 100


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


PYWA_ROUNDS = 7


def _vs_pywa(bodies: list[tuple[bytes, str]], secret: str, phone_id: str) -> str:
    """Signature + typed parse, Atende vs pywa: same bodies, same process,
    alternating rounds; the median round's updates/s of each."""
    try:
        from pywa import WhatsApp, types  # type: ignore[import-not-found]
    except ImportError:
        return "pywa is not installed (`make bench` installs it): no comparison."
    from pywa import __version__ as pywa_version

    from atende.whatsapp.updates import InboundMessage, parse_webhook
    from atende.whatsapp.webhook import verify_signature

    wa = WhatsApp(
        phone_id=phone_id,
        token="bench",  # noqa: S106 - never used: no request is sent
        server=None,
        app_secret=secret,
        verify_token="bench",  # noqa: S106
        skip_duplicate_updates=False,  # neither side deduplicates at this step
    )
    parsed: list[types.Message] = []
    wa.on_message()(lambda _client, message: parsed.append(message))

    def atende_round() -> float:
        started = time.perf_counter()
        for body, signature in bodies:
            verify_signature(body, signature, secret)
            [update] = parse_webhook(json.loads(body))
            assert isinstance(update, InboundMessage)
        return len(bodies) / (time.perf_counter() - started)

    def pywa_round() -> float:
        parsed.clear()
        started = time.perf_counter()
        for body, signature in bodies:
            if wa.webhook_update_validator(body, signature) is not None:
                raise AssertionError("pywa rejected a valid signature")
            wa.webhook_update_handler(body)
        rate = len(bodies) / (time.perf_counter() - started)
        assert len(parsed) == len(bodies)
        return rate

    atende_round(), pywa_round()  # warm-up
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(PYWA_ROUNDS):
        rounds = (
            (atende_round, pywa_round) if i % 2 == 0 else (pywa_round, atende_round)
        )
        for fn in rounds:
            (ours if fn is atende_round else theirs).append(fn())
    a, b = statistics.median(ours), statistics.median(theirs)
    load = os.getloadavg()[0]
    return f"""Signature check + parse into typed updates, Atende vs pywa {pywa_version}
(`webhook_update_validator`, then `webhook_update_handler` with one `on_message`
handler, which receives pywa's typed `Message`): the same {len(bodies)} bodies,
one process, {PYWA_ROUNDS} alternating rounds (order swapped each round), median round;
load average {load:.1f} (1 min) on 2 cores shared with other work.

| library | updates/s (one core) |
| --- | ---: |
| Atende `verify_signature` + `parse_webhook` | **{a:.0f}** |
| pywa {pywa_version} | {b:.0f} |
| **ratio Atende / pywa** (goal ≥ 1.5) | **{a / b:.2f}** |"""


def run() -> str:
    os.environ.update(
        {
            "ATENDE_ENV": "test",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "WHATSAPP_APP_SECRET": "bench-secret",
            "WHATSAPP_VERIFY_TOKEN": "bench-verify",
            "WHATSAPP_ACCESS_TOKEN": "bench-token",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "LOG_LEVEL": "WARNING",
        }
    )
    from chalice.test import Client
    from moto import mock_aws

    from atende.config import get_settings

    # Importing the benchmarks already read the settings (ATENDE_ENV=local,
    # the moto *server*); read them again for the in-process moto.
    get_settings.cache_clear()

    from atende import aws, composition, db
    from atende.db.embedded import start_embedded
    from atende.whatsapp.updates import parse_webhook
    from atende.whatsapp.webhook import sign, verify_signature
    from bench.results import machine
    from infra.simulator import SimulatedCustomer, text_payload

    sys.path.insert(0, str(ROOT / "functions" / "api"))
    from app import app

    phone_number_id = "106540352242922"
    with tempfile.TemporaryDirectory(prefix="atende-bench-") as tmp, mock_aws():
        embedded = start_embedded(Path(tmp))
        db.configure(embedded.app_url)
        tenant_id = "2f1c7a56-3b7e-4d55-9a51-6f3d2f9d7c11"
        with db.tenant_transaction(tenant_id) as conn:
            conn.execute(
                "INSERT INTO tenants (id, name) VALUES (%s, 'Bench')", (tenant_id,)
            )
            conn.execute(
                "INSERT INTO whatsapp_numbers (tenant_id, phone_number_id) VALUES (%s, %s)",
                (tenant_id, phone_number_id),
            )
        aws.client.cache_clear()
        queue_url = aws.client("sqs").create_queue(
            QueueName="bench.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        os.environ["CONVERSATION_QUEUE_URL"] = queue_url
        get_settings.cache_clear()
        composition.reset()

        bodies = []
        for i in range(N + WARMUP):
            customer = SimulatedCustomer(user_id=f"BR.{1000000 + i % 500}")
            payload = text_payload(
                f"Olá, quero a segunda via do boleto {i}",
                customer,
                phone_number_id=phone_number_id,
                display_phone_number="551140001234",
                wamid=f"wamid.BENCH{i:08d}",
            )
            body = json.dumps(payload).encode()
            bodies.append((body, sign(body, "bench-secret")))

        full: list[float] = []
        received = 0
        sqs = aws.client("sqs")
        with Client(app) as client:
            for i, (body, signature) in enumerate(bodies):
                if i % 50 == 0:
                    # moto's FIFO queue slows down as it fills (its dedup check
                    # scans the queue); a real queue does not. Start a new one,
                    # untimed.
                    composition.queue().queue_url = sqs.create_queue(
                        QueueName=f"bench-{i}.fifo", Attributes={"FifoQueue": "true"}
                    )["QueueUrl"]
                started = time.perf_counter()
                response = client.http.post(
                    "/whatsapp/webhook",
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": signature,
                    },
                    body=body,
                )
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.body
                received += json.loads(response.body)["received"]
                if i >= WARMUP:
                    full.append(elapsed * 1000)

        # Under load Meta packs several updates into one POST: 10 per webhook.
        batched: list[float] = []
        with Client(app) as client:
            for j in range(0, N, 10):
                composition.queue().queue_url = sqs.create_queue(
                    QueueName=f"bench-batch-{j}.fifo", Attributes={"FifoQueue": "true"}
                )["QueueUrl"]
                payload = json.loads(bodies[j][0])
                value = payload["entry"][0]["changes"][0]["value"]
                for k in range(1, 10):
                    other = json.loads(bodies[j + k][0])["entry"][0]["changes"][0][
                        "value"
                    ]
                    value["contacts"] += other["contacts"]
                    value["messages"] += other["messages"]
                    value["messages"][-1]["id"] += "B"
                body = json.dumps(payload).encode()
                started = time.perf_counter()
                response = client.http.post(
                    "/whatsapp/webhook",
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": sign(body, "bench-secret"),
                    },
                    body=body,
                )
                batched.append((time.perf_counter() - started) * 1000)
                assert json.loads(response.body)["received"] == 10, response.body

        parse_only: list[float] = []
        for body, signature in bodies[WARMUP:]:
            started = time.perf_counter()
            verify_signature(body, signature, "bench-secret")
            parse_webhook(json.loads(body))
            parse_only.append((time.perf_counter() - started) * 1000)

        db.close_pool()
        embedded.server.cleanup()

    pywa_table = _vs_pywa(bodies[WARMUP:], "bench-secret", phone_number_id)
    assert received == N + WARMUP, received
    throughput = len(full) / (sum(full) / 1000)
    return f"""
## WhatsApp webhook handler (WhatsApp channel)

{machine()}.

{N} signed one-message webhooks (after {WARMUP} warm-up) through the Chalice app in
process (`chalice.test.Client`): signature check, parse into typed updates, tenant
lookup (cached), enqueue to SQS FIFO on moto in process; all {received} were
enqueued. A fresh queue is created (untimed) every 50 requests, because moto's
FIFO dedup check slows down as the queue fills. One thread, so the rate is per core.

| path | p50 ms | p99 ms | updates/s (one core) |
| --- | ---: | ---: | ---: |
| full handler: signature, parse, tenant, enqueue (goal p99 ≤ 20 ms, ≥ 500/s) | {statistics.median(full):.2f} | {_percentile(full, 0.99):.2f} | **{throughput:.0f}** |
| same handler, webhooks carrying 10 updates each (per webhook) | {statistics.median(batched):.2f} | {_percentile(batched, 0.99):.2f} | {10 * len(batched) / (sum(batched) / 1000):.0f} |
| baseline: signature + parse only | {statistics.median(parse_only):.3f} | {_percentile(parse_only, 0.99):.3f} | {len(parse_only) / (sum(parse_only) / 1000):.0f} |

Profiling (cProfile) puts ~90% of the full handler's time in moto's in-process
SQS (botocore request signing and moto's Python request handling); our part,
signature and parse, is the baseline row. With one update per webhook the rate
stays below the 500/s goal because of that stand-in; batched webhooks amortize
the enqueue (one SendMessageBatch per 10 updates).

{pywa_table}
"""


def main() -> None:
    from bench.results import write_section

    body = run()
    write_section("webhook", body)
    print(body)


if __name__ == "__main__":
    main()
