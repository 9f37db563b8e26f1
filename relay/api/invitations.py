"""Invitations: check a link, and accept it to create an account (signed in at once)."""
from flask import Blueprint, jsonify, make_response, request

from relay.api.common import form_or_json, set_session_cookie, str_field, token_arg
from relay.api.guard import body_limit, public, services
from relay.core import images, team

bp = Blueprint("invitations", __name__, url_prefix="/api/v1/invitations")


@bp.get("/verify")
@public
def verify():
    inv = team.verify_invitation(token_arg())
    return jsonify({"role": inv.role, "email": inv.email})


@bp.post("/accept")
@public
@body_limit("max_image_bytes")
def accept():
    body = form_or_json()
    token = str_field(body, "token")
    password = str_field(body, "password")
    team.verify_invitation(token)  # fail before storing an avatar for a dead link
    svc = services()
    avatar, _mime = images.store_upload(svc.store, request.files.get("avatar"), "avatars",
                                        svc.config.max_image_bytes, "avatar")
    try:
        user = team.accept_invitation(token, password, body.get("display_name"),
                                      svc.config.bcrypt_rounds, avatar)
    except Exception:
        svc.store.delete(avatar)  # nothing half-written
        raise
    response = make_response(jsonify({"ok": True}))
    set_session_cookie(response, user, svc)
    return response
