"""Team settings: name and logo. Everyone signed in reads them; Admins change them."""
from flask import Blueprint, jsonify, request

from relay.api import shapes
from relay.api.common import form_or_json, ok
from relay.api.guard import action, body_limit, services
from relay.core import images, team_settings

bp = Blueprint("settings", __name__, url_prefix="/api/v1/settings")


@bp.get("")
@action("read")
def get_settings():
    return jsonify({"team_name": team_settings.team_name(),
                    "logo_url": shapes.upload_url(team_settings.logo_key()),
                    "public_url": services().base_url})


@bp.patch("")
@action("settings:write")
@body_limit("max_image_bytes")
def update_settings():
    body = form_or_json()
    name = body.get("team_name")
    if name is not None:
        name = team_settings.validate_team_name(name)
    svc = services()
    logo, _mime = images.store_upload(svc.store, request.files.get("logo"), "logos",
                               svc.config.max_image_bytes, "logo")
    old_logo = team_settings.update(name, logo)
    if logo:
        svc.store.delete(old_logo)
    return ok()
