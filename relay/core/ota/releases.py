"""Releases on lanes (app + channel + runtime version), reverts, and the signed manifests devices
fetch. A lane's manifest is built and signed when its release changes, never per request."""
import hashlib
import json
import logging
import time
import uuid as uuidlib

from peewee import fn

from relay.core.errors import Conflict, NotFound
from relay.core.ota import rules
from relay.core.ota.bundles import get as get_bundle
from relay.core.ota.signing import VALIDITY, Signer, canonical_payload
from relay.db import database
from relay.models import App, OtaBundle, OtaEvent, OtaLane, OtaRelease, User
from relay.timeutil import utcnow

log = logging.getLogger("relay.ota")
ACTIONS = ("downloaded", "download_error", "applied", "rollback")


def _lane(app: App, channel: str | None, runtime: str | None) -> OtaLane | None:
    channel_key, runtime_key = rules.lane_keys(channel, runtime)
    return OtaLane.get_or_none(OtaLane.app == app, OtaLane.channel_key == channel_key,
                               OtaLane.runtime_key == runtime_key)


def current(app: App, channel: str | None, runtime: str | None) -> OtaRelease | None:
    lane = _lane(app, channel, runtime)
    return OtaRelease.get_by_id(lane.release_id) if lane and lane.release_id else None


def build_manifest(app: App, release: OtaRelease, bundle: OtaBundle, signer: Signer,
                   base_url: str, now: int | None = None) -> dict:
    iat = int(now or time.time())
    exp = iat + VALIDITY
    fields = {"version": bundle.version, "url": f"{base_url}/ota/bundles/{bundle.file_key.split('/', 1)[1]}",
              "sha256": bundle.sha256, "size": bundle.size, "channel": release.channel,
              "runtimeVersion": release.runtime_version, "releaseId": release.id,
              "strategy": "zip", "forceImmediate": bool(release.force_immediate),
              "minNativeBuild": bundle.min_native_build}
    payload = canonical_payload(app_id=app.uuid, channel=release.channel, version=bundle.version,
                                sha256=bundle.sha256, size=bundle.size,
                                runtime_version=release.runtime_version, kid=signer.kid,
                                iat=iat, exp=exp, force_immediate=bool(release.force_immediate))
    fields["signature"] = {"kid": signer.kid, "sig": signer.sign(payload), "iat": iat, "exp": exp}
    return fields


def _point_lane(app: App, channel, runtime, release: OtaRelease | None, signer: Signer,
                base_url: str, now: float | None = None) -> None:
    """Make `release` the lane's current one (None: no update) and store its signed manifest."""
    channel_key, runtime_key = rules.lane_keys(channel, runtime)
    manifest = etag = None
    if release is not None:
        text = json.dumps(build_manifest(app, release, release.bundle, signer, base_url, now),
                          separators=(",", ":"))
        manifest, etag = text, '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
    (OtaLane.insert(app=app, channel_key=channel_key, runtime_key=runtime_key,
                    release=release.id if release else None, manifest=manifest, etag=etag,
                    updated_at=utcnow())
     .on_conflict(conflict_target=[OtaLane.app, OtaLane.channel_key, OtaLane.runtime_key],
                  update={OtaLane.release: release.id if release else None,
                          OtaLane.manifest: manifest, OtaLane.etag: etag,
                          OtaLane.updated_at: utcnow()})
     .execute())


def release(app: App, bundle_id, channel, user: User, signer: Signer, base_url: str,
            force_immediate: bool = False) -> tuple[OtaRelease, OtaRelease | None]:
    channel = rules.channel(channel)
    bundle_id = rules.uuid(bundle_id, "bundleId")
    with database.atomic("IMMEDIATE"):  # one writer at a time: racing releases stay ordered
        bundle = get_bundle(app, bundle_id)
        previous = current(app, channel, bundle.runtime_version)
        if previous is not None and previous.bundle_id == bundle.id:
            raise Conflict("This bundle is already the current release of its channel")
        new = OtaRelease.create(id=str(uuidlib.uuid4()), app=app, channel=channel,
                                runtime_version=bundle.runtime_version, bundle=bundle,
                                force_immediate=int(bool(force_immediate)), promoted_by=user,
                                promoted_at=utcnow())
        _point_lane(app, channel, bundle.runtime_version, new, signer, base_url)
    log.info("%s released %s of %s to %s", user.email, bundle.version, app.bundle_id_key,
             channel or "the base channel")
    return new, previous


