"""`relay upload`: the CI client. Streams a build as multipart/form-data (never reading the file
into memory), shows progress, retries network failures, prints the created build as JSON."""
import http.client
import json
import os
import secrets
import select
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

CHUNK = 1024 * 1024
RETRIES = 3


class UploadError(Exception):
    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


def _parts(path: Path, fields: dict, boundary: str) -> tuple[bytes, bytes]:
    head = b""
    for name, value in fields.items():
        head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                 f"{value}\r\n").encode()
    filename = path.name.replace('"', "_").replace("\r", "_").replace("\n", "_")
    head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
             f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


class Progress:
    def __init__(self, total: int, out=sys.stderr):
        self.total, self.done, self.out, self.last = total, 0, out, -1
        self.tty = hasattr(out, "isatty") and out.isatty()

    def add(self, n: int) -> None:
        self.done += n
        percent = int(self.done * 100 / self.total) if self.total else 100
        step = percent if self.tty else percent // 25 * 25  # logs get a line every quarter
        if step != self.last:
            self.last = step
            bar = "#" * (percent // 4)
            end = "\r" if self.tty and percent < 100 else "\n"
            self.out.write(f"uploading [{bar:<25}] {percent:3d}% of {self.total / 1e6:.1f} MB{end}")
            self.out.flush()


def _invited(sock, wait: float = 2.0) -> bool:
    """After `Expect: 100-continue`: whether to send the body. A refusal (a build over the
    server's limit) then arrives before a byte of the build is sent; a server that says nothing
    within `wait` gets the body anyway, as RFC 9110 asks."""
    if not select.select([sock], [], [], wait)[0]:
        return True
    if not sock.recv(12, socket.MSG_PEEK).startswith(b"HTTP/1.1 100"):
        return False  # the final answer: getresponse() reads it
    interim = b""
    while not interim.endswith(b"\r\n\r\n"):  # "HTTP/1.1 100 Continue" and its blank line
        byte = sock.recv(1)
        if not byte:
            raise OSError("connection closed after 100 Continue")
        interim += byte
    return True


def _send(server: str, token: str, path: Path, fields: dict, progress: Progress) -> dict:
    url = urlsplit(server.rstrip("/"))
    if url.scheme not in ("http", "https") or not url.hostname:
        raise UploadError(f"--server must be an http(s) URL, got {server!r}")
    conn_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    boundary = "relay" + secrets.token_hex(12)
    head, tail = _parts(path, fields, boundary)
    size = path.stat().st_size
    conn = conn_class(url.hostname, url.port, timeout=300)
    plain = url.scheme == "http"
    try:
        conn.putrequest("POST", (url.path or "") + "/api/v1/builds")
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        if plain:
            conn.putheader("Expect", "100-continue")
        conn.endheaders()
        if not plain or _invited(conn.sock):
            conn.send(head)
            with open(path, "rb") as fh:
                while block := fh.read(CHUNK):
                    conn.send(block)
                    progress.add(len(block))
            conn.send(tail)
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise UploadError(f"network error: {exc}", retryable=True) from None
    finally:
        conn.close()
    try:
        data = json.loads(body)
    except ValueError:
        data = {"error": body[:200].decode(errors="replace")}
    if response.status != 201:
        message = data.get("error") if isinstance(data, dict) else None
        raise UploadError(f"{response.status}: {message or 'upload failed'}",
                          retryable=response.status >= 500)
    return data


def upload(path: str, server: str, token: str, status=None, label=None, app_id=None,
           out=sys.stdout, err=sys.stderr, sleep=time.sleep) -> int:
    file = Path(path)
    if not file.is_file():
        print(f"relay upload: no such file: {path}", file=err)
        return 2
    fields = {k: v for k, v in (("status", status), ("label", label), ("app_id", app_id)) if v}
    for attempt in range(1, RETRIES + 1):
        try:
            build = _send(server, token, file, fields, Progress(file.stat().st_size, err))
        except UploadError as exc:
            if exc.retryable and attempt < RETRIES:
                print(f"relay upload: {exc}; retrying ({attempt}/{RETRIES - 1})", file=err)
                sleep(2 ** (attempt - 1))
                continue
            print(f"relay upload: {exc}", file=err)
            return 1
        print(json.dumps(build, indent=2), file=out)
        return 0
    return 1


def env_default(name: str) -> str | None:
    return os.environ.get(name) or None
