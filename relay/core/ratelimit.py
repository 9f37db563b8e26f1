"""Failure counting for sign-in: after 5 failures in 15 minutes a key is locked out for a while."""
import threading
import time

from relay.core.errors import TooManyRequests


class FailureLimiter:
    def __init__(self, max_failures: int = 5, window: float = 900.0, clock=time.monotonic):
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[tuple, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key, now) -> list[float]:
        stamps = [t for t in self._failures.get(key, ()) if now - t < self.window]
        if stamps:
            self._failures[key] = stamps
        else:
            self._failures.pop(key, None)
        return stamps

    def check(self, key) -> None:
        with self._lock:
            now = self.clock()
            stamps = self._recent(key, now)
            if len(stamps) >= self.max_failures:
                retry = int(stamps[0] + self.window - now) + 1
                raise TooManyRequests("Too many failed sign-in attempts; try again later", retry)

    def fail(self, key) -> None:
        with self._lock:
            now = self.clock()
            if len(self._failures) > 10_000:  # bound memory under a spray of addresses
                for stale in list(self._failures):
                    self._recent(stale, now)
            self._recent(key, now)
            self._failures.setdefault(key, []).append(now)

    def reset(self, key) -> None:
        with self._lock:
            self._failures.pop(key, None)


class WindowLimiter:
    """At most `limit` hits per key in each `window` seconds (fixed windows)."""

    def __init__(self, limit: int, window: float = 60.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._counts: dict = {}
        self._lock = threading.Lock()

    def hit(self, key, message: str = "Too many requests") -> None:
        with self._lock:
            now = self.clock()
            slot = int(now // self.window)
            start, count = self._counts.get(key, (slot, 0))
            if start != slot:
                if len(self._counts) > 10_000:
                    self._counts = {k: v for k, v in self._counts.items() if v[0] == slot}
                count = 0
            if count >= self.limit:
                raise TooManyRequests(message, int((slot + 1) * self.window - now) + 1)
            self._counts[key] = (slot, count + 1)
