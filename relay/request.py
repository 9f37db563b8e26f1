"""The request class: every uploaded file part is spooled to DATA_DIR/tmp, hashed as it arrives.

Under Relay's server, multipart bodies were already parsed while they arrived (relay/bodies.py);
under any other WSGI server werkzeug parses them here."""
from flask import Request, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from relay.bodies import SpoolingBody
from relay.core.errors import Invalid
from relay.spool import Spool


class RelayRequest(Request):
    def _load_form_data(self) -> None:
        body = self.environ.get("wsgi.input")
        if "form" in self.__dict__ or not isinstance(body, SpoolingBody):
            return super()._load_form_data()
        stream = self.stream  # a body over this route's limit is a 413 here, as with werkzeug
        if body.io_error is not None:
            raise body.io_error  # a 500, logged
        if body.too_large:
            raise RequestEntityTooLarge()
        if body.error:
            raise Invalid(f"malformed multipart body: {body.error}")
        d = self.__dict__
        d["stream"] = stream
        d["form"] = self.parameter_storage_class(body.fields)
        d["files"] = self.parameter_storage_class(body.files)

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        spool = Spool(current_app.extensions["relay"].data_dir / "tmp")
        g.setdefault("spools", []).append(spool)
        return spool


def discard_spools(_exc=None) -> None:
    """Whatever a request spooled and did not commit is removed when it ends, however it ends
    (before its response is sent)."""
    for spool in g.pop("spools", ()):
        spool.discard()
    body = request.environ.get("wsgi.input")
    if isinstance(body, SpoolingBody):
        body.close()
