"""Multipart bodies parsed while they arrive, so an upload is written to disk once.

Waitress buffers each request body in a temporary file before the app runs; for a 500 MB build
the app would then read that file back and copy the build out of it, doubling the disk and memory
traffic. Here waitress's body buffer is replaced, for multipart/form-data requests, by a parser
fed as the bytes arrive: each file part streams straight into a Spool in DATA_DIR/tmp (hashed on
the way), text fields stay in memory under a size limit, and the app gets the parsed form through
RelayRequest. Whatever the app does not commit is removed when the request ends, including a
body the client abandons halfway.

The parser is `multipart`'s PushMultipartParser: it hands over received chunks without copying.
"""
from pathlib import Path

import multipart
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.receiver import ChunkedReceiver, FixedStreamReceiver
from werkzeug.datastructures import FileStorage, Headers
from werkzeug.http import parse_options_header

from relay.spool import Spool

MAX_FORM_MEMORY = 2 * 1024 * 1024  # the largest text field
MAX_FORM_PARTS = 50
TEXT_CHARSETS = {"ascii", "us-ascii", "utf-8", "iso-8859-1"}  # those werkzeug accepts too


class FormTooLarge(Exception):
    pass


class SpoolingBody:
    """A waitress body buffer (append, __len__, getfile, close) that parses what it is fed."""

    def __init__(self, boundary: str, tmp_dir: Path):
        self._parser = multipart.PushMultipartParser(boundary, max_segment_count=MAX_FORM_PARTS)
        self._tmp_dir = tmp_dir
        self._received = 0
        self._part: multipart.MultipartSegment | None = None
        self._text: list[bytes] = []
        self._spools: list[Spool] = []
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        self.error: str | None = None  # why the body was refused
        self.too_large = False

    def append(self, data: bytes) -> None:
        self._received += len(data)
        if self.error is None:
            self._guarded(self._parse, data)

    def finish(self) -> None:
        """The whole body has arrived: a multipart stream that did not end is an error."""
        if self.error is None and not self._parser.closed:
            self._guarded(self._parser.close)

    def _guarded(self, step, *args) -> None:
        try:
            step(*args)
        except (multipart.MultipartError, FormTooLarge) as exc:
            self.too_large = isinstance(exc, (FormTooLarge, multipart.ParserLimitReached))
            self.error = str(exc) or "form too large"
            self.fields, self.files = [], []
            self.close()  # the rest of a refused body is counted and dropped

    def _parse(self, data: bytes) -> None:
        for event in self._parser.parse(data):
            if isinstance(event, multipart.MultipartSegment):
                self._start(event)
            elif event is None:
                self._end()
            elif self._part.filename is None:
                self._text.append(event)
                if self._part.bytes_received > MAX_FORM_MEMORY:
                    raise FormTooLarge(f"a form field is over {MAX_FORM_MEMORY // 2**20} MB")
            else:
                self._spools[-1].write(event)

    def _start(self, part: multipart.MultipartSegment) -> None:
        self._part, self._text = part, []
        if part.filename is not None:
            self._spools.append(Spool(self._tmp_dir))

    def _end(self) -> None:
        part = self._part
        if part.filename is None:
            charset = (part.charset or "utf-8").lower()
            charset = charset if charset in TEXT_CHARSETS else "utf-8"
            self.fields.append((part.name, b"".join(self._text).decode(charset, "replace")))
            return
        spool = self._spools[-1]
        spool.seek(0)
        self.files.append((part.name, FileStorage(spool, part.filename, part.name,
                                                  headers=Headers(part.headerlist))))

    def __len__(self) -> int:
        return self._received

    def getfile(self):
        return self  # wsgi.input: the body is consumed; RelayRequest reads the parsed form

    def read(self, size: int = -1) -> bytes:
        return b""

    def readline(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        """Remove every spool the app did not commit (committed ones are left alone)."""
        for spool in self._spools:
            spool.discard()


class SpoolingRequestParser(HTTPRequestParser):
    tmp_dir: Path
    spooling: SpoolingBody | None = None

    def parse_header(self, header_plus):
        super().parse_header(header_plus)
        content_type = self.headers.get("CONTENT_TYPE", "")
        if self.body_rcv is None or not content_type.lower().startswith("multipart/form-data"):
            return
        mimetype, options = parse_options_header(content_type)
        boundary = options.get("boundary", "")
        if mimetype != "multipart/form-data" or not boundary:
            return
        self.spooling = SpoolingBody(boundary, self.tmp_dir)
        if self.chunked:
            self.body_rcv = ChunkedReceiver(self.spooling)
        else:
            self.body_rcv = FixedStreamReceiver(self.content_length, self.spooling)

    def received(self, data):
        consumed = super().received(data)
        if self.completed and self.spooling is not None:
            self.spooling.finish()
        return consumed


class SpoolingChannel(HTTPChannel):
    def handle_close(self):
        arriving = self.request  # a body cut off by the client: its spools go now
        super().handle_close()
        if arriving is not None:
            arriving.close()


def channel_class(tmp_dir: Path) -> type[HTTPChannel]:
    """A waitress channel class whose multipart bodies spool into `tmp_dir`."""
    parser = type("SpoolingRequestParser", (SpoolingRequestParser,), {"tmp_dir": tmp_dir})
    return type("SpoolingChannel", (SpoolingChannel,), {"parser_class": parser})
