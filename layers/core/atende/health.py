"""Health of the API: a liveness answer and a cached readiness check.

``GET /health`` (liveness) does no I/O: the process answers, nothing more, so a
flood of it costs nothing. ``GET /health/ready`` (readiness) opens a database
connection, calls KMS and Rasa, at most once per :data:`READINESS_TTL_S` per
process (concurrent callers share one run): it can't be turned into load on the
dependencies. Both are public and say only ``ok``/``ready``/``degraded``; which
check failed and why goes to the logs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import httpx

from atende import aws
from atende.config import get_settings
from atende.db import get_pool
from atende.observability import logger

READINESS_TTL_S = 15.0


@dataclass(frozen=True)
class Check:
    ok: bool
    latency_ms: float
    error: str | None = None


@dataclass(frozen=True)
class Readiness:
    """The required dependencies' verdict; ``checks`` are for the logs only."""

    ready: bool
    checks: dict[str, Check]


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


def _check_dependencies() -> Readiness:
    """Run every check. The bot is logged but not required: without Rasa,
    conversations go to attendants (handoff), and the API keeps serving."""
    checks = {"db": _timed(_probe_db), "aws": _timed(_probe_aws)}
    ready = all(c.ok for c in checks.values())
    checks["bot"] = _timed(_probe_bot)
    logger.info(
        "readiness checked",
        extra={
            "ready": ready,
            "checks": {name: asdict(c) for name, c in checks.items()},
        },
    )
    return Readiness(ready, checks)


class ReadinessProbe:
    """The last readiness verdict, refreshed at most once per ``ttl_s``."""

    def __init__(
        self,
        ttl_s: float = READINESS_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: tuple[float, Readiness] | None = None

    def check(self) -> Readiness:
        # Held while probing: callers arriving meanwhile wait for that run
        # instead of starting their own.
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last[0] < self._ttl_s:
                return self._last[1]
            readiness = _check_dependencies()
            self._last = (now, readiness)
            return readiness


readiness = ReadinessProbe()
