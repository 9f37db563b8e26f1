"""The one gate every request passes: who is calling, may they do the route's action, and
how large may the body be. Routes only declare; nothing is decided in the handlers."""
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from relay.core import tokens
from relay.core.errors import Forbidden
from relay.core.permissions import Identity, authorize
from relay.core.sessions import COOKIE_NAME

PUBLIC = "public"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
UPLOAD_SLACK = 64 * 1024  # multipart boundaries and small fields around one file


def action(name: str):
    """Declare the permission action (relay.core.permissions.POLICY) a route needs."""
    def mark(view):
        view.relay_action = name
        return view
    return mark


public = action(PUBLIC)


def cross_site(view):
    """Device and upload endpoints: called from apps and tools of any origin, never with our
    session cookie's authority, so the CSRF origin check does not apply."""
    view.relay_cross_site = True
    return view


def body_limit(setting: str):
    """Allow a larger body for an upload route: the named Config size plus multipart slack."""
    def mark(view):
        view.relay_body_limit = setting
        return view
    return mark


def spooled(view):
    """A route whose raw body is an upload: the server writes it into a Spool while it arrives,
    and the handler takes it from `request.spooled_body()`."""
    view.relay_spooled = True
    return view


def services():
    return current_app.extensions["relay"]


def _body_limit(view, config) -> int | None:
    setting = getattr(view, "relay_body_limit", None)
    return getattr(config, setting) + UPLOAD_SLACK if setting else None


class BodyRule(NamedTuple):
    limit: int  # bytes
    public: bool  # taken without credentials
    spooled: bool  # a raw upload, written into a Spool as it arrives


def body_rules(app):
    """(method, path) -> the BodyRule of the route they lead to, for the HTTP server to apply
    while a body arrives; the app checks the limit and the credentials again itself."""
    adapter = app.url_map.bind("relay")
    config = app.extensions["relay"].config
    default = app.config["MAX_CONTENT_LENGTH"]

    def rule_for(method: str, path: str) -> BodyRule:
        try:
            endpoint, _ = adapter.match(path, method)
        except HTTPException:  # 404, 405, redirects: the app answers without the body
            return BodyRule(default, False, False)
        view = app.view_functions.get(endpoint)
        limit = _body_limit(view, config)
        return BodyRule(default if limit is None else limit,
                        getattr(view, "relay_action", None) == PUBLIC,
                        getattr(view, "relay_spooled", False))
    return rule_for


def identify(strict: bool) -> Identity | None:
    """The caller from `Authorization: Bearer` or the session cookie; None when anonymous.

    A bearer token that is malformed, unknown or expired is a 401 unless the route is public.
    """
    header = request.headers.get("Authorization")
    if header:
        scheme, _, raw = header.partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise tokens.Unauthorized("Unauthorized")
            return tokens.identify(raw.strip())
        except tokens.Unauthorized:
            if strict:
                raise
            return None
    user = services().sessions.resolve(request.cookies.get(COOKIE_NAME))
    return Identity(user=user, via="cookie") if user else None


def _own_origins() -> set[str]:
    origins = {request.host_url.rstrip("/")}
    public_url = services().config.public_url
    if public_url:
        parts = urlsplit(public_url)
        origins.add(f"{parts.scheme}://{parts.netloc}")
    return origins


def _check_origin() -> None:
    """Refuse cross-site writes made with a browser's ambient credentials (CSRF)."""
    if request.method not in UNSAFE or "Authorization" in request.headers:
        return
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin.rstrip("/") not in _own_origins():
        raise Forbidden("Cross-origin request refused")
    if origin == "null" or request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise Forbidden("Cross-origin request refused")


def before_request():
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if view is None:
        return  # 404/405 follow
    declared = getattr(view, "relay_action", None)
    if declared is None:
        raise RuntimeError(f"route {request.endpoint} declares no permission action")
    limit = _body_limit(view, services().config)
    if limit is not None:
        request.max_content_length = limit
    if not getattr(view, "relay_cross_site", False):
        _check_origin()
    g.identity = identify(strict=declared != PUBLIC)
    if declared != PUBLIC:
        authorize(g.identity, declared)


def install(app) -> None:
    app.before_request(before_request)
