"""`relay backup` and `relay restore`: a consistent archive taken while the relay runs, verified
on restore, and a restored relay with everything in it."""
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile

import pytest

import buildfiles as bf
from conftest import ADMIN_EMAIL, PASSWORD, ROOT, bearer, free_port, image_bytes, init_admin, make_token, spawn, wait_healthy


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, str(ROOT / "relay.py"), *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def web_bundle(version: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.html", f"<h1>{version}</h1>")
    return buf.getvalue()


def populate(relay, tmp_path):
    """A team with a build, a comment with a screenshot, and an OTA bundle released."""
    admin = init_admin(relay)
    qa_email = "qa@example.com"
    invite = admin.post("/api/v1/team/invite", json={"email": qa_email, "role": "QA"}).json()
    relay.client().post("/api/v1/invitations/accept", data={"token": invite["token"], "password": PASSWORD})
    ci = bearer(relay, make_token(admin, "builds:write,ota:write,view"))
    with open(bf.write_zip(tmp_path / "a.app.zip", bf.app_files()), "rb") as fh:
        build = ci.post("/api/v1/builds", files={"file": ("a.app.zip", fh)}).json()
    admin.post("/api/v1/comments", data={"build_id": build["id"], "body": "Looks good"},
               files={"attachment": ("s.png", image_bytes(), "image/png")})
    app = admin.get("/api/v1/apps").json()["items"][0]
    data = web_bundle("1.0.0")
    init = ci.post(f"/api/v1/apps/{app['uuid']}/bundles/initiate",
                   json={"version": "1.0.0", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}).json()
    put_url = init["presignedUrl"].replace(relay.services.base_url, relay.url)
    assert relay.client().put(put_url[len(relay.url):], data=data,
                              headers={"Content-Type": "application/zip"}).status_code == 200
    bundle = ci.post(f"/api/v1/apps/{app['uuid']}/bundles/finalize", json={"uploadId": init["uploadId"]}).json()
    ci.post(f"/api/v1/apps/{app['uuid']}/releases", json={"bundleId": bundle["id"]})
    return admin, build, app


def test_backup_while_running_then_restore_everything(relay_factory, tmp_path):
    relay = relay_factory(data_dir=tmp_path / "live")
    admin, build, app = populate(relay, tmp_path)
    archive = tmp_path / "backup.tar"
    r = cli("backup", "--data-dir", str(tmp_path / "live"), "--out", str(archive))
    assert r.returncode == 0, r.stderr
    assert "Backed up" in r.stdout
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert "relay.db" in names and "secret_key" in names and "ota_signing_key.pem" in names
    assert any(n.startswith("uploads/builds/") for n in names)
    assert set(manifest["files"]) == set(names) - {"manifest.json"}

    r = cli("restore", str(archive), "--data-dir", str(tmp_path / "restored"))
    assert r.returncode == 0, r.stderr
    restored = relay_factory(data_dir=tmp_path / "restored")
    c = restored.client()
    assert c.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}).ok
    assert c.post("/api/v1/auth/login", json={"email": "qa@example.com", "password": PASSWORD}).ok
    assert c.get(f"/api/v1/builds/{build['id']}").json()["version_name"] == "1.2.3"
    original = admin.get(f"/api/v1/builds/{build['id']}/download").content
    assert c.get(f"/api/v1/builds/{build['id']}/download").content == original
    comment = c.get(f"/api/v1/comments?build_id={build['id']}").json()[0]
    assert comment["body"] == "Looks good"
    assert c.get(comment["attachments"][0]["file_path"]).status_code == 200
    releases = c.get(f"/api/v1/apps/{app['uuid']}/releases").json()
    assert releases["total"] == 1 and releases["releases"][0]["bundleVersion"] == "1.0.0"
    manifest_url = f"/ota/manifests/{app['uuid']}/__base__/__default__/manifest.json"
    assert c.get(manifest_url).json()["version"] == "1.0.0"
    # The same signing key came back: devices keep trusting the restored relay.
    assert restored.services.signer.kid == relay.services.signer.kid


def test_damaged_backup_is_refused_and_changes_nothing(relay_factory, tmp_path):
    relay = relay_factory(data_dir=tmp_path / "live")
    populate(relay, tmp_path)
    archive = tmp_path / "backup.tar"
    assert cli("backup", "--data-dir", str(tmp_path / "live"), "--out", str(archive)).returncode == 0
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w") as dst:
        for member in src:
            data = src.extractfile(member).read()
            if member.name.startswith("uploads/builds/"):
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            dst.addfile(member, io.BytesIO(data))
    target = tmp_path / "target"
    r = cli("restore", str(damaged), "--data-dir", str(target))
    assert r.returncode == 1 and "checksum mismatch" in r.stderr
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".relay-restore")] == []
    r = cli("restore", str(tmp_path / "nope.tar"), "--data-dir", str(target))
    assert r.returncode == 1 and "no such file" in r.stderr
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    r = cli("restore", str(evil), "--data-dir", str(target))
    assert r.returncode == 1 and "unsafe path" in r.stderr
    assert not (tmp_path / "escape.txt").exists()


def test_restore_refuses_a_directory_a_running_relay_uses(tmp_path):
    port = free_port()
    proc = spawn(tmp_path / "live", port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        archive = tmp_path / "b.tar"
        assert cli("backup", "--data-dir", str(tmp_path / "live"), "--out", str(archive)).returncode == 0
        r = cli("restore", str(archive), "--data-dir", str(tmp_path / "live"), "--force")
        assert r.returncode == 1 and "a running relay uses" in r.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    r = cli("restore", str(archive), "--data-dir", str(tmp_path / "live"))
    assert r.returncode == 1 and "--force" in r.stderr
    r = cli("restore", str(archive), "--data-dir", str(tmp_path / "live"), "--force")
    assert r.returncode == 0, r.stderr
    assert [p for p in tmp_path.iterdir() if p.name.startswith("live.before-restore-")]


@pytest.mark.parametrize("args", [("backup", "--data-dir", "/nonexistent/relay")])
def test_backup_of_nothing_says_so(args):
    r = cli(*args)
    assert r.returncode == 1 and "no relay database" in r.stderr
