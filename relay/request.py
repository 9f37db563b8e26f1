"""The request class: every uploaded file part is spooled to DATA_DIR/tmp, hashed as it arrives,
by werkzeug's multipart parser reading 1 MB at a time."""
from flask import Request, current_app, g
from werkzeug.formparser import FormDataParser, MultiPartParser

from relay.spool import Spool

# werkzeug reads 64 KB at a time by default; per read it runs Python code and copies the chunk
# several times, which halves the throughput of a large upload. 1 MB reads cost a few MB of memory.
READ_SIZE = 1024 * 1024
# The parser refuses a read that would grow its buffer past this, so it must exceed READ_SIZE.
# It is also the largest text field accepted.
MAX_FORM_MEMORY = 2 * READ_SIZE
MAX_FORM_PARTS = 50


class _FormDataParser(FormDataParser):
    def _parse_multipart(self, stream, mimetype, content_length, options):
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        parser = MultiPartParser(stream_factory=self.stream_factory,
                                 max_form_memory_size=self.max_form_memory_size,
                                 max_form_parts=self.max_form_parts, cls=self.cls,
                                 buffer_size=READ_SIZE)
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class RelayRequest(Request):
    form_data_parser_class = _FormDataParser

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        spool = Spool(current_app.extensions["relay"].data_dir / "tmp")
        g.setdefault("spools", []).append(spool)
        return spool


def discard_spools(_exc=None) -> None:
    """Whatever a request spooled and did not commit is removed when it ends, however it ends."""
    for spool in g.pop("spools", ()):
        spool.discard()
