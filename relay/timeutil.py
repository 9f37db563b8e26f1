"""UTC time helpers: the API speaks ISO-8601 with milliseconds and a Z."""
from datetime import datetime, timedelta, timezone


def utcnow() -> datetime:
    """Naive UTC, the form stored in the database."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def days(n: float) -> timedelta:
    return timedelta(days=n)

