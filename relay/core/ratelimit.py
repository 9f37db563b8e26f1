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
