"""Auth: first-run setup, sign-in and out, the current user, password change and reset."""
import logging
import secrets

from flask import Blueprint, g, jsonify, make_response, request

from relay.api import shapes
from relay.api.common import (clear_session_cookie, current_user, json_body, ok,
                              set_session_cookie, str_field, token_arg)
from relay.api.guard import action, public, services
from relay.core import accounts, team
from relay.core.errors import Forbidden, Unauthorized
from relay.netinfo import is_loopback

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")
log = logging.getLogger("relay.auth")


@bp.get("/status")
@public
def status():
    initialized = accounts.is_initialized()
    # The first-run page asks for the setup code only when this caller will need it.
    return jsonify({"initialized": initialized,
                    "setupCodeRequired": not initialized and not is_loopback(request.remote_addr)})


def _check_setup_code(body: dict) -> None:
    """From another machine, first-run setup needs the code `relay serve` printed."""
    if is_loopback(request.remote_addr):
        return
    path = services().setup_code_path
    expected = path.read_text().strip() if path.exists() else ""
    given = body.get("setupCode")
    if not expected or not isinstance(given, str) or not secrets.compare_digest(given.strip(), expected):
        raise Forbidden("Setup code required: use the code printed by `relay serve`")


@bp.post("/init")
@public
def init():
    body = json_body()
    if accounts.is_initialized():
        raise Forbidden("Already initialized")
    _check_setup_code(body)
    svc = services()
    user = accounts.create_first_admin(body.get("email"), body.get("password"),
                                       body.get("displayName") or body.get("display_name"),
                                       svc.config.bcrypt_rounds)
    svc.setup_code_path.unlink(missing_ok=True)
    log.info("first admin %s created", user.email)
    response = make_response(jsonify({"ok": True}), 201)
    set_session_cookie(response, user, svc)
    return response


@bp.post("/login")
@public
def login():
    body = json_body()
    email = str_field(body, "email").strip().lower()
    password = str_field(body, "password")
    svc = services()
    key = (request.remote_addr, email)
    svc.login_failures.check(key)
    user = accounts.authenticate(email, password)
    if user is None:
        svc.login_failures.fail(key)
        log.warning("failed sign-in for %s from %s", email, request.remote_addr)
        raise Unauthorized("Invalid email or password")
    svc.login_failures.reset(key)
    response = make_response(jsonify({"ok": True, "role": user.role}))
    set_session_cookie(response, user, svc)
    return response


@bp.post("/logout")
@public
def logout():
    if g.identity is not None and g.identity.via == "cookie":
        accounts.end_sessions(g.identity.user)
    response = make_response(jsonify({"ok": True}))
    clear_session_cookie(response)
    return response


@bp.get("/me")
@action("read")
def me():
    return jsonify(shapes.me(current_user()))


@bp.post("/change-password")
@action("account")
def change_password():
    body = json_body()
    user = current_user()
    svc = services()
    accounts.change_password(user, body.get("currentPassword"), body.get("newPassword"),
                             svc.config.bcrypt_rounds)
    log.info("%s changed their password", user.email)
    response = make_response(jsonify({"ok": True}))
    set_session_cookie(response, user, svc)  # other sessions end; this one goes on
    return response


@bp.get("/reset-password/verify")
@public
def verify_reset():
    team.verify_reset(token_arg())
    return jsonify({"ok": True})


@bp.post("/reset-password")
@public
def reset_password():
    body = json_body()
    token = str_field(body, "token")
    password = str_field(body, "password")
    team.reset_password(token, password, services().config.bcrypt_rounds)
    return ok()
