"""What OTA names and numbers may look like; each check raises Invalid with the field's name."""
import re

from relay.core.errors import Invalid, TooLarge

VERSION_RE = re.compile(r"^[A-Za-z0-9._+-]{1,64}$")
CHANNEL_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
RUNTIME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RESERVED_CHANNELS = {"base", "default"}
BASE_KEY, DEFAULT_RUNTIME_KEY = "__base__", "__default__"


def version(value) -> str:
    if not isinstance(value, str) or not VERSION_RE.match(value):
        raise Invalid("version must be 1-64 letters, digits, '.', '_', '+' or '-'")
    return value


def sha256(value) -> str:
    if not isinstance(value, str) or not SHA256_RE.match(value):
        raise Invalid("sha256 must be 64 hexadecimal characters")
    return value.lower()


def size(value, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Invalid("size must be a positive whole number of bytes")
    if value > limit:
        raise TooLarge(f"size must be at most {limit // (1024 * 1024)} MB")
    return value


def min_native_build(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise Invalid("minNativeBuild must be a whole number")
    return value


def runtime_version(value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not RUNTIME_RE.match(value) or value == DEFAULT_RUNTIME_KEY:
        raise Invalid("runtimeVersion must be 1-64 letters, digits, '.', '_' or '-'")
    return value


def channel(value) -> str | None:
    """None for the base channel (omitted, null or blank)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not CHANNEL_RE.match(value.strip()):
        raise Invalid("channel must be 1-64 letters, digits, '.', '_' or '-'")
    value = value.strip()
    if value.lower() in RESERVED_CHANNELS or value.startswith("__"):
        raise Invalid(f"channel name {value!r} is reserved; omit channel for the base channel")
    return value


def uuid(value, what: str) -> str:
    if not isinstance(value, str) or not UUID_RE.match(value.lower()):
        raise Invalid(f"{what} must be a UUID")
    return value.lower()


def lane_keys(channel_name: str | None, runtime: str | None) -> tuple[str, str]:
    return channel_name or BASE_KEY, runtime or DEFAULT_RUNTIME_KEY
