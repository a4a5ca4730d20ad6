"""Health of the API: one cached check of its dependencies, read two ways.

The check opens a database connection, calls KMS and Rasa, at most once per
:data:`READINESS_TTL_S` per process (concurrent callers share one run): however
often it is asked, it can't be turned into load on the dependencies.

- ``GET /health`` (liveness) is 200 whenever the process answers, so nothing
  restarts a healthy process for a dependency's fault; its body says ``ok``,
  ``degraded`` or ``unavailable`` and names the failing dependencies.
- ``GET /health/ready`` (readiness) is 503 only when a required dependency
  (database, KMS) fails: take the instance out of rotation. Rasa is not
  required (without it conversations go to attendants), so a bot down is 200
  ``degraded``.

Both are public: they name a failing dependency (``db``, ``aws``, ``bot``),
never why; the error class and latencies go to the logs.
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


# Without these the API can't serve; the others only degrade it.
REQUIRED = ("db", "aws")


@dataclass(frozen=True)
class Readiness:
    """The dependencies' verdict; ``checks``' errors and latencies are for
    the logs only."""

    ready: bool
    checks: dict[str, Check]

    @property
    def failing(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check.ok]

    @property
    def status(self) -> str:
        """``ready``/``ok`` is the caller's word for all well; ``degraded``:
        an optional dependency fails; ``unavailable``: a required one does."""
        if not self.ready:
            return "unavailable"
        return "degraded" if self.failing else "ready"


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
    """Run every check. The bot is reported but not required: without Rasa,
    conversations go to attendants (handoff), and the API keeps serving."""
    checks = {
        "db": _timed(_probe_db),
        "aws": _timed(_probe_aws),
        "bot": _timed(_probe_bot),
    }
    ready = all(checks[name].ok for name in REQUIRED)
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
