"""Request parsing and response helpers shared by the blueprints."""
from flask import g, jsonify, request

from relay.core.errors import Invalid, NotFound
from relay.core.numbers import parse_whole
from relay.core.sessions import COOKIE_NAME, MAX_AGE

MISSING = object()


def json_body() -> dict:
    """The JSON object in the body; curl's default form content type is accepted too."""
    if not request.content_length and not request.data:
        return {}
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise Invalid("Malformed JSON body")
    if not isinstance(body, dict):
        raise Invalid("JSON body must be an object")
    return body


def form_or_json() -> dict:
    """Fields of a multipart/url-encoded form, or of a JSON object."""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return request.form.to_dict()
    return json_body()


def str_field(body: dict, name: str, required: bool = True, default=None):
    value = body.get(name, MISSING)
    if value is MISSING or value is None or (isinstance(value, str) and value == "" and required):
        if required:
            raise Invalid(f"{name} required")
        return default
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    return value


def int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be a whole number") from None
    if value < low:
        raise Invalid(f"{name} must be at least {low}")
    return min(value, high) if high is not None else value


def token_arg() -> str:
    token = request.args.get("token")
    if not token:
        raise Invalid("token required")
    return token


def id_or_404(raw: str, what: str) -> int:
    """Route ids are declared as strings so that a malformed id reads as unknown, not 405."""
    value = parse_whole(raw)
    if value is None:
        raise NotFound(f"{what} not found")
    return value


def ok(status: int = 200, **extra):
    return jsonify({"ok": True, **extra}), status


def no_content():
    return "", 204


def current_user():
    return g.identity.user


def set_session_cookie(response, user, services) -> None:
    response.set_cookie(COOKIE_NAME, services.sessions.issue(user), max_age=MAX_AGE,
                        httponly=True, samesite="Lax", secure=request.is_secure, path="/")


def clear_session_cookie(response) -> None:
    response.delete_cookie(COOKIE_NAME, httponly=True, samesite="Lax",
                           secure=request.is_secure, path="/")
