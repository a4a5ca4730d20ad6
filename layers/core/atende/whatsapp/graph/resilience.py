"""Keeping calls to Meta within bounds: a circuit breaker and a token bucket.

The :class:`CircuitBreaker` fails fast while Meta keeps failing; the
:class:`TokenBucket` paces sends (80 messages/s by default in
:class:`~atende.whatsapp.graph.client.GraphClient`, Meta's default throughput
per number). Both are thread-safe and take their clock (and sleep) as
arguments, so tests control time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Literal

from atende.whatsapp.graph.errors import CircuitOpenError

__all__ = ["CircuitBreaker", "TokenBucket"]


class CircuitBreaker:
    """Closed → open after N consecutive failures → half-open after a pause.

    Half-open lets one trial call through: success closes the circuit, failure
    opens it again. Thread-safe; share one per phone number if several clients
    send from it.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout_s < 0:
            raise ValueError("failure_threshold >= 1 and reset_timeout_s >= 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        with self._lock:
            return self._state()

    def _state(self) -> Literal["closed", "open", "half_open"]:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_timeout_s:
            return "half_open"
        return "open"

    def before_call(self) -> None:
        """Raise :class:`CircuitOpenError` unless a call may go through now."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return
            assert self._opened_at is not None
            remaining = self.reset_timeout_s - (self._clock() - self._opened_at)
            raise CircuitOpenError(retry_after_s=max(1, math.ceil(remaining)))

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._trial_in_flight = False

    def release(self) -> None:
        """End a trial that neither succeeded nor failed (an unexpected error)."""
        with self._lock:
            self._trial_in_flight = False


class TokenBucket:
    """At most ``rate`` acquisitions per second, ``burst`` at once.

    Waiting callers reserve their slot under the lock and sleep outside it, so
    concurrent threads are spaced evenly.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = burst
        self._last = clock()

    def acquire(self) -> float:
        """Take one token, sleeping if needed; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._last)
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._last = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait
