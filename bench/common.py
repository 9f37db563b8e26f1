"""Shared bench helpers: start a relay process on a free port and drive keep-alive load at it."""
import http.client
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RelayProcess:
    """`python relay.py serve` in a fresh data directory, as a user runs it."""

    def __init__(self, env: dict | None = None):
        self.data_dir = Path(tempfile.mkdtemp(prefix="relay-bench-"))
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "relay.py"), "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--data-dir", str(self.data_dir)],
            env={**os.environ, "RELAY_LOG_LEVEL": "WARNING", **(env or {})},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait()

    def _wait(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("relay did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    resp = conn.getresponse()
    payload = resp.read()
    return resp.status, resp.getheader("Set-Cookie"), payload


def _worker(port, path, headers, seconds, queue):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    count, errors = 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status in (200, 304):
            count += 1
        else:
            errors += 1
    queue.put((count, errors))


def rps(port: int, path: str, headers: dict | None = None, seconds: float = 5.0,
        clients: int = 4) -> float:
    """Requests per second over `clients` keep-alive connections from separate processes."""
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_worker, args=(port, path, headers or {}, seconds, queue))
             for _ in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    total = sum(c for c, _ in results)
    errors = sum(e for _, e in results)
    if errors:
        raise RuntimeError(f"{errors} non-2xx responses from {path}")
    return total / seconds


def best_rps(port: int, targets: list[tuple[str, dict | None]], seconds: float = 5.0,
             rounds: int = 3) -> list[float]:
    """Best req/s of each (path, headers), measured in turns, round after round: this machine's
    speed drifts from minute to minute, and turns make the drift hit every path alike."""
    rps(port, "/healthz", seconds=1)  # warm up
    best = [0.0] * len(targets)
    for _ in range(rounds):
        for i, (path, headers) in enumerate(targets):
            best[i] = max(best[i], rps(port, path, headers=headers, seconds=seconds))
    return best
