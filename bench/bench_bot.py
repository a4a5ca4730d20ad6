"""The bot: training time, NLU parse latency, webhook-to-reply turn latency
(no LLM) and the Rasa server's memory, on the real Rasa through `make run`'s
local stack."""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import psutil
import yaml

from bench.results import machine

ROOT = Path(__file__).resolve().parents[1]
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
TURNS = 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Rasa answers only callers with a JWT signed with its secret (bot/rasa_auth.py):
# the benchmark's stack gets this one, and the bench an admin token.
RASA_SECRET = secrets.token_urlsafe(32)


def _json(url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    token = jwt.encode(
        {"user": {"username": "bench", "role": "admin"}, "exp": time.time() + 600},
        RASA_SECRET,
        algorithm="HS256",
    )
    request = urllib.request.Request(  # noqa: S310 - local URLs
        url,
        data=data,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def _pct(samples: list[float], q: float) -> float:
    return sorted(samples)[min(len(samples) - 1, int(q * len(samples)))]


def _train_and_score() -> tuple[float, dict[str, Any]]:
    """Training time from an empty cache, then the model's scores on both
    held-out sets (bot/evaluate_nlu.py, the fallback counted as the bot routes)."""
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own tool
            [
                str(RASA),
                "train",
                "--force",
                "--fixed-model-name",
                "atende",
                "--out",
                out,
                "--num-threads",
                "2",
                "--quiet",
            ],
            cwd=ROOT / "bot",
            env={**ENV, "RASA_CACHE_DIRECTORY": cache},
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - started
        scored = subprocess.run(  # noqa: S603 - our own tool
            [
                str(RASA.parent / "python"),
                "evaluate_nlu.py",
                f"{out}/atende.tar.gz",
                "tests/nlu_unseen.yml",
                "tests/nlu_holdout.yml",
            ],
            cwd=ROOT / "bot",
            env=ENV,
            check=True,
            capture_output=True,
            text=True,
        )
    return seconds, json.loads(scored.stdout.splitlines()[-1])


def _score_rows(scores: dict[str, Any]) -> str:
    rows = []
    for name, label in (
        ("nlu_unseen.yml", "unseen phrasing (`tests/nlu_unseen.yml`)"),
        ("nlu_holdout.yml", "original held-out (`tests/nlu_holdout.yml`)"),
    ):
        s = scores[name]
        rows.append(
            f"| NLU on {label}, {s['n']} utterances: accuracy / macro F1 / OOS"
            f" recall / consent swapped | {s['accuracy']:.3f} / {s['macro_f1']:.3f}"
            f" / {s['oos_recall']:.2f} / {s['consent_swapped']} |"
        )
    return "\n".join(rows)


def _holdout_texts() -> list[str]:
    texts = []
    for name in ("nlu_holdout.yml", "nlu_unseen.yml"):
        data = yaml.safe_load((ROOT / "bot" / "tests" / name).read_text())
        for block in data["nlu"]:
            texts += [
                line[2:]
                for line in block["examples"].splitlines()
                if line.startswith("- ")
            ]
    return texts


def run() -> str:
    sys.path.insert(0, str(ROOT))
    from infra.simulator import SimulatedCustomer, post_signed, text_payload

    load_before = os.getloadavg()[0]
    train_s, scores = _train_and_score()
    with tempfile.TemporaryDirectory(prefix="atende-bench-") as tmp:
        ports = {
            name: _free_port() for name in ("api", "aws", "graph", "sim", "rasa", "act")
        }
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("ATENDE_", "AWS_"))
            },
            "ATENDE_DATA_DIR": tmp,
            "ATENDE_API_PORT": str(ports["api"]),
            "ATENDE_LOCAL_AWS_PORT": str(ports["aws"]),
            "ATENDE_LOCAL_GRAPH_PORT": str(ports["graph"]),
            "ATENDE_SIMULATOR_PORT": str(ports["sim"]),
            "ATENDE_LOCAL_RASA_PORT": str(ports["rasa"]),
            "ATENDE_LOCAL_ACTIONS_PORT": str(ports["act"]),
            "RASA_JWT_SECRET": RASA_SECRET,
            "LOG_LEVEL": "WARNING",
        }
        stack = subprocess.Popen(  # noqa: S603
            [sys.executable, str(ROOT / "infra" / "local_stack.py")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        api = f"http://127.0.0.1:{ports['api']}"
        rasa = f"http://127.0.0.1:{ports['rasa']}"
        graph = f"http://127.0.0.1:{ports['graph']}"
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                try:
                    _json(f"{rasa}/status")
                    break
                except OSError:
                    time.sleep(1)
            rasa_proc = next(
                p
                for p in psutil.Process(stack.pid).children(recursive=True)
                if "run" in p.cmdline()
                and any("rasa" in part for part in p.cmdline()[:2])
            )
            rss_loaded = rasa_proc.memory_info().rss

            texts = _holdout_texts()
            parse_ms = []
            for text in texts:
                started = time.perf_counter()
                _json(f"{rasa}/model/parse", {"text": text})
                parse_ms.append((time.perf_counter() - started) * 1000)

            turn_ms = []
            for i in range(TURNS):
                customer = SimulatedCustomer(
                    user_id=f"BR.77{i:06d}", phone=f"55119{i:08d}"
                )
                before = len(_json(f"{graph}/_standin/requests"))
                payload = text_payload(
                    "oi, bom dia",
                    customer,
                    phone_number_id="106540352242922",
                    display_phone_number="+55 11 4000-1234",
                )
                started = time.perf_counter()
                assert (
                    post_signed(f"{api}/whatsapp/webhook", payload, "dev-app-secret")
                    == 200
                )
                while len(_json(f"{graph}/_standin/requests")) <= before:
                    if time.perf_counter() - started > 30:
                        raise AssertionError("no reply within 30 s")
                    time.sleep(0.005)
                turn_ms.append((time.perf_counter() - started) * 1000)
            rss_after = rasa_proc.memory_info().rss
        finally:
            stack.terminate()
            stack.wait(timeout=60)

    return f"""
## Bot (Rasa 3.6.21)

{machine()}.

| measure | value |
| --- | ---: |
| training time (`rasa train --force`, empty cache, 2 threads; load average {load_before:.1f} before) | {train_s:.0f} s |
{_score_rows(scores)}
| NLU parse, `POST /model/parse`, {len(parse_ms)} holdout utterances: p50 / p95 | {statistics.median(parse_ms):.1f} / {_pct(parse_ms, 0.95):.1f} ms |
| turn latency, signed webhook → reply recorded by the Graph API stand-in, no LLM, {TURNS} new conversations: p50 / p95 (goal p95 ≤ 300 ms) | {statistics.median(turn_ms):.0f} / **{_pct(turn_ms, 0.95):.0f} ms** |
| Rasa server RSS after loading the model / after the run | {rss_loaded / 2**20:.0f} / {rss_after / 2**20:.0f} MiB |

The turn runs through the whole local stack: API (signature, parse, enqueue to
moto's SQS FIFO), the worker fed by the local event-source poller, the engine
(PostgreSQL), Rasa over HTTP (tracker in PostgreSQL), and the Graph API client.
"""


def main() -> None:
    from bench.results import write_section

    body = run()
    write_section("bot", body)
    print(body)


if __name__ == "__main__":
    main()
