"""Request bodies as waitress receives them: each route's size limit, and multipart forms parsed
on arrival so an upload is written to disk once.

Waitress buffers a whole body in a temporary file before the app runs; a 500 MB build would then
be read back and copied out of it, doubling the disk and memory traffic, and a body far over its
route's limit would be stored in full before the app could say 413. Here waitress's request
parser learns the route's limit from the app as soon as the headers are in:
- a body declared larger than the limit is refused at once with a JSON 413 when the client asked
  `Expect: 100-continue` (curl does for large uploads), and otherwise read and dropped, unstored,
  so that the client still receives the app's JSON 413;
- a body for a route that needs an account, sent without any credentials, is dropped unstored
  (the app answers 401 without it);
- a multipart/form-data body is parsed while it arrives: each file part streams straight into a
  Spool in DATA_DIR/tmp (hashed on the way), text fields stay in memory under a size limit, and
  RelayRequest hands the parsed form to the app; the raw body of a route marked `@spooled` (the
  OTA presigned PUT) streams into a Spool whole. Whatever the app does not commit is removed when
  the request ends, including a body the client abandons halfway.
Errors waitress itself answers (malformed HTTP, over the server-wide cap) are JSON too.

The multipart parser is `multipart`'s PushMultipartParser: it passes received chunks on without
copying them.
"""
import json
from pathlib import Path
from typing import Callable

import multipart
from waitress.buffers import OverflowableBuffer
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.receiver import ChunkedReceiver, FixedStreamReceiver
from waitress.utilities import Error, RequestEntityTooLarge
from werkzeug.datastructures import FileStorage, Headers
from werkzeug.http import parse_options_header

from relay.api.guard import BodyRule, body_rules
from relay.core.errors import HTTP_MESSAGES
from relay.core.sessions import COOKIE_NAME
from relay.spool import Spool

MAX_FORM_MEMORY = 256 * 1024  # text fields of one form, together (every route's are small)
MAX_FORM_PARTS = 50
MAX_FILE_PARTS = 3  # each route takes one file; a little slack, and few open files per request
TEXT_CHARSETS = {"ascii", "us-ascii", "utf-8", "iso-8859-1"}  # those werkzeug accepts too

RuleFor = Callable[[str, str], BodyRule]  # (method, path) -> what the route accepts


class FormTooLarge(Exception):
    pass


class ArrivedBody:
    """A waitress body buffer (append, __len__, getfile, close) that stores what it is fed its
    own way; to the app, wsgi.input is this object, already consumed."""
    _received = 0
    io_error: OSError | None = None  # the disk failed us (full, out of file handles)

    def check_stored(self) -> None:
        """Raise the disk error that lost the body, if one did (the app answers 500, logged)."""
        if self.io_error is not None:
            raise self.io_error

    def __len__(self) -> int:
        return self._received

    def getfile(self):
        return self

    def read(self, size: int = -1) -> bytes:
        return b""

    def readline(self, size: int = -1) -> bytes:
        return b""


class RawSpoolBody(ArrivedBody):
    """A raw upload (the OTA presigned PUT) written into a Spool while it arrives; past the
    limit it is dropped (the app answers 413 on the size)."""

    def __init__(self, tmp_dir: Path, limit: int):
        self._tmp_dir = tmp_dir
        self._limit = limit
        self.spool: Spool | None = None

    def append(self, data: bytes) -> None:
        self._received += len(data)
        if self.io_error is not None or self._received > self._limit:
            self.close()
            return
        try:
            if self.spool is None:
                self.spool = Spool(self._tmp_dir)
            self.spool.write(data)
        except OSError as exc:
            self.io_error = exc
            self.close()

    def close(self) -> None:
        """Remove the spool unless the app committed it; the body is gone either way."""
        if self.spool is not None:
            self.spool.discard()
            self.spool = None


class SpoolingBody(ArrivedBody):
    """Multipart, parsed as it is fed: file parts into Spools, text fields in memory."""

    def __init__(self, boundary: str, tmp_dir: Path, limit: int):
        self._parser = multipart.PushMultipartParser(boundary, max_segment_count=MAX_FORM_PARTS)
        self._tmp_dir = tmp_dir
        self._limit = limit
        self._part: multipart.MultipartSegment | None = None
        self._name: str | None = None
        self._filename: str | None = None  # None: the part is a text field
        self._text: list[bytes] = []
        self._text_total = 0
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
            if self._received > self._limit:
                raise FormTooLarge("the body is over this route's limit")
            step(*args)
        except (multipart.MultipartError, FormTooLarge, OSError) as exc:
            self.too_large = isinstance(exc, (FormTooLarge, multipart.ParserLimitReached))
            self.io_error = exc if isinstance(exc, OSError) else None
            self.error = str(exc) or "form too large"
            self.fields, self.files = [], []
            self.close()  # the rest of a refused body is counted and dropped

    def _parse(self, data: bytes) -> None:
        for event in self._parser.parse(data):
            if isinstance(event, multipart.MultipartSegment):
                self._start(event)
            elif event is None:
                self._end()
            elif self._filename is None:
                self._text.append(event)
                self._text_total += len(event)
                if self._text_total > MAX_FORM_MEMORY:
                    raise FormTooLarge(f"the text fields are over {MAX_FORM_MEMORY // 1024} KB")
            else:
                self._spools[-1].write(event)

    def _start(self, part: multipart.MultipartSegment) -> None:
        # werkzeug reads the disposition as the app always saw it (filename*= included).
        options = parse_options_header(part.header("Content-Disposition", ""))[1]
        self._part, self._text = part, []
        self._name, self._filename = options.get("name", ""), options.get("filename")
        if self._filename is not None:
            if len(self._spools) == MAX_FILE_PARTS:
                raise FormTooLarge(f"more than {MAX_FILE_PARTS} files")
            self._spools.append(Spool(self._tmp_dir))

    def _end(self) -> None:
        if self._filename is None:
            charset = (self._part.charset or "utf-8").lower()
            charset = charset if charset in TEXT_CHARSETS else "utf-8"
            self.fields.append((self._name, b"".join(self._text).decode(charset, "replace")))
            return
        spool = self._spools[-1]
        spool.seek(0)
        self.files.append((self._name, FileStorage(spool, self._filename, self._name,
                                                   headers=Headers(self._part.headerlist))))

    def close(self) -> None:
        """Remove every spool the app did not commit (committed ones are left alone)."""
        for spool in self._spools:
            spool.discard()


