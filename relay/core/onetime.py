"""Single-use, expiring tokens (invitations, password resets), stored only as SHA-256 digests."""
import re
from datetime import timedelta

from relay.core.hashing import digest, new_token
from relay.db import database
from relay.timeutil import utcnow

TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


def well_formed(token) -> bool:
    return isinstance(token, str) and bool(TOKEN_RE.match(token))


def issue(model, ttl: timedelta, **fields) -> tuple[object, str]:
    token = new_token(16)
    row = model.create(token_hash=digest(token), expires_at=utcnow() + ttl, **fields)
    return row, token


def find_valid(model, token):
    """The unused, unexpired row for `token`, or None."""
    if not well_formed(token):
        return None
    return (model.select()
            .where(model.token_hash == digest(token), model.used_at.is_null(),
                   model.expires_at > utcnow())
            .first())


def consume(model, token):
    """Mark the token used and return its row; None when it was already used, expired or unknown.

    The conditional UPDATE makes two concurrent uses of one token succeed at most once.
    Call inside a transaction so the caller's own writes commit with it.
    """
    row = find_valid(model, token)
    if row is None:
        return None
    claimed = (model.update(used_at=utcnow())
               .where(model.id == row.id, model.used_at.is_null())
               .execute())
    return row if claimed == 1 else None


def atomic():
    return database.atomic("IMMEDIATE")
