"""Apps: list with their latest build, create, rename, delete (builds and files go too)."""
from flask import Blueprint, jsonify

from relay.api import shapes
from relay.api.common import id_or_404, json_body, ok
from relay.api.guard import action, services
from relay.core import apps
from relay.timeutil import iso

bp = Blueprint("apps", __name__, url_prefix="/api/v1/apps")


@bp.get("")
@action("read")
def list_apps():
    return jsonify({"items": [shapes.app(row) for row in apps.list_with_latest()]})


@bp.post("")
@action("apps:write")
def create_app():
    body = json_body()
    if "slug" in body and "bundle_id_key" not in body:  # the OtaKit CLI's shape
        app = apps.create_from_slug(body["slug"])
        return jsonify({"id": app.uuid, "slug": app.bundle_id_key,
                        "createdAt": iso(app.created_at)}), 201
    app = apps.create(body.get("name"), body.get("bundle_id_key"), body.get("platform"))
    return jsonify({"id": app.id, "ok": True, "uuid": app.uuid}), 201


@bp.patch("/<app_id>")
@action("apps:write")
def rename_app(app_id):
    body = json_body()
    apps.rename(id_or_404(app_id, "App"), body.get("name"))
    return ok()


@bp.delete("/<app_id>")
@action("apps:write")
def delete_app(app_id):
    services().remove_files(*apps.delete(id_or_404(app_id, "App")))
    return ok()
