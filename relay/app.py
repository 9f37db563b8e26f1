"""The Flask app factory: services, blueprints, the permission gate and JSON errors."""
import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from relay import logbuffer
from relay.api import BLUEPRINTS, guard
from relay.bodies import MAX_FORM_MEMORY, MAX_FORM_PARTS
from relay.config import Config
from relay.core.errors import HTTP_MESSAGES, RelayError
from relay.db import ensure_connected
from relay.request import RelayRequest, discard_spools
from relay.services import open_services
from relay.web import bp as web_bp

log = logging.getLogger("relay.http")

def create_app(config: Config) -> Flask:
    logs = logbuffer.setup(config.log_level)
    services = open_services(config, logs)
    app = Flask(__name__, static_folder=None)
    app.request_class = RelayRequest
    app.teardown_request(discard_spools)
    app.config.update(MAX_CONTENT_LENGTH=config.max_json_bytes,
                      MAX_FORM_MEMORY_SIZE=MAX_FORM_MEMORY, MAX_FORM_PARTS=MAX_FORM_PARTS)
    app.json.sort_keys = False
    app.url_map.merge_slashes = False  # its 308 redirect would be an HTML page under /api/
    app.extensions["relay"] = services
    app.before_request(ensure_connected)
    guard.install(app)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    app.register_blueprint(web_bp)
    _install_error_handlers(app)
    return app


def _json_error(message: str, status: int, **extra):
    return jsonify({"error": message, **extra}), status


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(RelayError)
    def relay_error(exc: RelayError):
        response = _json_error(exc.message, exc.status, **exc.extra)
        retry = getattr(exc, "retry_after", None)
        if retry is not None:
            response[0].headers["Retry-After"] = str(retry)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = HTTP_MESSAGES.get(exc.code, exc.name)
        response = _json_error(message, exc.code or 500)
        if exc.code == 405 and exc.valid_methods:
            response[0].headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _json_error("Internal server error", 500)
