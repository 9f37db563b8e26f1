"""Personal access tokens: `tflw_pat_` + 64 hex, shown once, stored as SHA-256."""
import re
from datetime import timedelta

from relay.core.errors import Forbidden, Invalid, NotFound, Unauthorized
from relay.core.hashing import digest, new_token
from relay.core.permissions import SCOPES, Identity
from relay.models import ApiToken, User
from relay.timeutil import utcnow

PREFIX = "tflw_pat_"
TOKEN_RE = re.compile(r"^tflw_pat_[0-9a-f]{64}$")
DEFAULT_SCOPE = "builds:write"
MAX_DAYS = 3650
LAST_USED_EVERY = timedelta(minutes=1)  # spare a write on every request


def parse_scope(scope) -> str:
    if scope is None:
        return DEFAULT_SCOPE
    if not isinstance(scope, str) or not scope.strip():
        raise Invalid(f"scope must be a comma-separated list of {', '.join(SCOPES)}")
    parts = [s.strip() for s in scope.split(",")]
    unknown = [s for s in parts if s not in SCOPES]
    if unknown:
        raise Invalid(f"unknown scope {unknown[0]!r}; use {', '.join(SCOPES)}")
    return ",".join(s for s in SCOPES if s in parts)  # canonical order, no repeats


def parse_expiry(days):
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days != int(days):
        raise Invalid("expires_in_days must be a whole number")
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"expires_in_days must be between 1 and {MAX_DAYS}")
    return utcnow() + timedelta(days=int(days))


def create(user: User, name, scope=None, expires_in_days=None) -> tuple[ApiToken, str]:
    if not isinstance(name, str) or not name.strip():
        raise Invalid("name required")
    if len(name.strip()) > 100:
        raise Invalid("name must be at most 100 characters")
    scope = parse_scope(scope)
    if "agent" in scope.split(",") and user.role != "Admin":
        raise Forbidden("Only Admins can create agent tokens")
    expires_at = parse_expiry(expires_in_days)
    plain = PREFIX + new_token(32)
    row = ApiToken.create(user=user, name=name.strip(), scope=scope,
                          token_hash=digest(plain), expires_at=expires_at)
    return row, plain


def list_for(user: User) -> list[ApiToken]:
    return list(ApiToken.select().where(ApiToken.user == user).order_by(ApiToken.id))


def revoke(user: User, token_id: int) -> None:
    deleted = ApiToken.delete().where(ApiToken.id == token_id, ApiToken.user == user).execute()
    if not deleted:
        raise NotFound("Token not found")


def identify(raw: str) -> Identity:
    """The identity behind a bearer token; Unauthorized when malformed, unknown, or expired."""
    if not TOKEN_RE.match(raw):
        raise Unauthorized("Unauthorized")
    row = ApiToken.fetch("token_hash = ?", digest(raw))
    now = utcnow()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        raise Unauthorized("Unauthorized")
    user = User.fetch("id = ?", row.user_id)
    if user is None:
        raise Unauthorized("Unauthorized")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        ApiToken.update(last_used_at=now).where(ApiToken.id == row.id).execute()
    return Identity(user=user, via="token", scopes=row.scopes)
