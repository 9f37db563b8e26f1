"""Smoke test of the built one-file executable itself (`dist/relay`, made by packaging/build.sh):
serve, first-run init, sign in, `relay upload`, back up, stop, restore elsewhere, start the
restored copy and find the build there. CI builds it first and sets RELAY_EXECUTABLE."""
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import requests

import buildfiles as bf
from conftest import PASSWORD, ROOT, free_port, wait_healthy

EXECUTABLE = os.environ.get("RELAY_EXECUTABLE") or str(ROOT / "dist" / "relay")

pytestmark = pytest.mark.skipif(
    not os.environ.get("RELAY_EXECUTABLE") and not Path(EXECUTABLE).exists(),
    reason="no built executable (run packaging/build.sh, as .ci/run does)")


def run(exe, *args, **kw):
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, **kw)


def serve(exe, port, data_dir=None):
    args = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "RELAY_BCRYPT_ROUNDS": "4"})
    wait_healthy(f"http://127.0.0.1:{port}", proc, timeout=30)
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return out


def test_the_executable_end_to_end(tmp_path):
    assert Path(EXECUTABLE).exists(), f"{EXECUTABLE} was not built"
    home = tmp_path / "install"
    home.mkdir()
    exe = home / "relay"
    shutil.copy2(EXECUTABLE, exe)  # as a user would: one file in a folder of its own
    assert run(exe, "--version").stdout.startswith("relay ")

    port = free_port()
    proc = serve(exe, port)  # no --data-dir: data/ next to the executable
    url = f"http://127.0.0.1:{port}"
    try:
        assert (home / "data" / "relay.db").exists()
        s = requests.Session()
        assert s.post(url + "/api/v1/auth/init", json={"email": "a@example.com", "password": PASSWORD}).status_code == 201
        s = requests.Session()
        assert s.post(url + "/api/v1/auth/login", json={"email": "a@example.com", "password": PASSWORD}).ok
        assert "<!doctype html>" in s.get(url + "/").text.lower()
        token = s.post(url + "/api/v1/tokens", json={"name": "ci"}).json()["token"]
        apk = bf.demo_apk(tmp_path / "app-release.apk")
        up = run(exe, "upload", str(apk), "--server", url, "--token", token, "--label", "smoke")
        assert up.returncode == 0, up.stderr
        build = json.loads(up.stdout)
        assert build["platform"] == "android"
        backup = run(exe, "backup", "--data-dir", str(home / "data"), "--out", str(tmp_path / "b.tar"))
        assert backup.returncode == 0, backup.stderr
    finally:
        stop(proc)

    restored = tmp_path / "restored"
    r = run(exe, "restore", str(tmp_path / "b.tar"), "--data-dir", str(restored))
    assert r.returncode == 0, r.stderr
    port = free_port()
    proc = serve(exe, port, restored)
    try:
        s = requests.Session()
        base = f"http://127.0.0.1:{port}"
        assert s.post(base + "/api/v1/auth/login", json={"email": "a@example.com", "password": PASSWORD}).ok
        got = s.get(f"{base}/api/v1/builds/{build['id']}").json()
        assert (got["version_label"], got["bundle_id"]) == ("smoke", build["bundle_id"])
        assert s.get(f"{base}/api/v1/builds/{build['id']}/download").content == apk.read_bytes()
    finally:
        stop(proc)
