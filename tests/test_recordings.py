"""Screen recordings end to end over HTTP: upload (webm/mp4 by content), list, ranged download,
expiry after 72 hours, hostile names, size limit."""
import http.client
import re
from datetime import datetime, timedelta

import pytest

import buildfiles as bf
from conftest import bearer, init_admin, make_token
from relay.core import recordings
from relay.models import Recording
from relay.timeutil import utcnow

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
URL_RE = re.compile(r"^/api/v1/recordings/[0-9a-f]{32}\.(webm|mp4)$")
# Enough of each container for content detection: the EBML magic, and an ISO-BMFF 'ftyp' box.
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01" + bytes(range(256)) * 8
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 4


def videos(relay):
    d = relay.data_dir / "recordings" / "videos"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def tmp_files(relay):
    return sorted(p.name for p in (relay.data_dir / "tmp").iterdir())


def upload(client, data=WEBM, filename="rec.webm", mime="video/webm", **params):
    return client.post("/api/v1/recordings/upload", params=params,
                       files={"video": (filename, data, mime)})


def test_upload_list_download(relay, admin, member, build_id):
    qa = member("QA")
    r = upload(qa, sessionId="sess_abc-1", buildId=str(build_id))
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"url"} and URL_RE.match(r.json()["url"])
    webm_url = r.json()["url"]
    assert webm_url.endswith(".webm")
    # mp4 is recognised by its content, whatever the file is called.
    r = upload(qa, MP4, filename="rec.webm", mime="video/webm")
    assert r.status_code == 200, r.text
    mp4_url = r.json()["url"]
    assert mp4_url.endswith(".mp4")
    assert videos(relay) == sorted(u.rsplit("/", 1)[1] for u in (webm_url, mp4_url))
    assert tmp_files(relay) == []

    viewer = member("Viewer")
    listed = viewer.get("/api/v1/recordings").json()
    assert [i["url"] for i in listed] == [mp4_url, webm_url]  # newest first
    for item in listed:
        assert {"id", "url", "sessionId", "fileSize", "mime", "createdAt", "expiresAt"} <= set(item)
        assert ISO_MS.match(item["createdAt"]) and ISO_MS.match(item["expiresAt"])
        created = datetime.strptime(item["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
        expires = datetime.strptime(item["expiresAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert expires - created == timedelta(hours=72)
        assert abs(created - utcnow()) < timedelta(minutes=1)
    mp4, webm = listed
    assert (webm["sessionId"], webm["fileSize"], webm["mime"]) == ("sess_abc-1", len(WEBM), "video/webm")
    assert (mp4["sessionId"], mp4["fileSize"], mp4["mime"]) == (None, len(MP4), "video/mp4")

    # buildId filters.
    assert [i["url"] for i in viewer.get(f"/api/v1/recordings?buildId={build_id}").json()] == [webm_url]
    assert viewer.get(f"/api/v1/recordings?buildId={build_id + 1}").json() == []

    r = viewer.get(webm_url)
    assert r.status_code == 200 and r.content == WEBM
    assert r.headers["Content-Type"] == "video/webm"
    assert r.headers.get("Accept-Ranges") == "bytes"
    assert viewer.get(mp4_url).headers["Content-Type"] == "video/mp4"

    r = viewer.get(webm_url, headers={"Range": "bytes=4-19"})
    assert r.status_code == 206 and r.content == WEBM[4:20]
    assert r.headers["Content-Range"] == f"bytes 4-19/{len(WEBM)}"
    r = viewer.get(webm_url, headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == WEBM[-10:]
    r = viewer.get(webm_url, headers={"Range": f"bytes={len(WEBM) + 10}-"})
    assert r.status_code == 416

    anon = relay.client()
    assert anon.get(webm_url).status_code == 401
    assert anon.get("/api/v1/recordings").status_code == 401


def test_session_and_build_may_come_as_form_fields(relay, admin, build_id):
    r = admin.post("/api/v1/recordings/upload", data={"sessionId": "s1", "buildId": str(build_id)},
                   files={"video": ("r.webm", WEBM, "video/webm")})
    assert r.status_code == 200, r.text
    [item] = admin.get(f"/api/v1/recordings?buildId={build_id}").json()
    assert item["sessionId"] == "s1"


@pytest.mark.parametrize("params, files, status, message", [
    ({}, None, 400, "video required"),
    ({}, {"file": ("r.webm", WEBM, "video/webm")}, 400, "video required"),
    ({}, {"video": ("r.webm", b"", "video/webm")}, 400, "video must be a webm or mp4 file"),
    ({}, {"video": ("r.webm", b"<html>not a video</html>" * 10, "video/webm")}, 400,
     "video must be a webm or mp4 file"),
    ({}, {"video": ("r.mp4", b"\x00\x00\x00\x18moov" + bytes(64), "video/mp4")}, 400,
     "video must be a webm or mp4 file"),
    ({"sessionId": "a b"}, {"video": ("r.webm", WEBM, "video/webm")}, 400,
     "sessionId must be 1-128 letters, digits, '.', '_', ':' or '-'"),
    ({"sessionId": "x" * 129}, {"video": ("r.webm", WEBM, "video/webm")}, 400,
     "sessionId must be 1-128 letters, digits, '.', '_', ':' or '-'"),
    ({"sessionId": "sess\n"}, {"video": ("r.webm", WEBM, "video/webm")}, 400,
     "sessionId must be 1-128 letters, digits, '.', '_', ':' or '-'"),
    ({"buildId": "abc"}, {"video": ("r.webm", WEBM, "video/webm")}, 400, "buildId must be a number"),
    ({"buildId": "\u00b2"}, {"video": ("r.webm", WEBM, "video/webm")}, 400,
     "buildId must be a number"),
    ({"buildId": "9999"}, {"video": ("r.webm", WEBM, "video/webm")}, 404, "Build not found"),
    ({"buildId": "99999999999999999999999"}, {"video": ("r.webm", WEBM, "video/webm")}, 400,
     "buildId must be a number"),
])
def test_bad_uploads_leave_nothing(relay, admin, build_id, params, files, status, message):
    r = admin.post("/api/v1/recordings/upload", params=params, files=files,
                   data=None if files else {"x": "y"})
    assert r.status_code == status, r.text
    assert r.json() == {"error": message}
    assert Recording.select().count() == 0
    assert videos(relay) == [] and tmp_files(relay) == []
    assert admin.get("/api/v1/recordings").json() == []  # still serving


def test_list_filter_errors(relay, admin):
    for query, status, message in [("?buildId=abc", 400, "buildId must be a number"),
                                   ("?buildId=%C2%B2", 400, "buildId must be a number"),
                                   ("?buildId=-3", 400, "buildId must be a number"),
                                   ("?buildId=99999999999999999999999", 400,
                                    "buildId must be a number")]:
        r = admin.get("/api/v1/recordings" + query)
        assert r.status_code == status and r.json() == {"error": message}, (query, r.text)
    assert admin.get("/api/v1/recordings?buildId=").json() == []


def test_size_limit_is_413_and_leaves_nothing(relay_factory):
    relay = relay_factory(env={"RELAY_MAX_RECORDING_BYTES": "4096"})
    admin = init_admin(relay)
    assert upload(admin, (WEBM * 3)[:4096]).status_code == 200  # exactly the limit is fine
    Recording.delete().execute()
    for f in (relay.data_dir / "recordings" / "videos").iterdir():
        f.unlink()
    for size in (4097, 50_000, 300 * 1024):  # within the multipart slack, and far beyond it
        r = upload(admin, (WEBM * 300)[:size])
        assert r.status_code == 413, (size, r.text)
        assert "error" in r.json()
        assert Recording.select().count() == 0
        assert videos(relay) == [] and tmp_files(relay) == []
    assert admin.get("/api/v1/recordings").json() == []


def test_who_may_upload(relay, admin, member):
    viewer = member("Viewer")
    r = upload(viewer)
    assert r.status_code == 403 and r.json() == {"error": "Forbidden"}
    r = upload(relay.client())
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
    r = upload(bearer(relay, make_token(admin, "view")))
    assert r.status_code == 403 and r.json() == {"error": "Insufficient scope"}
    assert Recording.select().count() == 0 and videos(relay) == []
    assert upload(bearer(relay, make_token(admin, "builds:write"))).status_code == 200


def test_expired_recordings_are_gone_and_the_job_deletes_them(relay, admin):
    old_url = upload(admin, sessionId="old").json()["url"]
    new_url = upload(admin, MP4, sessionId="new").json()["url"]
    old_name, new_name = old_url.rsplit("/", 1)[1], new_url.rsplit("/", 1)[1]
    Recording.update(expires_at=utcnow() - timedelta(seconds=1)).where(
        Recording.session_id == "old").execute()

    r = admin.get(old_url)
    assert r.status_code == 404 and r.json() == {"error": "Recording not found"}
    assert admin.get(old_url, headers={"Range": "bytes=0-3"}).status_code == 404
    assert [i["sessionId"] for i in admin.get("/api/v1/recordings").json()] == ["new"]
    assert old_name in videos(relay)  # until the job runs

    assert recordings.expire(relay.services.recordings) == 1
    assert [r.session_id for r in Recording.select()] == ["new"]
    assert videos(relay) == [new_name]
    assert admin.get(new_url).content == MP4
    assert recordings.expire(relay.services.recordings) == 0
    # 72 hours later the other one goes too.
    assert recordings.expire(relay.services.recordings, now=utcnow() + timedelta(hours=72, seconds=1)) == 1
    assert Recording.select().count() == 0 and videos(relay) == []
    assert admin.get(new_url).status_code == 404


def raw_get(relay, path: str, cookie: str, follow: bool = True) -> tuple[int, bytes]:
    """Send `path` exactly as written: no client-side dot-segment removal or re-quoting.
    A redirect (Werkzeug merges `//`) is followed only within the recordings path."""
    conn = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.putheader("Cookie", cookie)
        conn.endheaders()
        response = conn.getresponse()
        status, body = response.status, response.read()
        if follow and status in (301, 302, 307, 308):
            location = response.getheader("Location").split("127.0.0.1:%d" % relay.port, 1)[-1]
            assert location.startswith("/api/v1/recordings/"), location
            return raw_get(relay, location, cookie, follow=False)
        return status, body
    finally:
        conn.close()


def test_hostile_names_are_404_and_never_reach_a_file(relay, admin):
    url = upload(admin).json()["url"]
    name = url.rsplit("/", 1)[1]
    bait = b"SECRET-BAIT-CONTENT"
    (relay.data_dir / "recordings" / "bait.webm").write_bytes(bait)
    (relay.data_dir / ("0" * 32 + ".webm")).write_bytes(bait)
    cookie = "; ".join(f"{k}={v}" for k, v in admin.cookies.items())
    base = "/api/v1/recordings/"
    paths = [
        base + "../relay.db", base + "../../relay.db", base + "..%2Frelay.db",
        base + "%2e%2e%2frelay.db", base + "%2E%2E%2F%2E%2E%2Frelay.db", base + "%2e%2e/relay.db",
        base + "..%2f..%2f" + "0" * 32 + ".webm", base + "../" + "0" * 32 + ".webm",
        base + "..%5c..%5crelay.db", base + "%252e%252e%252frelay.db",
        base + "../bait.webm", base + "..%2Fbait.webm", base + "bait.webm",
        base + "videos/" + name, base + "videos%2F" + name, base + name + "/",
        base + name + "%00", base + name + "%0A", base + name.upper(), base + "./" + name,
        base + "%2e/" + name, base + "/../relay.db", base + "/etc/passwd", base + "%2Fetc%2Fpasswd",
        base + "..", base + "%2e%2e", base + ".", base + "upload",
    ]
    for path in paths:
        status, body = raw_get(relay, path, cookie)
        assert status in (404, 400), (path, status, body[:200])
        assert bait not in body and b"SQLite format" not in body, path
        if status == 404:
            assert body.startswith(b"{") and b"error" in body, (path, body[:200])
    # The real name still works over the same raw path.
    assert raw_get(relay, url, cookie) == (200, WEBM)


def test_size_limit_holds_for_a_chunked_upload(relay_factory):
    relay = relay_factory(env={"RELAY_MAX_RECORDING_BYTES": "4096"})
    admin = init_admin(relay)
    boundary = "recbound"

    def body():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"video\"; "
               f"filename=\"r.webm\"\r\nContent-Type: video/webm\r\n\r\n").encode()
        for _ in range(40):
            yield WEBM
        yield f"\r\n--{boundary}--\r\n".encode()

    r = admin.post("/api/v1/recordings/upload", data=body(),
                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413 and "error" in r.json()
    assert Recording.select().count() == 0 and videos(relay) == [] and tmp_files(relay) == []


def test_deleting_a_build_removes_its_recording_files(relay, admin, build_id):
    url = upload(admin, buildId=str(build_id)).json()["url"]
    kept = upload(admin).json()["url"]
    assert admin.delete(f"/api/v1/builds/{build_id}").status_code in (200, 204)
    assert admin.get(url).status_code == 404
    assert [r["url"] for r in admin.get("/api/v1/recordings").json()] == [kept]
    assert videos(relay) == [kept.rsplit("/", 1)[1]]
