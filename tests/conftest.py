"""Shared fixtures: a real relay (waitress on a free port, SQLite file, data dir on disk) and
HTTP clients signed in with each role."""
import io
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from relay.app import create_app
from relay.config import load_config
from relay.server import Server

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
FAST_HASH = {"bcrypt_rounds": "4"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client(requests.Session):
    """A requests session that prefixes the relay's base URL."""

    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 30)
        return super().request(method, self.base + url, *args, **kwargs)


class LiveRelay:
    def __init__(self, data_dir: Path, env: dict | None = None, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        settings = {"RELAY_BCRYPT_ROUNDS": "4", **(env or {})}
        self.config = load_config({"data_dir": str(data_dir), "host": "127.0.0.1",
                                   "port": self.port}, env=settings)
        self.app = create_app(self.config)
        self.services = self.app.extensions["relay"]
        self.server = Server(self.app, "127.0.0.1", self.port, threads=8,
                             max_body=self.config.max_body_bytes)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def client(self) -> Client:
        return Client(self.url)

    def stop(self):
        self.server.stop()
        self.thread.join(timeout=30)
        self.services.db.close()


@pytest.fixture
def relay_factory(tmp_path):
    started = []

    def start(env: dict | None = None, data_dir: Path | None = None, port: int | None = None) -> LiveRelay:
        relay = LiveRelay(data_dir or tmp_path / f"data{len(started)}", env, port)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.stop()


@pytest.fixture
def relay(relay_factory) -> LiveRelay:
    return relay_factory()


@pytest.fixture
def anon(relay) -> Client:
    return relay.client()


ADMIN_EMAIL = "admin@example.com"


def init_admin(relay: LiveRelay) -> Client:
    c = relay.client()
    r = c.post("/api/v1/auth/init", json={"email": ADMIN_EMAIL, "password": PASSWORD,
                                          "displayName": "Admin"})
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return c


@pytest.fixture
def admin(relay) -> Client:
    return init_admin(relay)


def add_member(relay: LiveRelay, admin: Client, role: str, email: str | None = None) -> Client:
    email = email or f"{role.lower()}@example.com"
    r = admin.post("/api/v1/team/invite", json={"email": email, "role": role})
    assert r.status_code == 201, r.text
    c = relay.client()
    r = c.post("/api/v1/invitations/accept", data={"token": r.json()["token"],
                                                   "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.email = email
    return c


@pytest.fixture
def member(relay, admin):
    """member("QA") → a client signed in as a new member with that role."""
    return lambda role, email=None: add_member(relay, admin, role, email)


@pytest.fixture
def build_id(relay, admin, tmp_path):
    """The id of an iOS simulator build the admin uploaded."""
    import buildfiles as bf
    path = bf.write_zip(tmp_path / "RelayDemo.app.zip", bf.app_files())
    with open(path, "rb") as fh:
        r = admin.post("/api/v1/builds", files={"file": (path.name, fh)})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def make_token(client: Client, scope: str | None = None, **extra) -> str:
    body = {"name": f"ci-{scope}", **extra}
    if scope is not None:
        body["scope"] = scope
    r = client.post("/api/v1/tokens", json=body)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def bearer(relay: LiveRelay, token: str) -> Client:
    c = relay.client()
    c.headers["Authorization"] = f"Bearer {token}"
    return c


def image_bytes(fmt: str = "PNG", size=(64, 48), color=(200, 30, 30), **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt, **save)
    return buf.getvalue()


def spawn(data_dir: Path, port: int, *args, env: dict | None = None) -> subprocess.Popen:
    """Run `python relay.py serve …` as its own process, as a user would."""
    full_env = {**os.environ, "RELAY_BCRYPT_ROUNDS": "4", **(env or {})}
    return subprocess.Popen([sys.executable, str(ROOT / "relay.py"), "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--data-dir", str(data_dir), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env)


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"relay exited early: {proc.stdout.read()}")
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError("relay did not become healthy")
