"""People: the first admin, sign-in, passwords, display names, and ending sessions."""
import re

from relay.core.errors import Forbidden, Invalid
from relay.core.hashing import check_password, hash_password, validate_password
from relay.db import database
from relay.models import ROLES, User

# What mail can actually be delivered to: an unquoted RFC 5322 dot-atom local part (non-ASCII
# letters allowed for internationalised addresses). Characters such as "," or ";" are refused:
# SMTP clients split or truncate on them ("a,b@x.y" would go to "a").
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+"
EMAIL_RE = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@[^@\s,;:<>()\[\]\\\"]+\.[^@\s,;:<>()\[\]\\\".]+$")
MAX_NAME = 100


def validate_email(email) -> str:
    if not isinstance(email, str) or not email.strip():
        raise Invalid("email required")
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise Invalid("email is not a valid address")
    return email


def validate_role(role) -> str:
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    return role


def validate_display_name(name) -> str:
    if not isinstance(name, str):
        raise Invalid("display_name must be a string")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise Invalid(f"display_name must be at most {MAX_NAME} characters")
    return name


def default_name(email: str) -> str:
    return email.split("@", 1)[0]


def is_initialized() -> bool:
    return User.select().exists()


def create_user(email: str, password_hash: str, role: str, display_name: str = "",
                avatar: str | None = None) -> User:
    """Insert the account; the caller hashed the password beforehand, outside any transaction
    (bcrypt takes ~250 ms and would hold the database's write lock all that time)."""
    return User.create(email=email, password_hash=password_hash, role=role,
                       display_name=display_name or default_name(email), avatar=avatar)


def create_first_admin(email, password, display_name, rounds: int) -> User:
    """Create the first account; the IMMEDIATE transaction lets exactly one of two racers win."""
    email = validate_email(email)
    validate_password(password)
    name = validate_display_name(display_name or "")
    hashed = hash_password(password, rounds)
    with database.atomic("IMMEDIATE"):
        if is_initialized():
            raise Forbidden("Already initialized")
        return create_user(email, hashed, "Admin", display_name=name)


def find_by_email(email) -> User:
    from relay.core.errors import NotFound
    user = User.get_or_none(User.email == str(email).strip().lower())
    if user is None:
        raise NotFound(f"no account with the email {email}")
    return user


def authenticate(email: str, password: str) -> User | None:
    user = User.get_or_none(User.email == email.strip().lower())
    ok = check_password(password, user.password_hash if user else None)
    return user if ok else None


def set_password_hash(user: User, password_hash: str) -> None:
    """New password, and every existing session of the user ends."""
    User.update(password_hash=password_hash,
                session_gen=User.session_gen + 1).where(User.id == user.id).execute()
    user.session_gen += 1


def change_password(user: User, current, new, rounds: int) -> None:
    if not isinstance(current, str) or not current:
        raise Invalid("currentPassword required")
    validate_password(new, "newPassword")
    if not check_password(current, user.password_hash):
        raise Invalid("Current password is incorrect")
    set_password_hash(user, hash_password(new, rounds))


def end_sessions(user: User) -> None:
    User.update(session_gen=User.session_gen + 1).where(User.id == user.id).execute()
    user.session_gen += 1
