"""Request bodies as they arrive (relay/bodies.py): route limits applied before a body is stored,
multipart parsed on arrival, and what a client sees for well-formed, malformed, oversized,
abandoned and unauthorized bodies, with nothing left behind."""
import errno
import hashlib
import http.client
import io
import json
import socket
import time
import zipfile

import pytest

import buildfiles as bf
from conftest import make_token

BOUNDARY = "relay-test-boundary"


def part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + value + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post(relay, path: str, payload: bytes, token: str | None = None, chunked=False):
    conn = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=30)
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if chunked:
        pieces = (payload[i:i + 70_000] for i in range(0, len(payload), 70_000))
        conn.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
    else:
        conn.request("POST", path, body=payload, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def tmp_files(relay):
    return sorted(p.name for p in (relay.data_dir / "tmp").iterdir())


def wait_for_empty_tmp(relay, seconds=5.0):
    deadline = time.monotonic() + seconds
    while tmp_files(relay) and time.monotonic() < deadline:
        time.sleep(0.05)
    return tmp_files(relay)


@pytest.fixture
def token(admin):
    return make_token(admin, "builds:write")


@pytest.fixture
def apk_bytes(tmp_path):
    return bf.demo_apk(tmp_path / "app.apk").read_bytes()


@pytest.mark.parametrize("chunked", [False, True])
def test_file_before_and_after_fields_with_and_without_content_length(relay, admin, token,
                                                                       apk_bytes, chunked):
    payload = body(part("file", apk_bytes, "app.apk"), part("status", b"Done"),
                   part("label", b"nightly"))
    status, data = post(relay, "/api/v1/builds", payload, token, chunked=chunked)
    assert status == 201, data
    build = admin.get("/api/v1/builds").json()["items"][0]
    assert (build["status_label"], build["version_label"]) == ("Done", "nightly")
    assert build["sha256"] == hashlib.sha256(apk_bytes).hexdigest()
    assert build["file_size"] == len(apk_bytes)
    assert admin.get(f"/api/v1/builds/{build['id']}/download").content == apk_bytes
    assert tmp_files(relay) == []


def test_a_file_holding_boundary_lookalikes_arrives_intact(relay, admin, token, apk_bytes):
    """Bytes that nearly match the delimiter, split across network reads, are file data."""
    buf = io.BytesIO(apk_bytes)
    tricky = (b"\r\n--" + BOUNDARY.encode()[:-1] + b"X") * 50_000 + b"\r\r\n-\r\n--"
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_STORED) as zf:
        zf.writestr("assets/tricky.bin", tricky)
    data = buf.getvalue()
    status, _ = post(relay, "/api/v1/builds", body(part("file", data, "app.apk")), token)
    assert status == 201
    build = admin.get("/api/v1/builds").json()["items"][0]
    assert build["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("payload, message", [
    (part("file", b"x" * 5000, "app.apk"), "Unexpected end of multipart stream"),  # no end
    (b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition form-data\r\n\r\nx\r\n"
     + f"--{BOUNDARY}--\r\n".encode(), ""),  # header without a colon
    (b"no boundary anywhere" * 100, ""),
])
def test_malformed_bodies_are_a_clear_400_and_leave_nothing(relay, admin, token, payload,
                                                              message):
    status, data = post(relay, "/api/v1/builds", payload, token)
    assert status == 400, data
    error = json.loads(data)["error"]
    assert error.startswith("malformed multipart body: ") and message in error
    assert tmp_files(relay) == []
    assert admin.get("/api/v1/builds").json()["total"] == 0


def test_an_unauthorized_upload_is_refused_and_its_spool_removed(relay, admin, apk_bytes):
    padded = apk_bytes + bytes(3 * 1024 * 1024)
    status, data = post(relay, "/api/v1/builds", body(part("file", padded, "app.apk")))
    assert status == 401, data
    viewer_token = make_token(admin, "view")
    status, _ = post(relay, "/api/v1/builds", body(part("file", padded, "app.apk")), viewer_token)
    assert status == 403
    assert tmp_files(relay) == []


