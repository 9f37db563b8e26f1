"""Bundles: upload sessions with presigned PUT URLs served by Relay itself, finalize, list, delete."""
import hashlib
import hmac
import logging
import time
import uuid as uuidlib
from datetime import timedelta, timezone

from relay.core.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from relay.core.inspect.archives import open_zip
from relay.core.inspect.base import InvalidBuild
from relay.core.numbers import parse_whole
from relay.core.ota import rules
from relay.db import database
from relay.models import App, OtaBundle, OtaRelease, OtaUpload
from relay.spool import Spool
from relay.storage import BlobStore
from relay.timeutil import utcnow

log = logging.getLogger("relay.ota")
SESSION_TTL = timedelta(hours=1)
FOLDER = "bundles"


# Presigned URLs: an HMAC of the upload id and expiry under the relay's secret key.

def _url_signature(secret: str, upload_id: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"PUT:{upload_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def presigned_url(base_url: str, secret: str, upload: OtaUpload) -> str:
    expires = int(upload.expires_at.replace(tzinfo=timezone.utc).timestamp())
    return (f"{base_url}/ota/uploads/{upload.id}?expires={expires}"
            f"&signature={_url_signature(secret, upload.id, expires)}")


def check_presigned(secret: str, upload_id: str, expires: str | None, signature: str | None) -> None:
    if parse_whole(expires) is None or not signature:
        raise Forbidden("Invalid upload signature")
    expected = _url_signature(secret, upload_id, int(expires))
    if not hmac.compare_digest(expected, signature):
        raise Forbidden("Invalid upload signature")
    if int(expires) < time.time():
        raise Forbidden("Upload URL expired")


def initiate(app: App, store: BlobStore, body: dict, limit: int) -> OtaUpload:
    version = rules.version(body.get("version"))
    size = rules.size(body.get("size"), limit)
    sha = rules.sha256(body.get("sha256"))
    min_native = rules.min_native_build(body.get("minNativeBuild"))
    runtime = rules.runtime_version(body.get("runtimeVersion"))
    if OtaBundle.select().where(OtaBundle.app == app, OtaBundle.version == version).exists():
        raise Conflict(f"Version {version} already exists for this app")
    return OtaUpload.create(id=str(uuidlib.uuid4()), app=app, version=version, size=size,
                            sha256=sha, min_native_build=min_native, runtime_version=runtime,
                            storage_key=store.new_key(FOLDER, "zip"),
                            expires_at=utcnow() + SESSION_TTL)


def receiving(upload_id: str) -> OtaUpload:
    """The session a presigned PUT may write to."""
    upload = OtaUpload.get_or_none(OtaUpload.id == upload_id)
    if upload is None:
        raise NotFound("Upload not found")
    if upload.bundle_id is not None:
        raise Conflict("This upload was already finalized")
    if upload.expires_at <= utcnow():
        raise Gone("Upload session expired")
    return upload


def receive(upload: OtaUpload, store: BlobStore, spool: Spool) -> None:
    """Keep the PUT body as the session's object (a later PUT replaces it, as with S3).

    The object is swapped in under the write lock, after checking again that the session is
    still open: a PUT racing a finalize (or the expiry job) must not replace a finalized
    bundle's file or leave a file behind a deleted session."""
    spool.sync()
    with database.atomic("IMMEDIATE"):
        receiving(upload.id)
        spool.commit(store.root / upload.storage_key)
        OtaUpload.update(received_size=spool.size, received_sha256=spool.sha256).where(
            OtaUpload.id == upload.id).execute()


def finalize(app: App, store: BlobStore, upload_id) -> tuple[OtaBundle, bool]:
    """(bundle, created): finalizing again returns the same bundle."""
    upload_id = rules.uuid(upload_id, "uploadId")
    with database.atomic("IMMEDIATE"):
        upload = OtaUpload.get_or_none(OtaUpload.id == upload_id, OtaUpload.app == app)
        if upload is None:
            raise NotFound("Upload not found")
        if upload.bundle_id is not None:
            return OtaBundle.get_by_id(upload.bundle_id), False
        if upload.expires_at <= utcnow():
            raise Gone("Upload session expired")
        path = store.path(upload.storage_key)
        if upload.received_size is None or path is None or not path.is_file():
            raise Invalid("No bundle was uploaded: PUT the zip to the presigned URL first")
        if upload.received_size != upload.size:
            raise Invalid(f"Uploaded size {upload.received_size} does not match the declared size {upload.size}")
        if upload.received_sha256 != upload.sha256:
            raise Invalid("Uploaded file's SHA-256 does not match the declared sha256")
        _check_web_bundle(path)
        if OtaBundle.select().where(OtaBundle.app == app, OtaBundle.version == upload.version).exists():
            raise Conflict(f"Version {upload.version} already exists for this app")
        bundle = OtaBundle.create(id=str(uuidlib.uuid4()), app=app, version=upload.version,
                                  sha256=upload.sha256, size=upload.size,
                                  min_native_build=upload.min_native_build,
                                  runtime_version=upload.runtime_version,
                                  file_key=upload.storage_key)
        OtaUpload.update(bundle=bundle.id).where(OtaUpload.id == upload.id).execute()
    log.info("bundle %s of %s finalized", bundle.version, app.bundle_id_key)
    return bundle, True


def _check_web_bundle(path) -> None:
    """Capacitor loads index.html from the root of the bundle."""
    try:
        with open_zip(path, "bundle") as zf:
            names = {info.filename for info in zf.infolist()}
    except InvalidBuild as exc:
        raise Invalid(str(exc)) from None
    if "index.html" not in names:
        raise Invalid("The bundle must have index.html at the root of the zip")


def page(app: App, limit: int, offset: int) -> tuple[list[OtaBundle], int]:
    query = OtaBundle.select().where(OtaBundle.app == app)
    items = list(query.order_by(OtaBundle.created_at.desc(), OtaBundle.id).limit(limit).offset(offset))
    return items, query.count()


def get(app: App, bundle_id) -> OtaBundle:
    bundle = OtaBundle.get_or_none(OtaBundle.id == str(bundle_id).lower(), OtaBundle.app == app)
    if bundle is None:
        raise NotFound("Bundle not found")
    return bundle


def delete(app: App, bundle_id) -> OtaBundle:
    with database.atomic("IMMEDIATE"):
        bundle = get(app, bundle_id)
        if OtaRelease.select().where(OtaRelease.bundle == bundle.id).exists():
            raise Conflict("This bundle is part of the release history and cannot be deleted")
        OtaUpload.delete().where(OtaUpload.bundle == bundle.id).execute()
        bundle.delete_instance()
    return bundle


def expire_sessions(store: BlobStore, now=None) -> int:
    """Drop upload sessions that were never finalized within their hour, with their objects."""
    stale = list(OtaUpload.select().where(OtaUpload.expires_at <= (now or utcnow()),
                                          OtaUpload.bundle.is_null()))
    for upload in stale:
        OtaUpload.delete().where(OtaUpload.id == upload.id).execute()
        store.delete(upload.storage_key)
    return len(stale)
