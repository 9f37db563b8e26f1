"""The command line: admin chores and `relay upload` for CI, run as their own processes."""
import json
import subprocess
import sys

import buildfiles as bf
from conftest import PASSWORD, ROOT, free_port, make_token, init_admin


def cli(*args, stdin=None, env=None):
    import os
    return subprocess.run([sys.executable, str(ROOT / "relay.py"), *args], input=stdin,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "RELAY_BCRYPT_ROUNDS": "4", **(env or {})})


def test_admin_init_then_sign_in(relay_factory, tmp_path):
    data = tmp_path / "d"
    r = cli("admin", "init", "--email", "Boss@Example.com", "--data-dir", str(data), stdin=PASSWORD + "\n")
    assert r.returncode == 0 and "boss@example.com" in r.stdout, r.stderr
    again = cli("admin", "init", "--email", "x@example.com", "--data-dir", str(data), stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "Already initialized" in again.stderr
    short = cli("admin", "init", "--email", "x@example.com", "--data-dir", str(tmp_path / "e"), stdin="short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    relay = relay_factory(data_dir=data)
    assert relay.client().post("/api/v1/auth/login", json={"email": "boss@example.com", "password": PASSWORD}).ok


def test_admin_reset_password_link_and_set(relay_factory, tmp_path):
    relay = relay_factory(data_dir=tmp_path / "d", env={"RELAY_PUBLIC_URL": "https://relay.example.test"})
    admin = init_admin(relay)
    r = cli("admin", "reset-password", "admin@example.com", "--data-dir", str(tmp_path / "d"),
            env={"RELAY_PUBLIC_URL": "https://relay.example.test"})
    assert r.returncode == 0, r.stderr
    link = r.stdout.strip()
    assert link.startswith("https://relay.example.test/reset-password?token=")
    token = link.split("token=")[1]
    assert relay.client().get(f"/api/v1/auth/reset-password/verify?token={token}").status_code == 200
    r = cli("admin", "reset-password", "admin@example.com", "--set", "--data-dir", str(tmp_path / "d"),
            stdin="brand-new-password\n")
    assert r.returncode == 0, r.stderr
    assert admin.get("/api/v1/auth/me").status_code == 401  # sessions ended
    c = relay.client()
    assert c.post("/api/v1/auth/login", json={"email": "admin@example.com", "password": "brand-new-password"}).ok
    r = cli("admin", "reset-password", "ghost@example.com", "--data-dir", str(tmp_path / "d"))
    assert r.returncode == 1 and "no account" in r.stderr


def test_upload_prints_the_build(relay, admin, tmp_path):
    token = make_token(admin, "builds:write")
    path = bf.demo_apk(tmp_path / "app-release.apk")
    r = cli("upload", str(path), "--server", relay.url, "--token", token, "--status", "Backlog",
            "--label", "rc-1")
    assert r.returncode == 0, r.stderr
    build = json.loads(r.stdout)
    assert (build["platform"], build["version_name"], build["status_label"]) == ("android", "2.0.1", "Backlog")
    assert "100%" in r.stderr
    assert admin.get(f"/api/v1/builds/{build['id']}").json()["version_label"] == "rc-1"


def test_upload_reads_server_and_token_from_the_environment(relay, admin, tmp_path):
    token = make_token(admin, "builds:write")
    path = bf.write_zip(tmp_path / "a.app.zip", bf.app_files())
    r = cli("upload", str(path), env={"RELAY_SERVER": relay.url, "RELAY_TOKEN": token})
    assert r.returncode == 0 and json.loads(r.stdout)["platform"] == "ios"


def test_upload_failures_exit_non_zero_with_the_reason(relay, admin, tmp_path):
    token = make_token(admin, "builds:write")
    ipa = tmp_path / "App.ipa"
    ipa.write_bytes(b"PK\x03\x04 not really")
    r = cli("upload", str(ipa), "--server", relay.url, "--token", token)
    assert r.returncode == 1 and ".ipa files are not supported" in r.stderr
    r = cli("upload", str(ipa), "--server", relay.url, "--token", "tflw_pat_" + "0" * 64)
    assert r.returncode == 1 and "401: Unauthorized" in r.stderr
    r = cli("upload", str(tmp_path / "missing.apk"), "--server", relay.url, "--token", token)
    assert r.returncode == 2 and "no such file" in r.stderr
    r = cli("upload", str(ipa))
    assert r.returncode == 2 and "--server and --token" in r.stderr


def test_upload_retries_network_errors_then_gives_up(tmp_path):
    path = bf.demo_apk(tmp_path / "app.apk")
    port = free_port()  # nothing listens there
    r = cli("upload", str(path), "--server", f"http://127.0.0.1:{port}", "--token", "tflw_pat_" + "0" * 64)
    assert r.returncode == 1
    assert r.stderr.count("retrying") == 2 and "network error" in r.stderr


def test_help_documents_every_command():
    out = cli("--help").stdout
    for command in ("serve", "agent", "ota-keys", "backup", "restore", "admin", "upload"):
        assert command in out
    assert "reset-password" in cli("admin", "--help").stdout


def test_an_oversize_build_is_refused_before_it_is_sent(relay_factory, tmp_path):
    """`relay upload` asks `Expect: 100-continue`: a build over the server's limit is refused at
    once, and not a byte of it crosses the network."""
    relay = relay_factory(env={"RELAY_MAX_BUILD_BYTES": str(1024 * 1024)})
    token = make_token(init_admin(relay), "builds:write")
    path = bf.demo_apk(tmp_path / "big.apk")
    with open(path, "ab") as fh:
        fh.write(bytes(3 * 1024 * 1024))
    r = cli("upload", str(path), "--server", relay.url, "--token", token)
    assert r.returncode == 1 and "413: Request body too large" in r.stderr
    assert "uploading" not in r.stderr  # no progress: nothing was sent
