"""JSON shapes of the spec, in one place per resource."""
from relay.models import ApiToken, User
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


def token(row: ApiToken) -> dict:
    return {"id": row.id, "name": row.name, "scope": row.scope,
            "last_used_at": iso(row.last_used_at), "expires_at": iso(row.expires_at),
            "created_at": iso(row.created_at)}
