"""Stored images (avatars, logo), served to signed-in members only."""
from flask import Blueprint, send_file

from relay.api.guard import action, services
from relay.core.errors import NotFound

bp = Blueprint("uploads", __name__)

SERVED = {"avatars", "logos", "icons", "comments"}


# Comment attachments are documented at /uploads/…; everything else at /api/v1/uploads/….
@bp.get("/api/v1/uploads/<folder>/<name>")
@bp.get("/uploads/<folder>/<name>")
@action("read")
def serve(folder, name):
    path = services().store.path(f"{folder}/{name}") if folder in SERVED else None
    if path is None or not path.is_file():
        raise NotFound("File not found")
    response = send_file(path, conditional=True, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
