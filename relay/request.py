"""The request class: every uploaded file part is spooled to DATA_DIR/tmp, hashed as it arrives.

Under Relay's server, multipart bodies were already parsed while they arrived, and raw uploads
spooled (relay/bodies.py); under any other WSGI server that happens here, from the stream."""
from flask import Request, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from relay.bodies import ArrivedBody, RawSpoolBody, SpoolingBody
from relay.core.errors import Invalid
from relay.spool import Spool


class RelayRequest(Request):
    def _load_form_data(self) -> None:
        body = self.environ.get("wsgi.input")
        if "form" in self.__dict__ or not isinstance(body, SpoolingBody):
            return super()._load_form_data()
        stream = self.stream  # a body over this route's limit is a 413 here, as with werkzeug
        body.check_stored()
        if body.too_large:
            raise RequestEntityTooLarge()
        if body.error:
            raise Invalid(f"malformed multipart body: {body.error}")
        d = self.__dict__
        d["stream"] = stream
        d["form"] = self.parameter_storage_class(body.fields)
        d["files"] = self.parameter_storage_class(body.files)

    def spooled_body(self) -> Spool:
        """The raw body of a `@spooled` route as a Spool: written while it arrived under Relay's
        server, spooled here from the stream under any other."""
        body = self.environ.get("wsgi.input")
        stream = self.stream  # a body over this route's limit is a 413 here
        if isinstance(body, RawSpoolBody):
            body.check_stored()
            if body.spool is not None:
                return body.spool
        spool = self._get_file_stream(self.content_length, self.mimetype)
        while block := stream.read(1024 * 1024):
            spool.write(block)
        return spool

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
    if isinstance(body, ArrivedBody):
        body.close()
