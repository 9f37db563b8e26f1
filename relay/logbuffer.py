"""Logging: structured lines on stderr, and the last 500 lines in memory for GET /api/v1/logs."""
import collections
import logging
import sys
import threading

from relay.timeutil import iso
from datetime import datetime, timezone

CAPACITY = 500


class RingBuffer(logging.Handler):
    def __init__(self, capacity: int = CAPACITY):
        super().__init__()
        self.lines = collections.deque(maxlen=capacity)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        when = iso(datetime.fromtimestamp(record.created, timezone.utc))
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname}: {text}"
        with self._guard:
            self.lines.append(f"[{when}] {text}")

    def tail(self, n: int) -> list[str]:
        with self._guard:
            return list(self.lines)[-n:] if n > 0 else []


class _Structured(logging.Formatter):
    def format(self, record):
        when = iso(datetime.fromtimestamp(record.created, timezone.utc))
        line = f"{when} level={record.levelname.lower()} logger={record.name} msg={record.getMessage()!r}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(level: str = "INFO") -> RingBuffer:
    """Attach a fresh ring buffer (and one stderr handler) to the `relay` logger."""
    logger = logging.getLogger("relay")
    logger.setLevel(level.upper())
    logger.propagate = False
    for handler in list(logger.handlers):
        if isinstance(handler, RingBuffer):
            logger.removeHandler(handler)
    if not any(getattr(h, "relay_stderr", False) for h in logger.handlers):
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(_Structured())
        stderr.relay_stderr = True
        logger.addHandler(stderr)
    ring = RingBuffer()
    logger.addHandler(ring)
    # The HTTP server's own warnings (queue backlog, socket errors) belong in the same log.
    server_log = logging.getLogger("waitress")
    server_log.setLevel(logging.WARNING)
    server_log.propagate = False
    server_log.handlers = [h for h in server_log.handlers if not isinstance(h, RingBuffer)]
    if not any(getattr(h, "relay_stderr", False) for h in server_log.handlers):
        server_log.addHandler(next(h for h in logger.handlers if getattr(h, "relay_stderr", False)))
    server_log.addHandler(ring)
    return ring