class LimitedBody:
    """Waitress's own buffer for other bodies, which stops storing once past the limit: the rest
    is counted (so the app sees the size and answers 413) and dropped."""

    def __init__(self, limit: int, overflow: int):
        self._buffer = OverflowableBuffer(overflow)
        self._limit = limit
        self._received = 0

    def append(self, data: bytes) -> None:
        self._received += len(data)
        if self._received <= self._limit:
            self._buffer.append(data)
        elif self._buffer is not None:
            self._buffer.close()
            self._buffer = None

    def __len__(self) -> int:
        return self._received

    def getfile(self):
        return self._buffer.getfile() if self._buffer is not None else _EMPTY

    def close(self) -> None:
        if self._buffer is not None:
            self._buffer.close()


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""

    readline = read


_EMPTY = _Empty()


class JsonError(Error):
    """A waitress error answered as `{"error": …}`, like everything else Relay says."""

    def __init__(self, original: Error):
        super().__init__(original.body)
        self.code, self.reason = original.code, original.reason

    def to_response(self, ident=None):
        body = json.dumps({"error": HTTP_MESSAGES.get(self.code, self.reason)}).encode()
        return f"{self.code} {self.reason}", [("Content-Type", "application/json")], body


class RelayRequestParser(HTTPRequestParser):
    tmp_dir: Path
    rule_for: RuleFor
    spooling: SpoolingBody | None = None

    def parse_header(self, header_plus):
        super().parse_header(header_plus)
        if self.body_rcv is None:
            return
        rule = self.rule_for(self.command, self.path)
        if not (rule.public or self._has_credentials()):
            body = LimitedBody(0, 0)  # the app answers 401 without it: keep none of it
        elif not self.chunked and self.content_length > rule.limit:
            body = LimitedBody(0, 0)  # the app answers 413 on its declared length
            if self.expect_continue:
                self.error = RequestEntityTooLarge("over this route's limit")
        else:
            self.spooling = self._multipart(rule.limit)
            if self.spooling is not None:
                body = self.spooling
            elif rule.spooled:
                body = RawSpoolBody(self.tmp_dir, rule.limit)
            else:
                body = LimitedBody(rule.limit, self.adj.inbuf_overflow)
        if self.chunked:
            self.body_rcv = ChunkedReceiver(body)
        else:
            self.body_rcv = FixedStreamReceiver(self.content_length, body)

    def _has_credentials(self) -> bool:
        return ("AUTHORIZATION" in self.headers
                or f"{COOKIE_NAME}=" in self.headers.get("COOKIE", ""))

    def _multipart(self, limit: int) -> SpoolingBody | None:
        content_type = self.headers.get("CONTENT_TYPE", "")
        if not content_type.lower().startswith("multipart/form-data"):
            return None
        mimetype, options = parse_options_header(content_type)
        boundary = options.get("boundary", "")
        if mimetype != "multipart/form-data" or not boundary:
            return None
        try:
            return SpoolingBody(boundary, self.tmp_dir, limit)
        except multipart.MultipartError as exc:  # e.g. a boundary holding a line break
            raise ParsingError(f"invalid multipart boundary: {exc}") from None

    def received(self, data):
        consumed = super().received(data)
        if self.error is not None and not isinstance(self.error, JsonError):
            self.error = JsonError(self.error)
            self.completed = True
            self.expect_continue = False  # answer now, instead of inviting the body
        if self.completed and self.spooling is not None:
            self.spooling.finish()
        return consumed


class RelayChannel(HTTPChannel):
    def handle_close(self):
        arriving = self.request  # a body cut off by the client: its spools go now
        super().handle_close()
        if arriving is not None:
            arriving.close()


def channel_class(tmp_dir: Path, rule_for: RuleFor) -> type[HTTPChannel]:
    """A waitress channel class that applies `rule_for` and spools multipart into `tmp_dir`."""
    parser = type("RelayRequestParser", (RelayRequestParser,),
                  {"tmp_dir": tmp_dir, "rule_for": staticmethod(rule_for)})
    return type("RelayChannel", (RelayChannel,), {"parser_class": parser})


def channel_for(app) -> type[HTTPChannel]:
    """The channel class serving Relay's Flask `app`."""
    return channel_class(app.extensions["relay"].data_dir / "tmp", body_rules(app))
