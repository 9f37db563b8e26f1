"""OtaKit-compatible API: bundles (upload sessions), releases, history. `:appId` is the app's UUID
or its integer id."""
from flask import Blueprint, jsonify, request

from relay.api.common import current_user, int_arg, json_body
from relay.api.guard import action, services
from relay.core import apps
from relay.core.errors import Invalid
from relay.core.ota import bundles, releases
from relay.timeutil import iso

bp = Blueprint("ota", __name__, url_prefix="/api/v1/apps/<app_ref>")


def bundle_shape(b) -> dict:
    return {"id": b.id, "version": b.version, "sha256": b.sha256, "size": b.size,
            "minNativeBuild": b.min_native_build, "runtimeVersion": b.runtime_version,
            "createdAt": iso(b.created_at)}


def release_shape(r, counts: dict | None = None, current: bool | None = None) -> dict | None:
    if r is None:
        return None
    shape = {"id": r.id, "channel": r.channel, "bundleId": r.bundle_id,
             "bundleVersion": r.bundle.version, "promotedAt": iso(r.promoted_at),
             "runtimeVersion": r.runtime_version, "forceImmediate": bool(r.force_immediate),
             "revertedAt": iso(r.reverted_at),
             "promotedBy": r.promoted_by.email if r.promoted_by_id else None}
    if current is not None:
        shape["isCurrent"] = current
    if counts is not None:
        shape["eventCounts"] = counts
    return shape


@bp.post("/bundles/initiate")
@action("ota:write")
def initiate(app_ref):
    svc = services()
    upload = bundles.initiate(apps.find(app_ref), svc.store, json_body(), svc.config.max_bundle_bytes)
    return jsonify({"uploadId": upload.id,
                    "presignedUrl": bundles.presigned_url(svc.base_url, svc.secret, upload),
                    "storageKey": upload.storage_key, "expiresAt": iso(upload.expires_at)})


@bp.post("/bundles/finalize")
@action("ota:write")
def finalize(app_ref):
    body = json_body()
    if not body.get("uploadId"):
        raise Invalid("uploadId required")
    bundle, created = bundles.finalize(apps.find(app_ref), services().store, body["uploadId"])
    return jsonify(bundle_shape(bundle)), 201 if created else 200


@bp.get("/bundles")
@action("read")
def list_bundles(app_ref):
    items, total = bundles.page(apps.find(app_ref), int_arg("limit", 20, 1, 100),
                                int_arg("offset", 0, 0))
    return jsonify({"bundles": [bundle_shape(b) for b in items], "total": total})


@bp.delete("/bundles/<bundle_id>")
@action("ota:write")
def delete_bundle(app_ref, bundle_id):
    bundle = bundles.delete(apps.find(app_ref), bundle_id)
    services().store.delete(bundle.file_key)
    return jsonify({"deleted": True, "id": bundle.id})


@bp.post("/releases")
@action("ota:write")
def release(app_ref):
    body = json_body()
    if not body.get("bundleId"):
        raise Invalid("bundleId required")
    force = body.get("forceImmediate", False)
    if not isinstance(force, bool):
        raise Invalid("forceImmediate must be true or false")
    svc = services()
    new, previous = releases.release(apps.find(app_ref), body["bundleId"], body.get("channel"),
                                     current_user(), svc.signer, svc.base_url, force)
    return jsonify({"release": release_shape(new), "previousRelease": release_shape(previous)}), 201


@bp.get("/releases")
@action("read")
def history(app_ref):
    from relay.core.ota import rules
    channel = ... if "channel" not in request.args else rules.channel(request.args["channel"])
    app = apps.find(app_ref)
    items, total = releases.history(app, channel, int_arg("limit", 20, 1, 100),
                                    int_arg("offset", 0, 0))
    counts = releases.event_counts(app, [r.id for r in items])
    live = releases.current_ids(app)
    return jsonify({"releases": [release_shape(r, counts[r.id], r.id in live) for r in items],
                    "total": total})


@bp.post("/releases/<release_id>/revert")
@action("ota:write")
def revert(app_ref, release_id):
    svc = services()
    target, now_current = releases.revert(apps.find(app_ref), release_id, svc.signer, svc.base_url)
    return jsonify({"release": release_shape(target), "currentRelease": release_shape(now_current)})