def revert(app: App, release_id, signer: Signer, base_url: str) -> tuple[OtaRelease, OtaRelease | None]:
    release_id = str(release_id).lower()
    with database.atomic("IMMEDIATE"):
        target = OtaRelease.get_or_none(OtaRelease.id == release_id, OtaRelease.app == app)
        if target is None:
            raise NotFound("Release not found")
        live = current(app, target.channel, target.runtime_version)
        if live is None or live.id != target.id:
            raise Conflict("Only the current release of a channel can be reverted")
        OtaRelease.update(reverted_at=utcnow()).where(OtaRelease.id == target.id).execute()
        fallback = (OtaRelease.select()
                    .where(OtaRelease.app == app, _same(OtaRelease.channel, target.channel),
                           _same(OtaRelease.runtime_version, target.runtime_version),
                           OtaRelease.reverted_at.is_null(), OtaRelease.id != target.id)
                    .order_by(OtaRelease.promoted_at.desc(), OtaRelease.id).first())
        _point_lane(app, target.channel, target.runtime_version, fallback, signer, base_url)
    log.info("release %s of %s reverted", target.id, app.bundle_id_key)
    return OtaRelease.get_by_id(target.id), fallback


def current_ids(app: App) -> set[str]:
    """The releases that are their lane's current one."""
    return {lane.release_id for lane in OtaLane.select(OtaLane.release)
            .where(OtaLane.app == app, OtaLane.release.is_null(False))}


def _same(column, value):
    return column.is_null() if value is None else column == value


def history(app: App, channel_filter, limit: int, offset: int) -> tuple[list[OtaRelease], int]:
    """`channel_filter`: ... (absent) every lane, None the base channel only, else that channel."""
    query = OtaRelease.select(OtaRelease, OtaBundle).join(OtaBundle).where(OtaRelease.app == app)
    if channel_filter is not ...:
        query = query.where(_same(OtaRelease.channel, channel_filter))
    items = list(query.order_by(OtaRelease.promoted_at.desc(), OtaRelease.id)
                 .limit(limit).offset(offset))
    return items, query.count()


def event_counts(app: App, release_ids: list[str]) -> dict[str, dict[str, int]]:
    """Device events per release and action; only the app's own events count (events carry
    no credentials, so another app's devices must not be able to move these numbers)."""
    counts = {rid: dict.fromkeys(ACTIONS, 0) for rid in release_ids}
    if release_ids:
        rows = (OtaEvent.select(OtaEvent.release_id, OtaEvent.action, fn.COUNT(OtaEvent.id))
                .where(OtaEvent.app == app, OtaEvent.release_id.in_(release_ids))
                .group_by(OtaEvent.release_id, OtaEvent.action).tuples())
        for rid, action, n in rows:
            counts[rid][action] = n
    return counts


_MANIFEST_SQL = ("SELECT l.manifest, l.etag FROM ota_lanes l JOIN apps a ON a.id = l.app_id"
                 " WHERE a.uuid = ? AND l.channel_key = ? AND l.runtime_key = ?")


def served_manifest(app_uuid: str, channel_key: str, runtime_key: str) -> tuple[str, str] | None:
    """(manifest JSON, ETag) as stored at release time, or None when the lane has no update.
    Raw SQL: this is what every device in the field polls."""
    row = database.execute_sql(_MANIFEST_SQL, (app_uuid.lower(), channel_key, runtime_key)).fetchone()
    return (row[0], row[1]) if row and row[0] else None


RESIGN_BEFORE = 30 * 24 * 3600  # seconds of validity left below which a manifest is signed anew


def _stale(manifest_text: str | None, signer: Signer, base_url: str, now: float) -> bool:
    """Whether a stored manifest needs signing again: another key, another public URL, or a
    signature close to its end. Fresh ones keep their bytes, so devices keep their ETag."""
    try:
        manifest = json.loads(manifest_text or "")
        signature = manifest["signature"]
        return (signature["kid"] != signer.kid
                or not manifest["url"].startswith(f"{base_url}/ota/bundles/")
                or signature["exp"] - now < RESIGN_BEFORE)
    except (ValueError, KeyError, TypeError):
        return True


def refresh_manifests(signer, base_url: str, now: float | None = None) -> int:
    """Sign stale lane manifests anew: at start (the key or public URL may have changed) and
    daily, long before the one-year signatures run out. `signer` may be a callable giving the
    Signer, so a relay that never released anything never creates a signing key."""
    now = now or time.time()
    refreshed = 0
    with database.atomic("IMMEDIATE"):
        lanes = list(OtaLane.select().where(OtaLane.release.is_null(False)))
        if lanes and callable(signer):
            signer = signer()
        for lane in lanes:
            if not _stale(lane.manifest, signer, base_url, now):
                continue
            release_row = OtaRelease.get_by_id(lane.release_id)
            _point_lane(release_row.app, release_row.channel, release_row.runtime_version,
                        release_row, signer, base_url, now)
            refreshed += 1
    return refreshed
