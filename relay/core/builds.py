"""Builds: ingesting an uploaded file, listing with filters, status and label, deletion."""
import logging
import re

from relay.core import apps
from relay.core.errors import Invalid, NotFound
from relay.core.inspect import inspect_build
from relay.db import database
from relay.models import STATUSES, App, Build, Comment, CommentAttachment, Recording, User
from relay.spool import Spool
from relay.storage import BlobStore

log = logging.getLogger("relay.builds")

MAX_LABEL = 50
SORTS = {"uploaded_at": "b.uploaded_at", "version_name": "b.version_name",
         "status_label": "b.status_label"}
KIND_EXT = {"apk": "apk", "zip": "zip", "tgz": "tgz"}


NO_STATUS = "none"  # the list filter for builds nobody has triaged yet


def validate_status(status, field: str = "status") -> str | None:
    if status is None or status == "":
        return None
    if status not in STATUSES:
        raise Invalid(f"{field} must be one of {', '.join(STATUSES)}")
    return status


def validate_label(label, field: str = "label") -> str | None:
    if label is None:
        return None
    if not isinstance(label, str):
        raise Invalid(f"{field} must be a string")
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise Invalid(f"{field} must be at most {MAX_LABEL} characters")
    return label or None


def safe_file_name(name: str) -> str:
    """A download name made only of harmless characters; never used as a path."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "build"
    return clean[-100:]


def _ext(filename: str) -> str:
    lower = filename.lower()
    if lower.endswith(".apk"):
        return "apk"
    if lower.endswith((".tar.gz", ".tgz")):
        return "tgz"
    return "zip"


def ingest(store: BlobStore, spool: Spool, filename: str, uploader: User, status=None,
           label=None, app_id=None) -> Build:
    """Inspect the spooled file and record the build; the file is renamed into place inside the
    transaction, so a build row never exists without its file."""
    status = validate_status(status)
    label = validate_label(label)
    spool.flush()
    info = inspect_build(spool.path, filename)  # InvalidBuild is a 400 with the reason
    spool.sync()  # outside the write lock
    sha256 = spool.sha256
    icon_key = store.put_bytes("icons", "png", info.icon_png) if info.icon_png else None
    key = store.new_key("builds", _ext(filename))
    old_icon = None
    try:
        with database.atomic("IMMEDIATE"):
            app = apps.for_build(info.bundle_id, info.platform, info.display_name, app_id)
            build = Build.create(
                app=app, platform=info.platform, bundle_id=info.bundle_id,
                version_name=info.version_name or "", build_number=info.build_number or "",
                display_name=info.display_name, min_os=info.min_os, version_label=label,
                status_label=status, file_key=key, file_name=safe_file_name(filename),
                file_size=spool.size, sha256=sha256, uploaded_by=uploader)
            if icon_key:
                old_icon = app.icon
                App.update(icon=icon_key).where(App.id == app.id).execute()
            spool.commit(store.root / key)
    except BaseException:
        store.delete(key)
        store.delete(icon_key)
        raise
    store.delete(old_icon)
    log.info("build %s %s (%s) of %s uploaded by %s", build.version_name, build.build_number,
             build.platform, info.bundle_id, uploader.email)
    return build


def get(build_id: int) -> Build:
    build = (Build.select(Build, App).join(App).where(Build.id == build_id).first())
    if build is None:
        raise NotFound("Build not found")
    return build


def update(build_id: int, changes: dict) -> None:
    values = {}
    if "status_label" in changes:
        values["status_label"] = validate_status(changes["status_label"], "status_label")
    if "version_label" in changes:
        values["version_label"] = validate_label(changes["version_label"], "version_label")
    build = get(build_id)
    if values:
        Build.update(**values).where(Build.id == build.id).execute()


def delete(build_id: int) -> tuple[list[str], list[str]]:
    """Delete a build with its comments and recordings. Returns the file keys to remove once
    committed: (keys in the uploads store, keys in the recordings store)."""
    with database.atomic("IMMEDIATE"):
        build = get(build_id)
        keys = [build.file_key]
        keys += [a.file_key for a in CommentAttachment.select(CommentAttachment.file_key)
                 .join(Comment).where(Comment.build == build)]
        recording_keys = [r.file_key for r in Recording.select(Recording.file_key)
                          .where(Recording.build == build)]
        build.delete_instance()
    return keys, recording_keys


_FROM = " FROM builds b JOIN apps a ON a.id = b.app_id"


def search(row_sql: str, page: int = 0, limit: int = 20, q: str | None = None,
           platform: str | None = None, status: str | None = None, app_id: int | None = None,
           sort: str = "uploaded_at", direction: str = "desc") -> tuple[list, int]:
    """One page of builds, each the value of `row_sql` (an SQL expression over `b` builds and
    `a` apps: the caller's JSON shape, built by SQLite), and the total matching.
    Raw SQL: this is the hot list."""
    where, params = [], []
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append("(b.version_name LIKE ? ESCAPE '\\' OR b.build_number LIKE ? ESCAPE '\\'"
                     " OR b.version_label LIKE ? ESCAPE '\\' OR a.name LIKE ? ESCAPE '\\')")
        params += [pattern] * 4
    if status == NO_STATUS:
        where.append("b.status_label IS NULL")
        status = None
    for column, value in (("b.platform", platform), ("b.status_label", status), ("b.app_id", app_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    count_from = _FROM if q else " FROM builds b"  # the app join only when the search needs it
    order = f"{SORTS[sort]} {'ASC' if direction == 'asc' else 'DESC'}, b.id {'ASC' if direction == 'asc' else 'DESC'}"
    rows = database.execute_sql(f"SELECT {row_sql}{_FROM}{clause} ORDER BY {order} LIMIT ? OFFSET ?",
                                (*params, limit, page * limit)).fetchall()
    total = database.execute_sql(f"SELECT count(*){count_from}{clause}", params).fetchone()[0]
    return [row[0] for row in rows], total


def get_row(build_id: int, row_sql: str):
    """One build as the value of `row_sql` (see search); NotFound when there is none."""
    row = database.execute_sql(f"SELECT {row_sql}{_FROM} WHERE b.id = ?", (build_id,)).fetchone()
    if row is None:
        raise NotFound("Build not found")
    return row[0]
