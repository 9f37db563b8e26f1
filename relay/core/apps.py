"""Apps: one per bundle id (an iOS and an Android build of the same id share it)."""
import re
import uuid

from relay.core.errors import Conflict, Invalid, NotFound
from relay.core.numbers import parse_whole
from relay.db import ISO_SQL, database
from relay.models import App, Build, Comment, CommentAttachment, OtaBundle, OtaUpload, Recording

APP_PLATFORMS = ("ios", "android", "both")
# Anchored with \A…\Z ("$" would also accept a trailing newline): right with match or fullmatch.
BUNDLE_RE = re.compile(r"\A[A-Za-z0-9._-]{3,120}\Z")

# The latest build of each app joined in the same query: no query per app.
_LIST_SQL = f"""
SELECT a.id, a.uuid, a.name, a.bundle_id_key, a.platform, a.icon, {ISO_SQL.format("a.created_at")},
       b.id, b.version_name, b.build_number, b.status_label, {ISO_SQL.format("b.uploaded_at")}
FROM apps a
LEFT JOIN builds b ON b.id = (SELECT id FROM builds WHERE app_id = a.id
                              ORDER BY uploaded_at DESC, id DESC LIMIT 1)
ORDER BY a.name COLLATE NOCASE, a.id
"""


def validate_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise Invalid("name required")
    if len(name.strip()) > 100:
        raise Invalid("name must be at most 100 characters")
    return name.strip()


def validate_bundle_id(bundle_id) -> str:
    if not isinstance(bundle_id, str) or not bundle_id.strip():
        raise Invalid("bundle_id_key required")
    if not BUNDLE_RE.fullmatch(bundle_id.strip()):
        raise Invalid("bundle_id_key must be 3-120 letters, digits, '.', '_' or '-'")
    return bundle_id.strip()


def list_with_latest() -> list[dict]:
    """Apps with a summary of their latest build, as plain rows (see api.shapes.app)."""
    keys = ("id", "uuid", "name", "bundle_id_key", "platform", "icon", "created_at",
            "latest_build_id", "version_name", "build_number", "status_label", "latest_uploaded_at")
    return [dict(zip(keys, row)) for row in database.execute_sql(_LIST_SQL).fetchall()]


def get(app_id) -> App:
    app = App.get_or_none(App.id == app_id) if isinstance(app_id, int) else None
    if app is None:
        raise NotFound("App not found")
    return app


def find(ref: str) -> App:
    """An app by its integer id or its UUID."""
    ref = str(ref)
    app = App.get_or_none(App.id == parse_whole(ref)) if parse_whole(ref) is not None else \
        App.get_or_none(App.uuid == ref.lower())
    if app is None:
        raise NotFound("App not found")
    return app


def create(name, bundle_id_key, platform) -> App:
    name = validate_name(name)
    bundle_id_key = validate_bundle_id(bundle_id_key)
    if platform not in APP_PLATFORMS:
        raise Invalid("platform must be ios, android or both")
    with database.atomic("IMMEDIATE"):
        if App.select().where(App.bundle_id_key == bundle_id_key).exists():
            raise Conflict("An app with this bundle id already exists")
        return App.create(uuid=str(uuid.uuid4()), name=name, bundle_id_key=bundle_id_key,
                          platform=platform)


def create_from_slug(slug) -> App:
    """OtaKit's create: the slug is the Capacitor app id, i.e. the native builds' bundle id."""
    if not isinstance(slug, str) or not BUNDLE_RE.match(slug.strip()):
        raise Invalid("slug must be 3-120 letters, digits, '.', '_' or '-'")
    slug = slug.strip()
    with database.atomic("IMMEDIATE"):
        existing = App.get_or_none(App.bundle_id_key == slug)
        if existing is not None:
            raise Conflict("An app with this slug already exists", id=existing.uuid)
        return App.create(uuid=str(uuid.uuid4()), name=slug, bundle_id_key=slug, platform="both")


def rename(app_id: int, name) -> None:
    name = validate_name(name)
    app = get(app_id)
    App.update(name=name).where(App.id == app.id).execute()


def delete(app_id: int) -> tuple[list[str], list[str]]:
    """Delete the app with its builds, comments and recordings.

    Returns the file keys to remove once committed: (keys in the uploads store, keys in the
    recordings store) — recordings live in their own store, under DATA_DIR/recordings.
    """
    with database.atomic("IMMEDIATE"):
        app = get(app_id)
        builds = Build.select(Build.id, Build.file_key).where(Build.app == app)
        keys = [b.file_key for b in builds]
        keys += [a.file_key for a in CommentAttachment.select(CommentAttachment.file_key)
                 .join(Comment).join(Build).where(Build.app == app)]
        if app.icon:
            keys.append(app.icon)
        keys += [b.file_key for b in OtaBundle.select(OtaBundle.file_key).where(OtaBundle.app == app)]
        keys += [u.storage_key for u in OtaUpload.select(OtaUpload.storage_key)
                 .where(OtaUpload.app == app, OtaUpload.bundle.is_null())]
        recording_keys = [r.file_key for r in Recording.select(Recording.file_key)
                          .join(Build).where(Build.app == app)]
        app.delete_instance()  # builds, comments, attachments and recordings cascade
    return keys, recording_keys


def for_build(bundle_id: str, platform: str, display_name: str | None, app_id=None) -> App:
    """The app a new build belongs to: the one named by `app_id`, else the one with its bundle id
    (created when new). Call inside the upload's transaction."""
    if app_id is not None:
        app = get(app_id)
    else:
        app = App.get_or_none(App.bundle_id_key == bundle_id)
        if app is None:
            return App.create(uuid=str(uuid.uuid4()), name=(display_name or bundle_id)[:100],
                              bundle_id_key=bundle_id, platform=platform)
    if app.platform not in (platform, "both"):
        app.platform = "both"
        App.update(platform="both").where(App.id == app.id).execute()
    return app
