"""Device events (downloaded, download_error, applied, rollback), idempotent by eventId."""
from relay.core.errors import Invalid
from relay.core.ota.releases import ACTIONS
from relay.db import database
from relay.models import App, OtaEvent

MAX_DETAIL = 2000
MAX_FIELD = 128


def _text(body: dict, name: str, required: bool = True, limit: int = MAX_FIELD) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"{name} required")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name == "nativeBuild":
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    if len(value) > limit:
        raise Invalid(f"{name} must be at most {limit} characters")
    return value


def record(app: App, body: dict) -> bool:
    """Store one event; False when its eventId was already recorded (a retry)."""
    action = _text(body, "action")
    if action not in ACTIONS:
        raise Invalid(f"action must be one of {', '.join(ACTIONS)}")
    row = {"event_id": _text(body, "eventId"), "sent_at": _text(body, "sentAt"),
           "platform": _text(body, "platform"), "action": action,
           "bundle_version": _text(body, "bundleVersion"),
           "channel": _text(body, "channel", required=False),
           "runtime_version": _text(body, "runtimeVersion", required=False),
           "release_id": _text(body, "releaseId"),
           "native_build": _text(body, "nativeBuild"),
           "detail": _text(body, "detail", required=False, limit=MAX_DETAIL)}
    cursor = database.execute(OtaEvent.insert(app=app, **row).on_conflict_ignore())
    return cursor.rowcount == 1
