"""A relay killed with SIGKILL in the middle of a 200 MB upload leaves no build, and after a restart
nothing stray on disk."""
import os
import signal
import socket
import sqlite3
import time

import requests

from conftest import PASSWORD, free_port, spawn, wait_healthy

SIZE = 200 * 1024 * 1024


def leftovers(data_dir):
    files = [p for p in (data_dir / "tmp").iterdir()]
    builds = data_dir / "uploads" / "builds"
    return files + (list(builds.iterdir()) if builds.exists() else [])


def start(data_dir, port):
    proc = spawn(data_dir, port)
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc


def send_upload(port, token):
    """Stream a 200 MB multipart upload; returns the open socket (the caller kills the server)."""
    boundary = "crashtestboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.apk\"\r\n"
            "Content-Type: application/vnd.android.package-archive\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall((f"POST /api/v1/builds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                  f"Content-Length: {len(head) + SIZE + len(tail)}\r\n\r\n").encode() + head)
    return conn, tail


def kill_and_check(data_dir, port, proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    db = sqlite3.connect(data_dir / "relay.db")
    assert db.execute("SELECT count(*) FROM builds").fetchone()[0] == 0
    db.close()
    proc = start(data_dir, port)  # the start-up sweep runs before serving
    try:
        assert leftovers(data_dir) == []
        assert requests.get(f"http://127.0.0.1:{port}/healthz").ok
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def setup_relay(tmp_path):
    port = free_port()
    proc = start(tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    s = requests.Session()
    assert s.post(url + "/api/v1/auth/init", json={"email": "a@example.com", "password": PASSWORD}).ok
    token = s.post(url + "/api/v1/tokens", json={"name": "ci"}).json()["token"]
    return port, proc, token


def test_kill_while_the_body_is_arriving(tmp_path):
    port, proc, token = setup_relay(tmp_path)
    conn, _tail = send_upload(port, token)
    chunk = bytes(1024 * 1024)
    for _ in range(100):  # half of it
        conn.sendall(chunk)
    kill_and_check(tmp_path, port, proc)
    conn.close()


def test_kill_while_the_upload_is_being_stored(tmp_path):
    port, proc, token = setup_relay(tmp_path)
    conn, tail = send_upload(port, token)
    chunk = bytes(1024 * 1024)
    for _ in range(SIZE // len(chunk)):
        conn.sendall(chunk)
    conn.sendall(tail)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the relay is spooling into DATA_DIR/tmp
        parts = [p for p in (tmp_path / "tmp").iterdir() if p.suffix == ".part"]
        if parts and parts[0].stat().st_size > 0:
            break
        time.sleep(0.005)
    else:
        raise AssertionError("the upload never reached DATA_DIR/tmp")
    kill_and_check(tmp_path, port, proc)
    conn.close()


def test_second_relay_on_the_same_data_dir_is_refused(tmp_path):
    port = free_port()
    first = start(tmp_path, port)
    try:
        second = spawn(tmp_path, free_port())
        out, _ = second.communicate(timeout=30)
        assert second.returncode == 1 and "another relay is already using" in out
        assert requests.get(f"http://127.0.0.1:{port}/healthz").ok
    finally:
        first.terminate()
        first.wait(timeout=20)