def test_a_client_that_goes_away_mid_upload_leaves_nothing(relay, admin, token, apk_bytes):
    payload = body(part("file", apk_bytes + bytes(8 * 1024 * 1024), "app.apk"))
    sock = socket.create_connection(("127.0.0.1", relay.port))
    sock.sendall((f"POST /api/v1/builds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                  f"Content-Length: {len(payload)}\r\n\r\n").encode())
    sock.sendall(payload[:len(payload) // 2])
    deadline = time.monotonic() + 5
    while not tmp_files(relay) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(tmp_files(relay)) == 1  # half the build was being written
    sock.close()
    assert wait_for_empty_tmp(relay) == []
    assert admin.get("/api/v1/builds").json()["total"] == 0
    status, _ = post(relay, "/api/v1/builds", body(part("file", apk_bytes, "app.apk")), token)
    assert status == 201  # and the server goes on


def test_too_many_parts_is_413(relay, token, apk_bytes):
    fields = [part(f"f{i}", b"x") for i in range(60)]
    status, data = post(relay, "/api/v1/builds", body(part("file", apk_bytes, "app.apk"), *fields),
                        token)
    assert status == 413 and b"Request body too large" in data
    assert tmp_files(relay) == []


def test_text_fields_keep_their_charset(relay, admin, token, apk_bytes):
    label = "Prüfung"
    field = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"label\"\r\n"
             "Content-Type: text/plain; charset=iso-8859-1\r\n\r\n").encode() + \
        label.encode("iso-8859-1") + b"\r\n"
    status, _ = post(relay, "/api/v1/builds", body(field, part("file", apk_bytes, "app.apk")),
                     token)
    assert status == 201
    assert admin.get("/api/v1/builds").json()["items"][0]["version_label"] == label


def test_json_routes_refuse_multipart_bodies(relay, admin):
    r = admin.post("/api/v1/tokens", files={"name": ("n.txt", b"x" * 100_000)})
    assert r.status_code == 400 and r.json() == {"error": "Malformed JSON body"}
    assert tmp_files(relay) == []
    assert admin.get("/api/v1/auth/me").status_code == 200


def read_response(sock, wait: float = 10.0) -> bytes:
    """One whole HTTP response (head and Content-Length body) from the socket."""
    sock.settimeout(wait)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, rest = answer.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(rest) < length:
        rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


def raw_request(relay, head: str, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", relay.port)) as sock:
        sock.sendall(head.encode() + body)
        return read_response(sock)


def test_over_the_route_limit_with_expect_continue_is_refused_before_the_body(relay, token):
    """curl asks `Expect: 100-continue` before a large body: it gets the JSON 413 at once and
    never sends the build."""
    head = (f"POST /api/v1/builds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {600 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n")
    start = time.monotonic()
    answer = raw_request(relay, head)
    assert time.monotonic() - start < 5
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer
    assert b"Content-Type: application/json" in answer
    assert answer.endswith(b'{"error": "Request body too large"}')
    assert tmp_files(relay) == []


@pytest.mark.parametrize("path, size", [
    ("/api/v1/auth/login", 3 * 1024 * 1024),  # JSON routes: 1 MB
    ("/api/v1/profile", 3 * 1024 * 1024),  # images: 2 MB
])
def test_over_the_route_limit_without_expect_is_read_unstored_then_413(relay, admin, path, size):
    """A client that sends its whole body still gets the JSON 413 (not a reset connection), and
    nothing of the body is kept meanwhile."""
    payload = body(part("avatar", bytes(size), "a.png"))
    cookie = "; ".join(f"{k}={v}" for k, v in admin.cookies.items())
    head = (f"PATCH {path} HTTP/1.1\r\n" if path.endswith("profile") else f"POST {path} HTTP/1.1\r\n")
    head += (f"Host: 127.0.0.1:{relay.port}\r\nCookie: {cookie}\r\nOrigin: {relay.url}\r\n"
             f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
             f"Content-Length: {len(payload)}\r\n\r\n")
    sock = socket.create_connection(("127.0.0.1", relay.port))
    sock.sendall(head.encode() + payload[:len(payload) // 2])
    time.sleep(0.2)
    assert tmp_files(relay) == []  # half of it has arrived, none of it is stored
    sock.sendall(payload[len(payload) // 2:])
    answer = read_response(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 ") and b'{"error":"Request body too large"}' in answer
    assert tmp_files(relay) == []


def test_over_the_server_cap_is_a_json_413(relay, token):
    head = (f"POST /api/v1/builds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {5 * 1024 ** 3}\r\n\r\n")
    answer = raw_request(relay, head)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert answer.endswith(b'{"error": "Request body too large"}')


def test_malformed_http_is_a_json_400(relay):
    answer = raw_request(relay, "POST /api/v1/builds HTTP/1.1\r\nHost: x\r\n"
                                "Content-Length: 12abc\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.endswith(b'{"error": "Bad request"}')


def test_under_another_wsgi_server_werkzeug_parses_uploads_into_spools(relay, admin, token,
                                                                       apk_bytes):
    """The app does not depend on Relay's server: handed a plain WSGI body, it parses the form
    itself and spools the file the same way."""
    client = relay.app.test_client()
    r = client.post("/api/v1/builds", headers={"Authorization": f"Bearer {token}"},
                    data={"file": (io.BytesIO(apk_bytes), "app.apk"), "label": "wsgi"})
    assert r.status_code == 201, r.get_json()
    build = admin.get("/api/v1/builds").json()["items"][0]
    assert build["version_label"] == "wsgi"
    assert build["sha256"] == hashlib.sha256(apk_bytes).hexdigest()
    assert tmp_files(relay) == []


def test_a_boundary_holding_a_line_break_is_a_json_400(relay, token):
    head = (f"POST /api/v1/builds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary*=utf-8''a%0Ab\r\n"
            "Content-Length: 10\r\n\r\n")
    answer = raw_request(relay, head, b"0123456789")
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.endswith(b'{"error": "Bad request"}')


def test_text_fields_are_capped_together_and_files_by_count(relay, token, apk_bytes):
    fields = [part(f"f{i}", b"x" * 100_000) for i in range(3)]  # 300 KB of text in all
    status, data = post(relay, "/api/v1/builds", body(part("file", apk_bytes, "app.apk"), *fields),
                        token)
    assert status == 413 and b"Request body too large" in data
    files = [part("file", apk_bytes, f"app{i}.apk") for i in range(4)]
    status, data = post(relay, "/api/v1/builds", body(*files), token)
    assert status == 413 and b"Request body too large" in data
    assert tmp_files(relay) == []


def test_a_file_named_with_rfc2231_filename_star_is_a_file(relay, admin, token, apk_bytes):
    payload = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
               "filename*=UTF-8''na%C3%AFve.apk\r\n\r\n").encode() + apk_bytes + b"\r\n"
    status, data = post(relay, "/api/v1/builds", body(payload), token)
    assert status == 201, data
    build_id = json.loads(data)["id"]
    r = admin.get(f"/api/v1/builds/{build_id}/download")
    assert r.content == apk_bytes and "na_ve.apk" in r.headers["Content-Disposition"]  # named


def test_an_anonymous_body_for_a_protected_route_is_never_stored(relay, apk_bytes):
    payload = body(part("file", apk_bytes + bytes(6 * 1024 * 1024), "app.apk"))
    with socket.create_connection(("127.0.0.1", relay.port)) as sock:
        sock.sendall((f"POST /api/v1/builds HTTP/1.1\r\nHost: x\r\n"
                      f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                      f"Content-Length: {len(payload)}\r\n\r\n").encode())
        sock.sendall(payload[:len(payload) // 2])
        time.sleep(0.3)
        assert tmp_files(relay) == []  # with a token, half the build would be on disk by now
        sock.sendall(payload[len(payload) // 2:])
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 401 ")


def test_a_disk_error_while_receiving_is_a_json_500_and_leaves_nothing(relay, admin, token,
                                                                        apk_bytes, monkeypatch):
    from relay.spool import Spool

    def disk_full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Spool, "write", disk_full)
    status, data = post(relay, "/api/v1/builds", body(part("file", apk_bytes, "app.apk")), token)
    assert status == 500 and json.loads(data) == {"error": "Internal server error"}
    assert tmp_files(relay) == []
    monkeypatch.undo()
    status, _ = post(relay, "/api/v1/builds", body(part("file", apk_bytes, "app.apk")), token)
    assert status == 201


def test_stopping_the_server_mid_upload_leaves_nothing(relay_factory, apk_bytes, monkeypatch):
    import relay.server
    from conftest import init_admin
    monkeypatch.setattr(relay.server, "GRACE_SECONDS", 0.5)
    live = relay_factory()
    token = make_token(init_admin(live), "builds:write")
    payload = body(part("file", apk_bytes + bytes(6 * 1024 * 1024), "app.apk"))
    sock = socket.create_connection(("127.0.0.1", live.port))
    sock.sendall((f"POST /api/v1/builds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                  f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload[:len(payload) // 2])
    deadline = time.monotonic() + 5
    while not tmp_files(live) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(tmp_files(live)) == 1
    live.stop()
    sock.close()
    assert tmp_files(live) == []


def test_serve_lifts_a_low_open_files_limit():
    resource = pytest.importorskip("resource")
    from relay.server import raise_open_files_limit
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 512:
        pytest.skip("hard limit too low to show anything")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        raise_open_files_limit()
        lifted = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert lifted == (4096 if hard == resource.RLIM_INFINITY else min(4096, hard))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_bodiless_answers_keep_the_connection(relay, admin):
    """A 304 or 204 ends with its headers: the next request goes over the same connection."""
    cookie = "; ".join(f"{k}={v}" for k, v in admin.cookies.items())
    token_id = admin.post("/api/v1/tokens", json={"name": "gone"}).json()["id"]
    conn = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=10)
    conn.request("DELETE", f"/api/v1/tokens/{token_id}",
                 headers={"Cookie": cookie, "Origin": relay.url})
    first = conn.getresponse()
    first.read()
    assert first.status == 204 and not first.will_close
    sock = conn.sock
    conn.request("GET", "/healthz")
    second = conn.getresponse()
    assert second.status == 200 and second.read() and conn.sock is sock
    conn.request("GET", "/healthz", headers={"Connection": "close"})
    third = conn.getresponse()
    third.read()
    assert third.will_close  # asked for, still honoured
    conn.close()
