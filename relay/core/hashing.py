"""Secrets at rest: bcrypt for passwords, SHA-256 for random tokens (they carry their own entropy)."""
import hashlib
import hmac
import secrets

import bcrypt

from relay.core.errors import Invalid

MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 72  # bcrypt's own limit; refused rather than silently truncated

_DUMMY_HASH = bcrypt.hashpw(b"relay-timing-equaliser", bcrypt.gensalt(4))


def validate_password(password, field: str = "password") -> str:
    if not isinstance(password, str) or not password:
        raise Invalid(f"{field} required")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"{field} must be at least {MIN_PASSWORD} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise Invalid(f"{field} must be at most {MAX_PASSWORD_BYTES} bytes")
    return password


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def check_password(password: str, hashed: str | None) -> bool:
    """Constant work whether or not the account exists."""
    raw = password.encode() if isinstance(password, str) else b""
    if not raw or len(raw) > MAX_PASSWORD_BYTES:
        bcrypt.checkpw(b"x", _DUMMY_HASH)
        return False
    if hashed is None:
        bcrypt.checkpw(raw, _DUMMY_HASH)
        return False
    return bcrypt.checkpw(raw, hashed.encode())


def new_token(nbytes: int = 16) -> str:
    return secrets.token_hex(nbytes)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
