"""What devices and upload tools reach without an account: signed manifests, bundle downloads,
the presigned PUT for bundle uploads, the dynamic manifest and device events."""
import json

from flask import Blueprint, Response, jsonify, request, send_file

from relay.api.common import json_body
from relay.api.guard import body_limit, cross_site, public, services, spooled
from relay.core import apps
from relay.core.errors import Invalid, NotFound
from relay.core.numbers import parse_whole
from relay.core.ota import bundles, events, releases, rules

bp = Blueprint("ota_devices", __name__)

MANIFEST_CACHE = "public, max-age=30"


@bp.get("/ota/manifests/<app_uuid>/<channel_key>/<runtime_key>/manifest.json")
@public
@cross_site
def manifest(app_uuid, channel_key, runtime_key):
    found = releases.served_manifest(app_uuid, channel_key, runtime_key)
    if found is None:
        raise NotFound("No release for this channel")
    text, etag = found
    if _matches(request.headers.get("If-None-Match"), etag):
        return Response(status=304, headers={"ETag": etag, "Cache-Control": MANIFEST_CACHE})
    return Response(text, mimetype="application/json",
                    headers={"ETag": etag, "Cache-Control": MANIFEST_CACHE})


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


@bp.get("/ota/keys.json")
@public
@cross_site
def public_keys():
    """The manifest verification key, as the plugin's `manifestKeys` wants it (public data)."""
    return jsonify([services().signer.manifest_key()])


@bp.get("/ota/bundles/<name>")
@public
@cross_site
def bundle_file(name):
    path = services().store.path(f"{bundles.FOLDER}/{name}")
    if path is None or not path.is_file() or not name.endswith(".zip"):
        raise NotFound("Bundle not found")
    response = send_file(path, mimetype="application/zip", conditional=True, max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.put("/ota/uploads/<upload_id>")
@public
@cross_site
@body_limit("max_bundle_bytes")
@spooled
def presigned_put(upload_id):
    svc = services()
    bundles.check_presigned(svc.secret, upload_id, request.args.get("expires"),
                            request.args.get("signature"))
    upload = bundles.receiving(upload_id)
    if request.mimetype != "application/zip":
        raise Invalid("Content-Type must be application/zip")
    if request.content_length != upload.size:
        raise Invalid(f"Content-Length must equal the declared size ({upload.size} bytes)")
    spool = request.spooled_body()
    if spool.size != upload.size:
        raise Invalid(f"The body ended before the declared size ({upload.size} bytes)")
    bundles.receive(upload, svc.store, spool)
    return Response(status=200, headers={"ETag": f'"{spool.sha256}"'})


def _app_from_header():
    ref = request.headers.get("X-App-Id", "").strip()
    if not ref:
        raise Invalid("X-App-Id header required")
    return apps.find(ref)


@bp.get("/api/v1/manifest")
@public
@cross_site
def dynamic_manifest():
    app = _app_from_header()
    platform = request.headers.get("X-Platform", "").strip().lower()
    if platform not in ("ios", "android"):
        raise Invalid("X-Platform header must be ios or android")
    channel = rules.channel(request.headers.get("X-Channel"))
    runtime = rules.runtime_version(request.headers.get("X-Runtime-Version"))
    native = request.headers.get("X-Native-Build", "").strip()
    if native and parse_whole(native) is None:
        raise Invalid("X-Native-Build header must be a whole number")
    found = releases.served_manifest(app.uuid, *rules.lane_keys(channel, runtime))
    if found is None:
        raise NotFound("No release for this channel")
    data = json.loads(found[0])
    if request.headers.get("X-Current-Version", "").strip() == data["version"]:
        return Response(status=204)
    needed = data.get("minNativeBuild")
    if native and needed is not None and int(native) < needed:
        return jsonify({"error": "native_build_too_old", "minNativeBuild": needed,
                        "version": data["version"]}), 406
    return Response(found[0], mimetype="application/json", headers={"ETag": found[1]})


@bp.post("/api/v1/ota/events")
@public
@cross_site
def device_event():
    app = _app_from_header()
    services().ota_events.hit(app.id, "Too many events for this app; slow down")
    events.record(app, json_body())
    return jsonify({"accepted": True}), 202
