"""Comments on builds, with optional screenshot attachments (PNG/JPEG/WebP, 5 MB)."""
from flask import Blueprint, jsonify, request

from relay.api import shapes
from relay.api.common import current_user, form_or_json, id_or_404
from relay.api.guard import action, body_limit, services
from relay.core import comments, images
from relay.core.errors import Invalid
from relay.core.numbers import parse_whole

bp = Blueprint("comments", __name__, url_prefix="/api/v1/comments")


def _build_id(raw) -> int:
    if raw is None or raw == "":
        raise Invalid("build_id required")
    value = parse_whole(raw)  # ASCII digits only (str.isdigit() accepts "²"), at most 18
    if value is None:
        raise Invalid("build_id must be a number")
    return value


@bp.get("")
@action("read")
def list_comments():
    build_id = _build_id(request.args.get("build_id"))
    return jsonify([shapes.comment(c, author, atts) for c, author, atts in comments.for_build(build_id)])


@bp.post("")
@action("comment")
@body_limit("max_attachment_bytes")
def create_comment():
    form = form_or_json()  # multipart (with the file), url-encoded (curl -d) or JSON
    build_id = _build_id(form.get("build_id"))
    body = comments.validate_body(form.get("body"))
    svc = services()
    key, mime = images.store_upload(svc.store, request.files.get("attachment"), "comments",
                                    svc.config.max_attachment_bytes, "attachment",
                                    max_side=4096, allowed=("PNG", "JPEG", "WEBP"))
    try:
        comment = comments.create(build_id, current_user(), body, (key, mime) if key else None)
    except Exception:
        svc.store.delete(key)
        raise
    return jsonify(shapes.comment(comment, current_user(), list(comment.attachments))), 201


@bp.delete("/<comment_id>")
@action("comment")
def delete_comment(comment_id):
    services().remove_files(comments.delete(id_or_404(comment_id, "Comment"), current_user()))
    return "", 204
