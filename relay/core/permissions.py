"""Who may do what: every route names one action, and this table is the only place it is decided.

An action needs a minimum role and, when the caller uses a personal access token, a scope.
Actions whose scope is None are for signed-in people only (session cookie), never for tokens.
"""
from dataclasses import dataclass

from relay.core.errors import Forbidden, Unauthorized
from relay.models import ROLES, User

SCOPES = ("view", "builds:write", "ota:write", "agent")

RANK = {role: len(ROLES) - i for i, role in enumerate(ROLES)}  # Admin 4 … Viewer 1

# action: (minimum role, token scope(s) that allow it, or None for cookie only)
POLICY = {
    "read": ("Viewer", "view"),
    "account": ("Viewer", None),          # own tokens, profile, password
    "team:read": ("Admin", "view"),
    "team:write": ("Admin", None),
    "settings:write": ("Admin", None),
    "logs:read": ("Admin", "view"),
    "apps:write": ("Developer", ("builds:write", "ota:write")),
    "builds:write": ("Developer", "builds:write"),
    "builds:review": ("QA", "builds:write"),   # status and label
    "comment": ("QA", None),
    "recordings:write": ("QA", "builds:write"),
    "agent:report": ("Admin", "agent"),
    "ota:write": ("Developer", "ota:write"),
}


@dataclass(frozen=True)
class Identity:
    user: User
    via: str  # "cookie" or "token"
    scopes: frozenset = frozenset()

    def has_role(self, role: str) -> bool:
        return RANK[self.user.role] >= RANK[role]


def authorize(identity: Identity | None, action: str) -> None:
    """Raise Unauthorized/Forbidden unless `identity` may perform `action`."""
    min_role, scope = POLICY[action]
    if identity is None:
        raise Unauthorized("Unauthorized")
    if identity.via == "token" and not _scoped(identity.scopes, scope):
        raise Forbidden("Insufficient scope")
    if not identity.has_role(min_role):
        raise Forbidden("Forbidden")


def _scoped(granted: frozenset, needed) -> bool:
    if needed is None:
        return False
    return bool(granted & ({needed} if isinstance(needed, str) else set(needed)))
