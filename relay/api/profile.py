"""The signed-in user's own profile: display name and avatar."""
from flask import Blueprint, request

from relay.api.common import current_user, form_or_json, ok
from relay.api.guard import action, body_limit, services
from relay.core import accounts, images
from relay.models import User

bp = Blueprint("profile", __name__, url_prefix="/api/v1/profile")


@bp.patch("")
@action("account")
@body_limit("max_image_bytes")
def update_profile():
    body = form_or_json()
    user = current_user()
    changes = {}
    if body.get("display_name") is not None:
        name = accounts.validate_display_name(body["display_name"])
        changes["display_name"] = name or accounts.default_name(user.email)
    svc = services()
    avatar, _mime = images.store_upload(svc.store, request.files.get("avatar"), "avatars",
                                 svc.config.max_image_bytes, "avatar")
    if avatar:
        changes["avatar"] = avatar
    if changes:
        User.update(**changes).where(User.id == user.id).execute()
    if avatar and user.avatar:
        svc.store.delete(user.avatar)  # the old picture, once the new one is recorded
    return ok()
