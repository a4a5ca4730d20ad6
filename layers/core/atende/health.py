"""Dependency checks behind ``GET /health``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from atende import aws
from atende.config import get_settings
from atende.db import get_pool
from atende.observability import logger


@dataclass(frozen=True)
class Check:
    ok: bool
    latency_ms: float
    error: str | None = None


def _timed(probe: Callable[[], None]) -> Check:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # a health check reports, it never raises
        logger.warning("health check failed", extra={"error": type(exc).__name__})
        return Check(False, _ms_since(started), type(exc).__name__)
    return Check(True, _ms_since(started))


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _probe_db() -> None:
    with get_pool().connection(timeout=5) as conn:
        conn.execute("SELECT 1")


def _probe_aws() -> None:
    aws.client("kms").list_keys(Limit=1)


def _probe_bot() -> None:
    url = get_settings().rasa_url.rstrip("/") + "/"
    httpx.get(url, timeout=2).raise_for_status()


def check_health() -> tuple[bool, dict[str, Any]]:
    """Run every check; returns (required ones ok, report).

    The bot is reported but not required: without Rasa, conversations go to
    attendants (handoff), and the API keeps serving.
    """
    checks = {"db": _timed(_probe_db), "aws": _timed(_probe_aws)}
    healthy = all(c.ok for c in checks.values())
    checks["bot"] = _timed(_probe_bot)
    report = {
        "status": "ok" if healthy else "degraded",
        "checks": {name: asdict(c) for name, c in checks.items()},
    }
    return healthy, report
