"""`relay serve` as its own process: start-up output, setup code, port clashes, graceful stop."""
import os
import signal
import socket
import stat
import subprocess
import sys
import time

import requests

from conftest import PASSWORD, ROOT, free_port, spawn, wait_healthy
from relay.app import create_app
from relay.config import load_config


def stop(proc, sig=signal.SIGTERM) -> str:
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    return out


def test_serve_prints_urls_and_setup_code(tmp_path):
    port = free_port()
    proc = spawn(tmp_path, port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        code_file = tmp_path / "setup_code"
        assert stat.S_IMODE(code_file.stat().st_mode) == 0o600
        code = code_file.read_text().strip()
        assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
        assert not (tmp_path / "ota_signing_key.pem").exists()  # made on first OTA use only
        assert (tmp_path / "relay.db").exists()
        r = requests.post(f"http://127.0.0.1:{port}/api/v1/auth/init",
                          json={"email": "a@example.com", "password": PASSWORD})
        assert r.status_code == 201
        assert not code_file.exists()  # used up once the admin exists
    finally:
        out = stop(proc)
    assert f"Local:   http://localhost:{port}" in out
    assert code in out and "/setup" in out
    assert proc.returncode == 0 and "Relay stopped." in out


def test_no_setup_code_once_initialized(tmp_path):
    port = free_port()
    proc = spawn(tmp_path, port)
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    requests.post(f"http://127.0.0.1:{port}/api/v1/auth/init",
                  json={"email": "a@example.com", "password": PASSWORD})
    stop(proc)
    proc = spawn(tmp_path, port)
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    out = stop(proc)
    assert "Setup:" not in out and not (tmp_path / "setup_code").exists()


def test_setup_from_another_machine_needs_the_code(tmp_path):
    app = create_app(load_config({"data_dir": str(tmp_path)}, env={"RELAY_BCRYPT_ROUNDS": "4"}))
    (tmp_path / "setup_code").write_text("C0DE1234\n")
    lan = app.test_client()
    lan.environ_base["REMOTE_ADDR"] = "192.168.1.20"
    body = {"email": "a@example.com", "password": PASSWORD}
    r = lan.post("/api/v1/auth/init", json=body)
    assert r.status_code == 403 and "Setup code required" in r.get_json()["error"]
    r = lan.post("/api/v1/auth/init", json={**body, "setupCode": "WRONG123"})
    assert r.status_code == 403
    assert lan.get("/api/v1/auth/status").get_json() == {"initialized": False, "setupCodeRequired": True}
    r = lan.post("/api/v1/auth/init", json={**body, "setupCode": "C0DE1234"})
    assert r.status_code == 201
    app.extensions["relay"].db.close()


def test_taken_port_is_reported_clearly(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = spawn(tmp_path, port)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in out
    assert "Traceback" not in out


def test_sigterm_lets_a_request_in_flight_finish(tmp_path):
    port = free_port()
    proc = spawn(tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    requests.post(url + "/api/v1/auth/init", json={"email": "a@example.com", "password": PASSWORD})
    body = b'{"email": "a@example.com", "password": "%s"}' % PASSWORD.encode()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        conn.sendall(body[10:])
        response = b""
        while b"}" not in response:
            chunk = conn.recv(65536)
            if not chunk:
                break
            response += chunk
    assert response.startswith(b"HTTP/1.1 200"), response
    assert b'"role":"Admin"' in response
    proc.wait(timeout=20)
    assert proc.returncode == 0
    try:
        requests.get(url + "/healthz", timeout=1)
        raise AssertionError("still accepting after SIGTERM")
    except requests.ConnectionError:
        pass


def test_sigint_stops_too(tmp_path):
    port = free_port()
    proc = spawn(tmp_path, port)
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    out = stop(proc, signal.SIGINT)
    assert proc.returncode == 0 and "Traceback" not in out


def test_double_click_serves_and_opens_the_browser(tmp_path):
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    browser.chmod(0o755)
    port = free_port()
    env = {**os.environ, "RELAY_DATA_DIR": str(tmp_path / "data"), "RELAY_PORT": str(port),
           "RELAY_HOST": "127.0.0.1", "BROWSER": f"{browser} %s"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "relay.py")], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        deadline = time.monotonic() + 10
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text().strip() == f"http://localhost:{port}/setup"
    finally:
        stop(proc)


def test_version_and_help():
    out = subprocess.run([sys.executable, str(ROOT / "relay.py"), "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("relay 0.")
    out = subprocess.run([sys.executable, str(ROOT / "relay.py"), "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "serve" in out


def test_unwritable_data_directory_is_reported_clearly(tmp_path):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        data_dir = blocker / "data"  # cannot be created, even by root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        data_dir = locked / "data"
    proc = spawn(data_dir, free_port())
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "cannot use the data directory" in out and "Traceback" not in out
