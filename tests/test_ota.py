"""OTA end to end over HTTP: apps by slug, upload sessions with presigned PUTs, finalize, releases
on lanes, signed manifests checked with an independent verifier, bundle downloads, the dynamic
manifest, device events, and every bad input with its clear error."""
import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import ROOT, bearer, init_admin, make_token
from relay import jobs
from relay.models import OtaBundle, OtaEvent, OtaRelease, OtaUpload
from relay.timeutil import utcnow

YEAR = 365 * 24 * 3600


# ---------------------------------------------------------------- helpers

def web_zip(version: str = "1.0.0", extra: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("index.html", f"<html><body>v{version}</body></html>")
        zf.writestr("assets/app.js", f"console.log({version!r});".encode() + extra)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def api(relay, admin):
    """A bearer client with an ota:write,view token, as the OtaKit CLI uses."""
    return bearer(relay, make_token(admin, "ota:write,view"))


def create_app(api, slug: str = "com.example.ota") -> dict:
    r = api.post("/api/v1/apps", json={"slug": slug})
    assert r.status_code == 201, r.text
    return r.json()


def initiate(api, app_ref, data: bytes, version: str, **extra) -> requests.Response:
    body = {"version": version, "size": len(data), "sha256": sha(data), **extra}
    return api.post(f"/api/v1/apps/{app_ref}/bundles/initiate", json=body)


def put(url: str, data: bytes, **headers) -> requests.Response:
    """The presigned PUT, as a storage client would send it: no Authorization header."""
    return requests.put(url, data=data, headers={"Content-Type": "application/zip", **headers},
                        timeout=30)


def upload(api, app_ref, version: str, data: bytes | None = None, **extra) -> dict:
    data = data if data is not None else web_zip(version)
    r = initiate(api, app_ref, data, version, **extra)
    assert r.status_code == 200, r.text
    r2 = put(r.json()["presignedUrl"], data)
    assert r2.status_code == 200, r2.text
    r3 = api.post(f"/api/v1/apps/{app_ref}/bundles/finalize", json={"uploadId": r.json()["uploadId"]})
    assert r3.status_code == 201, r3.text
    return r3.json()


def release(api, app_ref, bundle_id, channel=..., expect=201) -> dict:
    body = {"bundleId": bundle_id}
    if channel is not ...:
        body["channel"] = channel
    r = api.post(f"/api/v1/apps/{app_ref}/releases", json=body)
    assert r.status_code == expect, r.text
    return r.json()


def manifest_path(app_uuid, channel=None, runtime=None) -> str:
    return f"/ota/manifests/{app_uuid}/{channel or '__base__'}/{runtime or '__default__'}/manifest.json"


def ota_keys(data_dir: Path, env: dict | None = None) -> dict:
    """`relay ota-keys`, run as its own process as an operator would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    out = subprocess.run([sys.executable, str(ROOT / "relay.py"), "ota-keys", "--data-dir",
                          str(data_dir)], capture_output=True, text=True, timeout=60,
                         env={**full_env, **(env or {})})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# An independent verifier: rebuilds @otakit/capacitor-updater's canonical payload v2 from the
# manifest's own fields and checks the ES256 signature with `cryptography` (no relay code).

def canonical(manifest: dict, app_id: str) -> bytes:
    def nul(value):
        return "null" if value is None else str(value)
    sig = manifest["signature"]
    lines = ["MANIFEST",
             f"appId:{app_id}",
             f"channel:{nul(manifest.get('channel'))}",
             f"version:{manifest['version']}",
             f"sha256:{manifest['sha256']}",
             f"size:{manifest['size']}",
             f"runtimeVersion:{nul(manifest.get('runtimeVersion'))}",
             f"strategy:{manifest.get('strategy') or 'zip'}",
             f"forceImmediate:{'true' if manifest.get('forceImmediate') else 'false'}",
             f"encryption:{nul(manifest.get('encryption'))}",
             f"kid:{sig['kid']}",
             f"iat:{sig['iat']}",
             f"exp:{sig['exp']}"]
    return "\n".join(lines).encode()


def signature_ok(manifest: dict, app_id: str, key_entry: dict) -> bool:
    if manifest["signature"]["kid"] != key_entry["kid"]:
        return False
    public = serialization.load_der_public_key(base64.b64decode(key_entry["key"]))
    raw = manifest["signature"]["sig"]
    assert "=" not in raw and "+" not in raw and "/" not in raw  # base64url, no padding
    der = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    try:
        public.verify(der, canonical(manifest, app_id), ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def event(release_id, event_id="e-1", action="downloaded", **extra) -> dict:
    return {"eventId": event_id, "sentAt": "2025-05-15T12:00:00.000Z", "platform": "ios",
            "action": action, "bundleVersion": "1.0.0", "releaseId": release_id,
            "nativeBuild": 120, **extra}


# ---------------------------------------------------------------- the whole flow

def test_whole_flow_with_signed_manifest(relay, api, anon):
    created = create_app(api, "com.example.flow")
    app_id = created["id"]
    assert set(created) == {"id", "slug", "createdAt"} and created["slug"] == "com.example.flow"
    assert created["createdAt"].endswith("Z")
    again = api.post("/api/v1/apps", json={"slug": "com.example.flow"})
    assert again.status_code == 409 and again.json()["id"] == app_id

    # no release yet: the lane's manifest is a 404
    assert anon.get(manifest_path(app_id)).status_code == 404

    data = web_zip("1.0.0")
    r = initiate(api, app_id, data, "1.0.0", minNativeBuild=100)
    assert r.status_code == 200, r.text
    session = r.json()
    assert set(session) == {"uploadId", "presignedUrl", "storageKey", "expiresAt"}
    assert session["presignedUrl"].startswith(relay.services.base_url + "/ota/uploads/")
    assert "signature=" in session["presignedUrl"] and "expires=" in session["presignedUrl"]
    expires_at = datetime.strptime(session["expiresAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs((expires_at - utcnow()).total_seconds() - 3600) < 60
    assert put(session["presignedUrl"], data).status_code == 200
    r = api.post(f"/api/v1/apps/{app_id}/bundles/finalize", json={"uploadId": session["uploadId"]})
    assert r.status_code == 201, r.text
    bundle = r.json()
    assert bundle["version"] == "1.0.0" and bundle["sha256"] == sha(data)
    assert bundle["size"] == len(data) and bundle["minNativeBuild"] == 100
    assert bundle["runtimeVersion"] is None and bundle["createdAt"].endswith("Z")
    # finalizing again answers the same bundle
    r = api.post(f"/api/v1/apps/{app_id}/bundles/finalize", json={"uploadId": session["uploadId"]})
    assert r.status_code == 200 and r.json() == bundle

    listing = api.get(f"/api/v1/apps/{app_id}/bundles").json()
    assert listing["total"] == 1 and listing["bundles"][0]["id"] == bundle["id"]

    out = release(api, app_id, bundle["id"])
    assert out["previousRelease"] is None
    rel = out["release"]
    assert rel["channel"] is None and rel["bundleId"] == bundle["id"]
    assert rel["bundleVersion"] == "1.0.0" and rel["promotedAt"].endswith("Z")

    # the device manifest, with no credentials at all
    r = anon.get(manifest_path(app_id))
    assert r.status_code == 200, r.text
    assert "Authorization" not in r.request.headers and "Cookie" not in r.request.headers
    manifest = r.json()
    assert manifest["version"] == "1.0.0" and manifest["sha256"] == sha(data)
    assert manifest["size"] == len(data) and manifest["channel"] is None
    assert manifest["runtimeVersion"] is None and manifest["releaseId"] == rel["id"]
    assert manifest["signature"]["exp"] - manifest["signature"]["iat"] == YEAR
    max_age = int(r.headers["Cache-Control"].split("max-age=")[1].split(",")[0])
    assert 0 < max_age <= 300 and r.headers["ETag"]

    keys = ota_keys(relay.data_dir)
    assert set(keys) == {"kid", "key"} and manifest["signature"]["kid"] == keys["kid"]
    assert signature_ok(manifest, app_id, keys)
    for field, value in [("version", "1.0.1"), ("sha256", "0" * 64), ("size", len(data) + 1),
                         ("channel", "staging"), ("runtimeVersion", "2"), ("forceImmediate", True)]:
        tampered = {**manifest, field: value}
        assert not signature_ok(tampered, app_id, keys), field
    tampered = {**manifest, "signature": {**manifest["signature"], "exp": manifest["signature"]["exp"] + 1}}
    assert not signature_ok(tampered, app_id, keys)
    other_app = create_app(api, "com.example.other")["id"]
    assert not signature_ok(manifest, other_app, keys)

    # ETag → 304; the manifest is stored, not rebuilt per request
    etag = r.headers["ETag"]
    r304 = anon.get(manifest_path(app_id), headers={"If-None-Match": etag})
    assert r304.status_code == 304 and r304.content == b"" and r304.headers["ETag"] == etag
    assert "Connection" not in r304.headers  # a polling device keeps its connection
    assert anon.get(manifest_path(app_id)).json() == manifest

    # the bundle itself: unguessable URL, full and ranged, immutable
    url = manifest["url"]
    assert url.startswith(relay.services.base_url + "/ota/bundles/") and url.endswith(".zip")
    assert len(url.rsplit("/", 1)[1]) >= 32 + 4
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and r.content == data and sha(r.content) == manifest["sha256"]
    assert "immutable" in r.headers["Cache-Control"]
    r = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=30)
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"

    # the dynamic manifest
    hdr = {"X-App-Id": app_id, "X-Platform": "ios", "X-Native-Build": "120"}
    r = anon.get("/api/v1/manifest", headers=hdr)
    assert r.status_code == 200 and r.json() == manifest
    assert anon.get("/api/v1/manifest", headers={**hdr, "X-Current-Version": "1.0.0"}).status_code == 204
    r = anon.get("/api/v1/manifest", headers={**hdr, "X-Native-Build": "99"})
    assert r.status_code == 406
    assert r.json()["error"] == "native_build_too_old" and r.json()["minNativeBuild"] == 100

    # a second bundle replaces the first on the lane; the manifest changes with it
    b2 = upload(api, app_id, "1.1.0")
    out = release(api, app_id, b2["id"])
    assert out["previousRelease"]["id"] == rel["id"]
    rel2 = out["release"]
    r = anon.get(manifest_path(app_id), headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] != etag
    m2 = r.json()
    assert m2["version"] == "1.1.0" and m2["releaseId"] == rel2["id"] and signature_ok(m2, app_id, keys)
    # releasing the current bundle again is a conflict
    release(api, app_id, b2["id"], expect=409)

    # events count per release
    for i, action in enumerate(["downloaded", "downloaded", "applied", "rollback", "download_error"]):
        r = anon.post("/api/v1/ota/events", headers={"X-App-Id": app_id},
                      json=event(rel2["id"], f"ev-{i}", action, bundleVersion="1.1.0"))
        assert r.status_code == 202 and r.json() == {"accepted": True}
    history = api.get(f"/api/v1/apps/{app_id}/releases").json()
    assert history["total"] == 2 and [h["id"] for h in history["releases"]] == [rel2["id"], rel["id"]]
    assert history["releases"][0]["eventCounts"] == {"downloaded": 2, "download_error": 1,
                                                     "applied": 1, "rollback": 1}
    assert history["releases"][1]["eventCounts"] == {"downloaded": 0, "download_error": 0,
                                                     "applied": 0, "rollback": 0}
    assert [h["isCurrent"] for h in history["releases"]] == [True, False]
    assert history["releases"][0]["promotedBy"] == "admin@example.com"

    # revert: only the current release; the lane falls back, then to no update at all
    r = api.post(f"/api/v1/apps/{app_id}/releases/{rel['id']}/revert")
    assert r.status_code == 409
    r = api.post(f"/api/v1/apps/{app_id}/releases/{rel2['id']}/revert")
    assert r.status_code == 200, r.text
    assert r.json()["release"]["id"] == rel2["id"] and r.json()["currentRelease"]["id"] == rel["id"]
    m = anon.get(manifest_path(app_id)).json()
    assert m["version"] == "1.0.0" and m["releaseId"] == rel["id"] and signature_ok(m, app_id, keys)
    after = api.get(f"/api/v1/apps/{app_id}/releases").json()["releases"]
    assert [(h["isCurrent"], h["revertedAt"] is not None) for h in after] == [(False, True), (True, False)]
    r = api.post(f"/api/v1/apps/{app_id}/releases/{rel['id']}/revert")
    assert r.status_code == 200 and r.json()["currentRelease"] is None
    assert anon.get(manifest_path(app_id)).status_code == 404
    assert anon.get("/api/v1/manifest", headers=hdr).status_code == 404
    # a reverted bundle can be released again
    release(api, app_id, b2["id"])
    assert anon.get(manifest_path(app_id)).json()["version"] == "1.1.0"


def test_whole_flow_with_integer_app_id(relay, api, anon, admin):
    app_uuid = create_app(api, "com.example.intid")["id"]
    int_id = next(a["id"] for a in admin.get("/api/v1/apps").json()["items"]
                  if a.get("bundle_id_key") == "com.example.intid" or a.get("uuid") == app_uuid)
    assert isinstance(int_id, int)
    b = upload(api, int_id, "2.0.0")
    assert api.get(f"/api/v1/apps/{int_id}/bundles").json()["total"] == 1
    assert api.get(f"/api/v1/apps/{app_uuid}/bundles").json()["bundles"][0]["id"] == b["id"]
    rel = release(api, int_id, b["id"], channel="beta")["release"]
    assert rel["channel"] == "beta"
    m = anon.get(manifest_path(app_uuid, "beta")).json()
    assert m["version"] == "2.0.0" and signature_ok(m, app_uuid, ota_keys(relay.data_dir))
    hdr = {"X-App-Id": str(int_id), "X-Platform": "android", "X-Channel": "beta"}
    assert anon.get("/api/v1/manifest", headers=hdr).json() == m
    assert anon.post("/api/v1/ota/events", headers={"X-App-Id": str(int_id)},
                     json=event(rel["id"])).status_code == 202
    h = api.get(f"/api/v1/apps/{int_id}/releases?channel=beta").json()
    assert h["total"] == 1 and h["releases"][0]["eventCounts"]["downloaded"] == 1
    r = api.post(f"/api/v1/apps/{int_id}/releases/{rel['id']}/revert")
    assert r.status_code == 200 and r.json()["currentRelease"] is None
    assert api.delete(f"/api/v1/apps/{int_id}/bundles/{b['id']}").status_code == 409
    assert api.get("/api/v1/apps/999999/bundles").status_code == 404


# ---------------------------------------------------------------- lanes and channels

def test_channels_runtime_lanes_and_history_filters(relay, api, anon):
    app_id = create_app(api)["id"]
    base = upload(api, app_id, "1.0.0")
    stage = upload(api, app_id, "1.1.0-rc.1")
    rt2 = upload(api, app_id, "2.0.0", runtimeVersion="2")
    r_base = release(api, app_id, base["id"], channel=None)["release"]
    r_stage = release(api, app_id, stage["id"], channel="staging")["release"]
    r_rt2 = release(api, app_id, rt2["id"], channel="  ")["release"]  # blank: base channel
    assert r_base["channel"] is None and r_stage["channel"] == "staging" and r_rt2["channel"] is None
    # the same bundle on another channel is its own release; the base lane still has 1.0.0
    r_stage_base = release(api, app_id, stage["id"], channel="beta_2.x-y")["release"]
    keys = ota_keys(relay.data_dir)

    expected = {(None, None): "1.0.0", ("staging", None): "1.1.0-rc.1", (None, "2"): "2.0.0",
                ("beta_2.x-y", None): "1.1.0-rc.1"}
    for (channel, runtime), version in expected.items():
        m = anon.get(manifest_path(app_id, channel, runtime)).json()
        assert m["version"] == version and m["channel"] == channel and m["runtimeVersion"] == runtime
        assert signature_ok(m, app_id, keys)
    assert anon.get(manifest_path(app_id, "staging", "2")).status_code == 404
    assert anon.get(manifest_path(app_id, "nope")).status_code == 404
    assert anon.get(manifest_path("00000000-0000-4000-8000-000000000000")).status_code == 404
    hdr = {"X-App-Id": app_id, "X-Platform": "android"}
    assert anon.get("/api/v1/manifest", headers={**hdr, "X-Runtime-Version": "2"}).json()["version"] == "2.0.0"
    assert anon.get("/api/v1/manifest", headers={**hdr, "X-Channel": "staging"}).json()["version"] == "1.1.0-rc.1"

    every = api.get(f"/api/v1/apps/{app_id}/releases").json()
    assert every["total"] == 4
    assert [r["id"] for r in every["releases"]] == [r_stage_base["id"], r_rt2["id"], r_stage["id"], r_base["id"]]
    only_base = api.get(f"/api/v1/apps/{app_id}/releases?channel=").json()
    assert only_base["total"] == 2 and {r["id"] for r in only_base["releases"]} == {r_base["id"], r_rt2["id"]}
    staging = api.get(f"/api/v1/apps/{app_id}/releases?channel=staging").json()
    assert staging["total"] == 1 and staging["releases"][0]["id"] == r_stage["id"]
    page = api.get(f"/api/v1/apps/{app_id}/releases?limit=2&offset=1").json()
    assert page["total"] == 4 and [r["id"] for r in page["releases"]] == [r_rt2["id"], r_stage["id"]]

    for bad in ["base", "default", "Base", "a b", "x" * 65, "ü", "a/b", 5, True, ["x"]]:
        r = api.post(f"/api/v1/apps/{app_id}/releases", json={"bundleId": base["id"], "channel": bad})
        assert r.status_code == 400 and "channel" in r.json()["error"], (bad, r.text)
    assert api.get(f"/api/v1/apps/{app_id}/releases?channel=base").status_code == 400
    assert api.get(f"/api/v1/apps/{app_id}/releases?limit=x").status_code == 400
    assert api.get(f"/api/v1/apps/{app_id}/releases").json()["total"] == 4


def test_release_errors(relay, api):
    app_id = create_app(api)["id"]
    other = create_app(api, "com.example.second")["id"]
    b = upload(api, app_id, "1.0.0")
    url = f"/api/v1/apps/{app_id}/releases"
    assert api.post(url, data="{", headers={"Content-Type": "application/json"}).status_code == 400
    assert api.post(url, json={}).status_code == 400
    assert api.post(url, json={"bundleId": "not-a-uuid"}).status_code == 400
    assert api.post(url, json={"bundleId": "00000000-0000-4000-8000-000000000000"}).status_code == 404
    # another app's bundle is not found here
    assert api.post(f"/api/v1/apps/{other}/releases", json={"bundleId": b["id"]}).status_code == 404
    assert api.post(url, json={"bundleId": b["id"], "forceImmediate": "yes"}).status_code == 400
    assert api.get(url).json()["total"] == 0
    assert api.post(f"/api/v1/apps/{app_id}/releases/00000000-0000-4000-8000-000000000000/revert").status_code == 404
    assert api.post(f"/api/v1/apps/{app_id}/releases/nonsense/revert").status_code == 404
    assert api.post("/api/v1/apps/00000000-0000-4000-8000-000000000000/releases",
                    json={"bundleId": b["id"]}).status_code == 404


def test_racing_releases_keep_one_current_release_per_lane(relay, api, anon):
    app_id = create_app(api)["id"]
    bundles = [upload(api, app_id, f"3.0.{i}") for i in range(8)]
    results, barrier = [], threading.Barrier(len(bundles))

    def go(bundle):
        client = bearer(relay, api.headers["Authorization"].split(" ", 1)[1])
        barrier.wait()
        r = client.post(f"/api/v1/apps/{app_id}/releases", json={"bundleId": bundle["id"]})
        results.append(r)

    threads = [threading.Thread(target=go, args=(b,)) for b in bundles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * len(bundles), [r.text for r in results]
    outs = [r.json() for r in results]
    # the releases form one chain: each names the one before it, exactly one starts it
    previous = [o["previousRelease"]["id"] if o["previousRelease"] else None for o in outs]
    ids = [o["release"]["id"] for o in outs]
    assert previous.count(None) == 1 and len(set(previous)) == len(previous)
    chain, cur = [], None
    following = {p: i for p, i in zip(previous, ids)}
    while cur in following:
        cur = following[cur]
        chain.append(cur)
    assert sorted(chain) == sorted(ids)
    history = api.get(f"/api/v1/apps/{app_id}/releases?limit=100").json()
    assert history["total"] == len(bundles)
    assert [r["id"] for r in history["releases"]] == chain[::-1]
    m = anon.get(manifest_path(app_id)).json()
    assert m["releaseId"] == chain[-1]

    # the same bundle released twice at once: one wins, the other is a conflict
    extra = upload(api, app_id, "3.1.0")
    results.clear()
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=go, args=(extra,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [201, 409]
    assert anon.get(manifest_path(app_id)).json()["version"] == "3.1.0"
    assert OtaRelease.select().where(OtaRelease.bundle == extra["id"]).count() == 1


# ---------------------------------------------------------------- bundles: bad input

def test_create_app_by_slug_errors(relay, api, member):
    for bad in ["ab", "x" * 121, "has space", "a/b", "", None, 42]:
        r = api.post("/api/v1/apps", json={"slug": bad})
        assert r.status_code == 400 and "slug" in r.json()["error"], (bad, r.text)
    assert api.post("/api/v1/apps", data="{nope", headers={"Content-Type": "application/json"}).status_code == 400
    qa = member("QA")
    assert qa.post("/api/v1/apps", json={"slug": "com.example.qa"}).status_code == 403
    dev = member("Developer")
    assert dev.post("/api/v1/apps", json={"slug": "com.example.dev"}).status_code == 201


def test_initiate_bad_input(relay, api):
    app_id = create_app(api)["id"]
    url = f"/api/v1/apps/{app_id}/bundles/initiate"
    good = {"version": "1.0.0", "size": 1000, "sha256": "a" * 64}
    assert api.post(url, data="{", headers={"Content-Type": "application/json"}).status_code == 400
    assert api.post(url, data="[1]", headers={"Content-Type": "application/json"}).status_code == 400
    cases = [
        ({**good, "version": None}, "version"), ({**good, "version": ""}, "version"),
        ({**good, "version": "x" * 65}, "version"), ({**good, "version": "1 0"}, "version"),
        ({**good, "version": "../1"}, "version"),
        ({**good, "size": None}, "size"), ({**good, "size": 0}, "size"), ({**good, "size": -1}, "size"),
        ({**good, "size": "1000"}, "size"), ({**good, "size": 1.5}, "size"), ({**good, "size": True}, "size"),
        ({**good, "sha256": None}, "sha256"), ({**good, "sha256": "a" * 63}, "sha256"),
        ({**good, "sha256": "g" * 64}, "sha256"),
        ({**good, "minNativeBuild": "100"}, "minNativeBuild"), ({**good, "minNativeBuild": -1}, "minNativeBuild"),
        ({**good, "runtimeVersion": "a b"}, "runtimeVersion"),
    ]
    for body, field in cases:
        r = api.post(url, json=body)
        assert r.status_code == 400 and field in r.json()["error"], (body, r.text)
    r = api.post(url, json={**good, "size": 100 * 1024 * 1024 + 1})
    assert r.status_code == 413 and "size" in r.json()["error"]
    assert api.post(url, json={**good, "size": 100 * 1024 * 1024}).status_code == 200
    assert api.post("/api/v1/apps/00000000-0000-4000-8000-000000000000/bundles/initiate",
                    json=good).status_code == 404
    assert api.post("/api/v1/apps/424242/bundles/initiate", json=good).status_code == 404
    upload(api, app_id, "1.0.0-taken")
    r = api.post(url, json={**good, "version": "1.0.0-taken"})
    assert r.status_code == 409 and "1.0.0-taken" in r.json()["error"]


def test_bundle_limit_is_configurable(relay_factory):
    relay = relay_factory({"RELAY_MAX_BUNDLE_BYTES": "5000"})
    api = bearer(relay, make_token(init_admin(relay), "ota:write"))
    app_id = create_app(api)["id"]
    url = f"/api/v1/apps/{app_id}/bundles/initiate"
    r = api.post(url, json={"version": "1", "size": 5001, "sha256": "a" * 64})
    assert r.status_code == 413
    assert api.post(url, json={"version": "1", "size": 5000, "sha256": "a" * 64}).status_code == 200


def test_presigned_put_and_finalize_errors(relay, api, anon):
    app_id = create_app(api)["id"]
    data = web_zip("1.0.0")
    session = initiate(api, app_id, data, "1.0.0").json()
    url, upload_id = session["presignedUrl"], session["uploadId"]
    finalize = f"/api/v1/apps/{app_id}/bundles/finalize"
    store_path = relay.services.store.path(session["storageKey"])

    # finalize before anything was uploaded
    r = api.post(finalize, json={"uploadId": upload_id})
    assert r.status_code == 400 and "upload" in r.json()["error"].lower()
    assert api.post(finalize, json={}).status_code == 400
    assert api.post(finalize, json={"uploadId": "nope"}).status_code == 400
    assert api.post(finalize, json={"uploadId": "00000000-0000-4000-8000-000000000000"}).status_code == 404
    assert api.post(finalize, data="{", headers={"Content-Type": "application/json"}).status_code == 400

    # tampered or incomplete URLs
    tampered = url.replace("signature=", "signature=0")[: len(url)]
    assert put(tampered, data).status_code == 403
    base = url.split("?", 1)[0]
    assert put(base, data).status_code == 403
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    assert put(f"{base}?expires={int(query['expires']) + 3600}&signature={query['signature']}", data).status_code == 403
    other = initiate(api, app_id, data, "1.0.1").json()
    assert put(other["presignedUrl"].split("?")[0] + "?" + url.split("?", 1)[1], data).status_code == 403
    # an expired URL, correctly signed
    from relay.core.ota.bundles import _url_signature
    past = int(utcnow().timestamp()) - 10
    expired = f"{base}?expires={past}&signature={_url_signature(relay.services.secret, upload_id, past)}"
    r = put(expired, data)
    assert r.status_code == 403 and "expired" in r.json()["error"]

    # wrong content type, wrong length
    assert put(url, data, **{"Content-Type": "application/octet-stream"}).status_code == 400
    r = put(url, data + b"x")
    assert r.status_code == 400 and "Content-Length" in r.json()["error"]
    assert put(url, data[:-1]).status_code == 400
    assert not store_path.exists()

    # right size, wrong bytes: the PUT is kept (as S3 would) but finalize refuses it
    wrong = bytes(len(data))
    assert put(url, wrong).status_code == 200
    r = api.post(finalize, json={"uploadId": upload_id})
    assert r.status_code == 400 and "SHA-256" in r.json()["error"]
    assert api.get(f"/api/v1/apps/{app_id}/bundles").json()["total"] == 0
    # a later PUT replaces the object; now it finalizes
    assert put(url, data).status_code == 200
    assert api.post(finalize, json={"uploadId": upload_id}).status_code == 201
    # the session cannot be written again once finalized
    r = put(url, data)
    assert r.status_code == 409
    assert sha(store_path.read_bytes()) == sha(data)

    # a zip with no index.html, or not a zip at all
    for version, payload in [("9.0.0", b"not a zip at all"), ("9.0.1", _zip_without_index())]:
        s = initiate(api, app_id, payload, version).json()
        assert put(s["presignedUrl"], payload).status_code == 200
        r = api.post(finalize, json={"uploadId": s["uploadId"]})
        assert r.status_code == 400, r.text
    assert api.get(f"/api/v1/apps/{app_id}/bundles").json()["total"] == 1
    # another app cannot finalize this app's session
    other_app = create_app(api, "com.example.else")["id"]
    assert api.post(f"/api/v1/apps/{other_app}/bundles/finalize",
                    json={"uploadId": other["uploadId"]}).status_code == 404


def test_a_presigned_put_is_spooled_while_it_arrives_and_nothing_is_left(relay, api):
    """The bundle streams into the data directory as it comes (written once, hashed on the way);
    a PUT abandoned halfway leaves nothing and the session can be written again."""
    import socket
    from urllib.parse import urlsplit
    app_id = create_app(api)["id"]
    data = web_zip("1.0.0", extra=os.urandom(6 * 1024 * 1024))
    session = initiate(api, app_id, data, "1.0.0").json()
    url = urlsplit(session["presignedUrl"])
    head = (f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: x\r\nContent-Type: application/zip\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    tmp = relay.data_dir / "tmp"

    def wait_for(count):
        deadline = time.monotonic() + 5
        while len(list(tmp.iterdir())) != count and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(list(tmp.iterdir()))

    with socket.create_connection(("127.0.0.1", relay.port)) as sock:  # abandoned halfway
        sock.sendall(head + data[:len(data) // 2])
        assert wait_for(1) == 1
    assert wait_for(0) == 0
    with socket.create_connection(("127.0.0.1", relay.port)) as sock:
        sock.sendall(head + data[:len(data) // 2])
        assert wait_for(1) == 1  # half the bundle is in tmp/ already
        sock.sendall(data[len(data) // 2:])
        sock.settimeout(10)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 ") and f'"{sha(data)}"'.encode() in answer
    assert wait_for(0) == 0
    r = api.post(f"/api/v1/apps/{app_id}/bundles/finalize", json={"uploadId": session["uploadId"]})
    assert r.status_code == 201 and r.json()["sha256"] == sha(data)


def test_a_presigned_put_works_under_another_wsgi_server(relay, api):
    app_id = create_app(api)["id"]
    data = web_zip("1.0.0")
    session = initiate(api, app_id, data, "1.0.0").json()
    path = session["presignedUrl"].split("://", 1)[1].split("/", 1)[1]
    r = relay.app.test_client().put("/" + path, data=data, content_type="application/zip")
    assert r.status_code == 200 and r.headers["ETag"] == f'"{sha(data)}"'
    r = api.post(f"/api/v1/apps/{app_id}/bundles/finalize", json={"uploadId": session["uploadId"]})
    assert r.status_code == 201
    assert list((relay.data_dir / "tmp").iterdir()) == []


def _zip_without_index() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("www/index.html", "<html></html>")
    return buf.getvalue()


def test_second_session_for_a_version_conflicts_at_finalize(relay, api):
    app_id = create_app(api)["id"]
    data = web_zip("1.0.0")
    s1 = initiate(api, app_id, data, "1.0.0").json()
    s2 = initiate(api, app_id, data, "1.0.0").json()
    for s in (s1, s2):
        assert put(s["presignedUrl"], data).status_code == 200
    assert api.post(f"/api/v1/apps/{app_id}/bundles/finalize", json={"uploadId": s1["uploadId"]}).status_code == 201
    r = api.post(f"/api/v1/apps/{app_id}/bundles/finalize", json={"uploadId": s2["uploadId"]})
    assert r.status_code == 409
    assert api.get(f"/api/v1/apps/{app_id}/bundles").json()["total"] == 1


def test_expired_session_is_gone_and_the_job_removes_it(relay, api):
    app_id = create_app(api)["id"]
    data = web_zip("1.0.0")
    session = initiate(api, app_id, data, "1.0.0").json()
    assert put(session["presignedUrl"], data).status_code == 200
    path = relay.services.store.path(session["storageKey"])
    assert path.is_file()
    OtaUpload.update(expires_at=utcnow() - timedelta(seconds=1)).where(
        OtaUpload.id == session["uploadId"]).execute()
    finalize = f"/api/v1/apps/{app_id}/bundles/finalize"
    r = api.post(finalize, json={"uploadId": session["uploadId"]})
    assert r.status_code == 410 and "expired" in r.json()["error"]
    assert put(session["presignedUrl"], data).status_code == 410

    # a finalized session and a live one are left alone by the job
    done = upload(api, app_id, "2.0.0")
    live = initiate(api, app_id, data, "3.0.0").json()
    jobs.run("expire_ota_uploads", relay.services)
    assert not path.exists()
    assert OtaUpload.get_or_none(OtaUpload.id == session["uploadId"]) is None
    assert OtaUpload.get_or_none(OtaUpload.id == live["uploadId"]) is not None
    assert api.post(finalize, json={"uploadId": session["uploadId"]}).status_code == 404
    bundle_path = relay.services.store.path(OtaBundle.get_by_id(done["id"]).file_key)
    assert bundle_path.is_file()


def test_list_and_delete_bundles(relay, api, anon):
    app_id = create_app(api)["id"]
    made = [upload(api, app_id, f"1.0.{i}") for i in range(5)]
    listing = api.get(f"/api/v1/apps/{app_id}/bundles").json()
    assert listing["total"] == 5 and [b["id"] for b in listing["bundles"]] == [b["id"] for b in made[::-1]]
    page = api.get(f"/api/v1/apps/{app_id}/bundles?limit=2&offset=2").json()
    assert page["total"] == 5 and [b["id"] for b in page["bundles"]] == [made[2]["id"], made[1]["id"]]
    for bad in ["limit=0", "limit=x", "offset=-1"]:
        assert api.get(f"/api/v1/apps/{app_id}/bundles?{bad}").status_code == 400

    release(api, app_id, made[0]["id"])
    rel = release(api, app_id, made[1]["id"], channel="qa")["release"]
    api.post(f"/api/v1/apps/{app_id}/releases/{rel['id']}/revert")
    # still in the (reverted) history: cannot be deleted
    for b in made[:2]:
        r = api.delete(f"/api/v1/apps/{app_id}/bundles/{b['id']}")
        assert r.status_code == 409 and "release" in r.json()["error"]
    path = relay.services.store.path(OtaBundle.get_by_id(made[4]["id"]).file_key)
    r = api.delete(f"/api/v1/apps/{app_id}/bundles/{made[4]['id']}")
    assert r.status_code == 200 and r.json() == {"deleted": True, "id": made[4]["id"]}
    assert not path.exists()
    assert api.delete(f"/api/v1/apps/{app_id}/bundles/{made[4]['id']}").status_code == 404
    assert api.delete(f"/api/v1/apps/{app_id}/bundles/not-a-uuid").status_code in (400, 404)
    assert api.get(f"/api/v1/apps/{app_id}/bundles").json()["total"] == 4
    # its version is free again
    upload(api, app_id, "1.0.4")
    assert anon.get(f"/ota/bundles/{path.name}").status_code == 404


# ---------------------------------------------------------------- downloads and manifests

def test_bundle_download_paths(relay, api, anon):
    assert anon.get("/ota/bundles/" + "0" * 32 + ".zip").status_code == 404
    assert anon.get("/ota/bundles/..%2Frelay.db").status_code == 404
    assert anon.get("/ota/bundles/x.zip").status_code == 404
    app_id = create_app(api)["id"]
    data = web_zip("1.0.0", extra=os.urandom(3000))
    upload(api, app_id, "1.0.0", data)
    release(api, app_id, OtaBundle.get().id)
    url = anon.get(manifest_path(app_id)).json()["url"]
    r = requests.get(url, headers={"Range": f"bytes={len(data) - 100}-"}, timeout=30)
    assert r.status_code == 206 and r.content == data[-100:]
    r = requests.get(url, headers={"Range": f"bytes={len(data) + 10}-"}, timeout=30)
    assert r.status_code == 416


def test_dynamic_manifest_bad_headers(relay, api, anon):
    app_id = create_app(api)["id"]
    b = upload(api, app_id, "1.0.0")
    release(api, app_id, b["id"])
    ok = {"X-App-Id": app_id, "X-Platform": "ios"}
    assert anon.get("/api/v1/manifest", headers=ok).status_code == 200
    for headers in [{"X-Platform": "ios"}, {**ok, "X-Platform": "windows"}, {"X-App-Id": app_id},
                    {**ok, "X-Native-Build": "12a"}, {**ok, "X-Channel": "base"},
                    {**ok, "X-Channel": "bad name"}, {**ok, "X-Runtime-Version": "a b"}]:
        r = anon.get("/api/v1/manifest", headers=headers)
        assert r.status_code == 400 and r.json()["error"], (headers, r.text)
    r = anon.get("/api/v1/manifest", headers={**ok, "X-App-Id": "00000000-0000-4000-8000-000000000000"})
    assert r.status_code == 404
    # no minNativeBuild on the bundle: any native build gets it
    assert anon.get("/api/v1/manifest", headers={**ok, "X-Native-Build": "1"}).status_code == 200


def test_signing_key_file_is_private_and_matches_ota_keys(relay, api, anon):
    app_id = create_app(api)["id"]
    release(api, app_id, upload(api, app_id, "1.0.0")["id"])
    key_files = [p for p in relay.data_dir.iterdir() if "ota" in p.name and "key" in p.name]
    assert len(key_files) == 1
    assert key_files[0].stat().st_mode & 0o777 == 0o600
    keys = ota_keys(relay.data_dir)
    private = serialization.load_pem_private_key(key_files[0].read_bytes(), password=None)
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    assert base64.b64decode(keys["key"]) == der
    assert signature_ok(anon.get(manifest_path(app_id)).json(), app_id, keys)
    # the key survives a restart: `ota-keys` prints the same entry again
    assert ota_keys(relay.data_dir) == keys


def test_signing_key_from_environment(relay_factory, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    relay = relay_factory({"RELAY_OTA_SIGNING_KEY": pem})
    api = bearer(relay, make_token(init_admin(relay), "ota:write,view"))
    app_id = create_app(api)["id"]
    release(api, app_id, upload(api, app_id, "1.0.0")["id"])
    manifest = requests.get(relay.url + manifest_path(app_id), timeout=30).json()
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    keys = ota_keys(relay.data_dir, {"RELAY_OTA_SIGNING_KEY": pem})
    assert base64.b64decode(keys["key"]) == der
    assert manifest["signature"]["kid"] == keys["kid"]
    assert signature_ok(manifest, app_id, keys)
    # verified with the environment's key itself, not only with what the relay prints
    sig = manifest["signature"]["sig"]
    key.public_key().verify(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)),
                            canonical(manifest, app_id), ec.ECDSA(hashes.SHA256()))
    assert not any("ota" in p.name and "key" in p.name for p in relay.data_dir.iterdir())


def test_bad_signing_key_in_environment_is_a_config_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    out = subprocess.run([sys.executable, str(ROOT / "relay.py"), "ota-keys", "--data-dir",
                          str(tmp_path / "d")], capture_output=True, text=True, timeout=60,
                         env={**env, "RELAY_OTA_SIGNING_KEY": "not a pem"})
    assert out.returncode == 2 and "ota_signing_key" in out.stderr


# ---------------------------------------------------------------- events

def test_events_idempotent_validated_and_rate_limited(relay, api, anon):
    from relay.core.ratelimit import WindowLimiter
    app_id = create_app(api)["id"]
    b = upload(api, app_id, "1.0.0")
    rel = release(api, app_id, b["id"])["release"]
    url, hdr = "/api/v1/ota/events", {"X-App-Id": app_id}

    assert anon.post(url, headers=hdr, json=event(rel["id"], "dup")).status_code == 202
    assert anon.post(url, headers=hdr, json=event(rel["id"], "dup")).status_code == 202
    assert OtaEvent.select().count() == 1

    bad = [event(rel["id"], "b1", action="exploded"), {k: v for k, v in event(rel["id"], "b2").items() if k != "eventId"},
           {k: v for k, v in event(rel["id"], "b3").items() if k != "platform"},
           {k: v for k, v in event(rel["id"], "b4").items() if k != "releaseId"},
           {k: v for k, v in event(rel["id"], "b5").items() if k != "bundleVersion"},
           {k: v for k, v in event(rel["id"], "b6").items() if k != "action"},
           event(rel["id"], "b7", detail="x" * 100_000), event(rel["id"], "b8", detail={"a": 1}),
           event(rel["id"], "x" * 1000)]
    for body in bad:
        r = anon.post(url, headers=hdr, json=body)
        assert r.status_code == 400 and r.json()["error"], (body, r.text)
    assert anon.post(url, headers=hdr, data="{", ).status_code == 400
    assert anon.post(url, json=event(rel["id"], "nohdr")).status_code == 400
    assert anon.post(url, headers={"X-App-Id": "00000000-0000-4000-8000-000000000000"},
                     json=event(rel["id"], "x")).status_code == 404
    assert OtaEvent.select().count() == 1  # nothing half-written
    huge = anon.post(url, headers=hdr, json=event(rel["id"], "huge", detail="y" * (2 * 1024 * 1024)))
    assert huge.status_code in (400, 413)
    assert OtaEvent.select().count() == 1
    assert anon.post(url, headers=hdr, json=event(rel["id"], "okdetail", detail="stack trace " * 50)).status_code == 202

    relay.services.ota_events = WindowLimiter(3, 60)
    other = create_app(api, "com.example.quiet")["id"]
    for i in range(3):
        assert anon.post(url, headers=hdr, json=event(rel["id"], f"rl-{i}")).status_code == 202
    r = anon.post(url, headers=hdr, json=event(rel["id"], "rl-3"))
    assert r.status_code == 429 and r.json()["error"] and int(r.headers["Retry-After"]) > 0
    # the limit is per app
    assert anon.post(url, headers={"X-App-Id": other}, json=event(rel["id"], "other")).status_code == 202
    assert OtaEvent.select().where(OtaEvent.event_id == "rl-3").count() == 0
    counts = api.get(f"/api/v1/apps/{app_id}/releases").json()["releases"][0]["eventCounts"]
    assert counts["downloaded"] == 5


# ---------------------------------------------------------------- permissions

def test_permissions(relay, admin, member, anon):
    api = bearer(relay, make_token(admin, "ota:write,view"))
    app_id = create_app(api)["id"]
    b = upload(api, app_id, "1.0.0")
    view = bearer(relay, make_token(admin, "view"))
    builds = bearer(relay, make_token(admin, "builds:write"))
    qa, viewer, dev = member("QA"), member("Viewer"), member("Developer")
    reads = [f"/api/v1/apps/{app_id}/bundles", f"/api/v1/apps/{app_id}/releases"]
    for client in (view, qa, viewer, dev, admin):
        for path in reads:
            assert client.get(path).status_code == 200, path
    for path in reads:
        assert anon.get(path).status_code == 401
    good = {"version": "2.0.0", "size": 10, "sha256": "a" * 64}
    for client, status in [(view, 403), (builds, 403), (qa, 403), (viewer, 403), (anon, 401)]:
        assert client.post(f"/api/v1/apps/{app_id}/bundles/initiate", json=good).status_code == status
        assert client.post(f"/api/v1/apps/{app_id}/releases", json={"bundleId": b["id"]}).status_code == status
        assert client.delete(f"/api/v1/apps/{app_id}/bundles/{b['id']}").status_code == status
    assert api.get(f"/api/v1/apps/{app_id}/releases").json()["total"] == 0
    # a Developer's cookie session can do it all
    assert dev.post(f"/api/v1/apps/{app_id}/bundles/initiate", json=good).status_code == 200
    rel = dev.post(f"/api/v1/apps/{app_id}/releases", json={"bundleId": b["id"]})
    assert rel.status_code == 201
    assert dev.post(f"/api/v1/apps/{app_id}/releases/{rel.json()['release']['id']}/revert").status_code == 200
    # an ota:write token of a QA member is capped by the role
    qa_token = bearer(relay, make_token(qa, "ota:write,view"))
    assert qa_token.get(f"/api/v1/apps/{app_id}/bundles").status_code == 200
    assert qa_token.post(f"/api/v1/apps/{app_id}/bundles/initiate", json=good).status_code == 403


def test_deleting_an_app_removes_its_ota_data(relay, api, admin, anon):
    app_uuid = create_app(api)["id"]
    int_id = next(a["id"] for a in admin.get("/api/v1/apps").json()["items"] if a.get("uuid") == app_uuid)
    b = upload(api, app_uuid, "1.0.0")
    release(api, app_uuid, b["id"])
    pending = initiate(api, app_uuid, web_zip("2"), "2.0.0").json()
    assert put(pending["presignedUrl"], web_zip("2")).status_code == 200
    files = [relay.services.store.path(OtaBundle.get_by_id(b["id"]).file_key),
             relay.services.store.path(pending["storageKey"])]
    assert all(f.is_file() for f in files)
    r = admin.delete(f"/api/v1/apps/{int_id}")
    assert r.status_code in (200, 204), r.text
    assert not any(f.exists() for f in files)
    assert anon.get(manifest_path(app_uuid)).status_code == 404
    assert OtaRelease.select().count() == 0 and OtaBundle.select().count() == 0


def test_manifests_are_signed_again_only_when_needed(relay, api, anon):
    """Restarts and the daily job keep fresh manifests byte for byte (devices keep their ETag);
    a new public URL or a signature near its end gets a new signature."""
    from relay.core.ota import releases as ota_releases
    app_id = create_app(api)["id"]
    release(api, app_id, upload(api, app_id, "1.0.0")["id"])
    first = anon.get(manifest_path(app_id))
    jobs.run("refresh_ota_manifests", relay.services)
    assert anon.get(manifest_path(app_id)).content == first.content
    etag = first.headers["ETag"]
    assert anon.get(manifest_path(app_id), headers={"If-None-Match": etag}).status_code == 304
    assert anon.get(manifest_path(app_id), headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
    assert anon.get(manifest_path(app_id), headers={"If-None-Match": "*"}).status_code == 304
    signer = relay.services.signer
    assert ota_releases.refresh_manifests(signer, "https://relay.example.test") == 1
    moved = anon.get(manifest_path(app_id)).json()
    assert moved["url"].startswith("https://relay.example.test/ota/bundles/")
    assert signature_ok(moved, app_id, ota_keys(relay.data_dir))
    near_end = moved["signature"]["exp"] - 10 * 24 * 3600
    assert ota_releases.refresh_manifests(signer, "https://relay.example.test", now=near_end) == 1
    renewed = anon.get(manifest_path(app_id)).json()
    assert renewed["signature"]["iat"] == int(near_end)
    assert signature_ok(renewed, app_id, ota_keys(relay.data_dir))
    assert anon.get("/ota/keys.json").json() == [ota_keys(relay.data_dir)]
