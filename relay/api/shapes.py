"""JSON shapes of the spec, in one place per resource."""
from relay.models import ApiToken, User
from relay.db import ISO_SQL
from relay.timeutil import iso

UPLOADS = "/api/v1/uploads/"


def upload_url(key: str | None) -> str | None:
    return UPLOADS + key if key else None


def me(user: User) -> dict:
    return {"id": user.id, "email": user.email, "displayName": user.display_name,
            "avatarUrl": upload_url(user.avatar), "role": user.role}


def member(user: User) -> dict:
    return {"id": user.id, "email": user.email, "display_name": user.display_name,
            "role": user.role, "joined_at": iso(user.created_at),
            "avatar_url": upload_url(user.avatar)}


def invitation(inv) -> dict:
    return {"id": inv.id, "email": inv.email, "role": inv.role,
            "invited_by": inv.invited_by.email if inv.invited_by_id else None,
            "created_at": iso(inv.created_at), "expires_at": iso(inv.expires_at)}


def token(row: ApiToken) -> dict:
    return {"id": row.id, "name": row.name, "scope": row.scope,
            "last_used_at": iso(row.last_used_at), "expires_at": iso(row.expires_at),
            "created_at": iso(row.created_at)}


def app(row: dict) -> dict:
    """An app row of core.apps.list_with_latest (times already ISO text)."""
    return {"id": row["id"], "name": row["name"], "bundle_id_key": row["bundle_id_key"],
            "platform": row["platform"], "created_at": row["created_at"],
            "latest_build_id": row["latest_build_id"], "version_name": row["version_name"],
            "build_number": row["build_number"], "status_label": row["status_label"],
            "latest_uploaded_at": row["latest_uploaded_at"],
            "uuid": row["uuid"], "icon_url": upload_url(row["icon"])}


# A build as the API shows it, written as SQLite JSON so the hot list never builds Python dicts
# (see core.builds.search): `b` is the build row, `a` its app.
BUILD_JSON_SQL = "json_object(" + ", ".join(f"'{name}', {expr}" for name, expr in [
    ("id", "b.id"), ("app_id", "b.app_id"), ("name", "a.name"),
    ("version_name", "b.version_name"), ("build_number", "b.build_number"),
    ("version_label", "b.version_label"), ("status_label", "b.status_label"),
    ("platform", "b.platform"), ("bundle_id", "b.bundle_id"),
    ("uploaded_at", ISO_SQL.format("b.uploaded_at")), ("display_name", "b.display_name"),
    ("file_size", "b.file_size"), ("sha256", "b.sha256"), ("min_os", "b.min_os"),
    ("download_url", "'/api/v1/builds/' || b.id || '/download'"),
]) + ")"


def build_created(b) -> dict:
    """The 201 answer of POST /builds, exactly as the spec shows it (plus a download URL)."""
    return {"id": b.id, "app_id": b.app_id, "version_name": b.version_name,
            "build_number": b.build_number, "bundle_id": b.bundle_id,
            "status_label": b.status_label, "platform": b.platform,
            "uploaded_at": iso(b.uploaded_at), "download_url": f"/api/v1/builds/{b.id}/download"}


def comment(c, author, attachments) -> dict:
    return {"id": c.id, "body": c.body, "created_at": iso(c.created_at),
            "author": author.email if author else c.author_email,
            "authorAvatarUrl": upload_url(author.avatar) if author else None,
            "authorId": c.author_id, "authorDisplayName": author.display_name if author else None,
            "attachments": [{"id": a.id, "file_path": "/uploads/" + a.file_key, "mime": a.mime}
                            for a in attachments]}
