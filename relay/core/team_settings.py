"""Team-wide settings kept as key/value rows: the team name and the logo."""
from relay.core.errors import Invalid
from relay.db import database
from relay.models import Setting

DEFAULT_TEAM_NAME = "My Team"


def _get(key: str, default=None):
    row = Setting.get_or_none(Setting.key == key)
    return default if row is None or row.value is None else row.value


def _set(key: str, value) -> None:
    Setting.insert(key=key, value=value).on_conflict_replace().execute()


def team_name() -> str:
    return _get("team_name", DEFAULT_TEAM_NAME)


def logo_key() -> str | None:
    return _get("logo")


def validate_team_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise Invalid("team_name must not be empty")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise Invalid("team_name must be a single line of text")
    if len(name.strip()) > 100:
        raise Invalid("team_name must be at most 100 characters")
    return name.strip()


def update(name: str | None, logo: str | None) -> str | None:
    """Write the given values together; returns the logo key they replaced."""
    with database.atomic():
        old_logo = logo_key()
        if name is not None:
            _set("team_name", name)
        if logo is not None:
            _set("logo", logo)
    return old_logo
