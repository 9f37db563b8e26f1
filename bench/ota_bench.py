"""Requests/second of the device manifest URL (200, and 304 with If-None-Match) beside GET /healthz
on one relay (target: each >= 90% of healthz). Each figure is the best of two interleaved rounds.

Run: .venv/bin/python bench/ota_bench.py [seconds]
"""
import hashlib
import http.client
import io
import json
import sys
import zipfile
from urllib.parse import urlsplit

from common import RelayProcess, best_rps, request

PASSWORD = "bench-password-1"
TARGET = 0.9


def _bundle() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("index.html", "<html><body>bench</body></html>")
        zf.writestr("main.js", "console.log('bench');" * 200)
    return buf.getvalue()


def _call(port, method, path, body=None, headers=None) -> dict:
    status, _, payload = request(port, method, path, body, headers)
    if status not in (200, 201):
        raise RuntimeError(f"{method} {path}: {status} {payload[:200]!r}")
    return json.loads(payload) if payload else {}


def _put(port, url: str, data: bytes) -> None:
    """The presigned PUT, sent to this relay whatever host its public URL names."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("PUT", f"{parts.path}?{parts.query}", body=data,
                 headers={"Content-Type": "application/zip", "Content-Length": str(len(data))})
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        raise RuntimeError(f"presigned PUT: {resp.status}")


def setup(port) -> tuple[str, str]:
    """One released bundle; returns (manifest path, its ETag)."""
    request(port, "POST", "/api/v1/auth/init", {"email": "bench@example.com", "password": PASSWORD})
    status, cookie, _ = request(port, "POST", "/api/v1/auth/login",
                                {"email": "bench@example.com", "password": PASSWORD})
    assert status == 200, status
    auth = {"Cookie": cookie.split(";", 1)[0]}
    app_id = _call(port, "POST", "/api/v1/apps", {"slug": "com.example.bench"}, auth)["id"]
    data = _bundle()
    session = _call(port, "POST", f"/api/v1/apps/{app_id}/bundles/initiate",
                    {"version": "1.0.0", "size": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()}, auth)
    _put(port, session["presignedUrl"], data)
    bundle = _call(port, "POST", f"/api/v1/apps/{app_id}/bundles/finalize",
                   {"uploadId": session["uploadId"]}, auth)
    _call(port, "POST", f"/api/v1/apps/{app_id}/releases", {"bundleId": bundle["id"]}, auth)
    path = f"/ota/manifests/{app_id}/__base__/__default__/manifest.json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200, resp.status
    etag = resp.getheader("ETag")
    conn.request("GET", path, headers={"If-None-Match": etag})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 304, resp.status
    return path, etag


def main(seconds: float = 5.0) -> int:
    relay = RelayProcess()
    try:
        path, etag = setup(relay.port)
        health, full, cached = best_rps(relay.port, [
            ("/healthz", None), (path, None), (path, {"If-None-Match": etag})], seconds=seconds)
    finally:
        relay.stop()
    print(f"GET /healthz                   {health:8.0f} req/s")
    print(f"GET manifest.json (200)        {full:8.0f} req/s  ({full / health:.0%} of healthz; "
          f"target >= {TARGET:.0%})")
    print(f"GET manifest.json (304, ETag)  {cached:8.0f} req/s  ({cached / health:.0%} of healthz; "
          f"target >= {TARGET:.0%})")
    return 0 if min(full, cached) / health >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))
