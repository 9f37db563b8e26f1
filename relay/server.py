"""Waitress with a graceful stop: on SIGINT/SIGTERM stop accepting, let requests that are
being received or served finish (up to a grace period), then close."""
import errno
import logging
import signal
import threading
import time

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import WSGITask

from relay import bodies

log = logging.getLogger("relay.server")

GRACE_SECONDS = 20


class PortInUse(Exception):
    pass


class KeepAliveTask(WSGITask):
    """Waitress closes the connection after any HTTP/1.1 answer without a Content-Length, even a
    204 or 304, which can have no body and so end with their headers. Devices that poll a
    manifest with If-None-Match would reconnect every time: keep those connections open."""

    def build_response_header(self):
        keep = (not self.has_body and self.version == "1.1" and not self.close_on_finish
                and self.request.headers.get("CONNECTION", "").lower() != "close"
                and not any(name.lower() == "connection" for name, _ in self.response_headers))
        header = super().build_response_header()
        if keep and self.close_on_finish:
            self.close_on_finish = False
            header = header.replace(b"\r\nConnection: close\r\n", b"\r\n")
        return header


def raise_open_files_limit(wanted: int = 4096) -> None:
    """Lift the soft limit on open files (256 on macOS) toward the hard one: every connection
    and every upload being received holds a file."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass


class Server:
    def __init__(self, app, host: str, port: int, threads: int = 8,
                 max_body: int = 1024 * 1024 * 1024):
        try:
            # The app enforces each route's own body limit with a JSON 413; waitress's cap sits
            # above the largest of them. Larger socket reads speed up big uploads.
            self._srv = create_server(app, host=host, port=port, threads=threads,
                                      ident="relay", clear_untrusted_proxy_headers=True,
                                      channel_timeout=120, connection_limit=200,
                                      max_request_body_size=max_body, recv_bytes=1024 * 1024)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} on {host} is already in use") from None
            raise
        # Route limits and multipart on arrival; 204 and 304 answers keep the connection.
        self._srv.channel_class = type("Channel", (bodies.channel_for(app),),
                                       {"task_class": KeepAliveTask})
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return self._srv.effective_port

    def stop(self, *_signal_args) -> None:
        """Ask the loop to wind down; safe from a signal handler or another thread."""
        self._stopping.set()
        try:
            self._srv.pull_trigger()
        except OSError:
            pass  # trigger already gone: the loop still sees the flag within its poll timeout

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def _loop_once(self, timeout: float) -> None:
        self._srv.asyncore.loop(timeout=timeout, map=self._srv._map, use_poll=True, count=1)

    def _listeners(self):
        return [d for d in list(self._srv._map.values()) if isinstance(d, BaseWSGIServer)]

    def _busy_channels(self):
        return [c for c in list(self._srv._map.values())
                if isinstance(c, HTTPChannel) and (c.requests or c.request is not None
                                                   or c.total_outbufs_len)]

    def serve_forever(self) -> None:
        while not self._stopping.is_set():
            self._loop_once(1.0)
        for listener in self._listeners():  # stop accepting; keep the trigger for workers
            listener.accepting = False
            listener.del_channel()
            listener.socket.close()
        deadline = time.monotonic() + GRACE_SECONDS
        while self._busy_channels() and time.monotonic() < deadline:
            self._loop_once(0.05)
        if self._busy_channels():
            log.warning("stopping with %d request(s) unfinished", len(self._busy_channels()))
        channels = [c for c in list(self._srv._map.values()) if isinstance(c, HTTPChannel)]
        for channel in channels:
            channel.handle_close()  # which drops what a request still arriving had stored
        self._srv.task_dispatcher.shutdown(timeout=5)
        for channel in channels:  # requests received but never served: their uploads go too
            for request in channel.requests:
                request.close()
        self._srv.trigger.close()
