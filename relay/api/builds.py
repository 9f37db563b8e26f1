"""Builds: upload (streamed, inspected), list and filter, get, status/label, download, delete."""
from flask import Blueprint, Response, jsonify, request, send_file

from relay.api import shapes
from relay.api.common import current_user, id_or_404, int_arg, json_body, ok
from relay.api.guard import action, body_limit, services
from relay.core import apps, builds
from relay.core.numbers import parse_whole
from relay.core.errors import Invalid, NotFound, TooLarge
from relay.models import PLATFORMS

bp = Blueprint("builds", __name__, url_prefix="/api/v1/builds")


def _optional_app_id(raw):
    if raw in (None, ""):
        return None
    app_id = parse_whole(raw)
    if app_id is None:
        raise Invalid("app_id must be a number")
    return apps.get(app_id).id


@bp.post("")
@action("builds:write")
@body_limit("max_build_bytes")
def upload():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("file required")
    spool = upload.stream
    limit = services().config.max_build_bytes
    if spool.size > limit:
        raise TooLarge(f"Build must be at most {limit // (1024 * 1024)} MB")
    form = request.form
    build = builds.ingest(services().store, spool, upload.filename, current_user(),
                          status=form.get("status"), label=form.get("label"),
                          app_id=_optional_app_id(form.get("app_id")))
    return jsonify(shapes.build_created(builds.get(build.id))), 201


def _status_filter(raw):
    if raw == builds.NO_STATUS:
        return raw
    return builds.validate_status(raw)


def _json_text(text: str) -> Response:
    return Response(text + "\n", mimetype="application/json")


@bp.get("")
@action("read")
def list_builds():
    args = request.args
    platform = args.get("platform") or None
    if platform is not None and platform not in PLATFORMS:
        raise Invalid("platform must be ios or android")
    sort = args.get("sort") or "uploaded_at"
    if sort not in builds.SORTS:
        raise Invalid("sort must be uploaded_at, version_name or status_label")
    direction = (args.get("dir") or "desc").lower()
    if direction not in ("asc", "desc"):
        raise Invalid("dir must be asc or desc")
    app_id = args.get("app_id") or None
    if app_id is not None and parse_whole(app_id) is None:
        raise Invalid("app_id must be a number")
    items, total = builds.search(
        shapes.BUILD_JSON_SQL,
        page=int_arg("page", 0, 0), limit=int_arg("limit", 20, 1, 100), q=args.get("q") or None,
        platform=platform, status=_status_filter(args.get("status")),
        app_id=int(app_id) if app_id else None, sort=sort, direction=direction)
    return _json_text('{"items":[%s],"total":%d}' % (",".join(items), total))


@bp.get("/<build_id>")
@action("read")
def get_build(build_id):
    return _json_text(builds.get_row(id_or_404(build_id, "Build"), shapes.BUILD_JSON_SQL))


@bp.patch("/<build_id>")
@action("builds:review")
def update_build(build_id):
    builds.update(id_or_404(build_id, "Build"), json_body())
    return ok()


@bp.delete("/<build_id>")
@action("builds:write")
def delete_build(build_id):
    services().remove_files(*builds.delete(id_or_404(build_id, "Build")))
    return "", 204


@bp.get("/<build_id>/download")
@action("read")
def download(build_id):
    build = builds.get(id_or_404(build_id, "Build"))
    path = services().store.path(build.file_key)
    if path is None or not path.is_file():
        raise NotFound("Build file not found")
    mime = "application/vnd.android.package-archive" if build.platform == "android" else \
        "application/gzip" if build.file_key.endswith(".tgz") else "application/zip"
    return send_file(path, mimetype=mime, as_attachment=True, download_name=build.file_name,
                     conditional=True, etag=build.sha256, max_age=0)
