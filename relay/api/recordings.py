"""Screen recordings: upload, list the unexpired ones, download with Range support."""

from flask import Blueprint, jsonify, request, send_file

from relay.api.common import current_user
from relay.api.guard import action, body_limit, services
from relay.core import recordings
from relay.core.numbers import parse_whole
from relay.core.errors import Invalid, NotFound
from relay.timeutil import iso

bp = Blueprint("recordings", __name__, url_prefix="/api/v1/recordings")


def _url(rec) -> str:
    return f"/api/v1/recordings/{recordings.name_of(rec)}"


def _build_id(raw):
    if raw is None or raw == "":
        return None
    value = parse_whole(raw)
    if value is None:
        raise Invalid("buildId must be a number")
    return value


@bp.post("/upload")
@action("recordings:write")
@body_limit("max_recording_bytes")
def upload():
    video = request.files.get("video")
    if video is None or not video.filename and not video.stream.size:
        raise Invalid("video required")
    svc = services()
    args = {**request.form.to_dict(), **request.args.to_dict()}  # query per spec; form accepted
    rec = recordings.save(svc.recordings, video.stream, svc.config.max_recording_bytes,
                          current_user(), session_id=args.get("sessionId") or None,
                          build_id=_build_id(args.get("buildId")))
    return jsonify({"url": _url(rec)})


@bp.get("")
@action("read")
def list_recordings():
    items = recordings.live(_build_id(request.args.get("buildId")))
    return jsonify([{"id": r.id, "url": _url(r), "sessionId": r.session_id,
                     "buildId": r.build_id, "fileSize": r.file_size, "mime": r.mime,
                     "createdAt": iso(r.created_at), "expiresAt": iso(r.expires_at)}
                    for r in items])


@bp.get("/<path:filename>")
@action("read")
def download(filename):
    rec = recordings.find_live(filename)
    path = services().recordings.path(rec.file_key)
    if path is None or not path.is_file():
        raise NotFound("Recording not found")
    return send_file(path, mimetype=rec.mime, conditional=True, max_age=0)
