"""What inspection returns, the one error it raises, and the limits that keep it cheap."""
from dataclasses import dataclass

from relay.core.errors import Invalid

MB = 1024 * 1024

# Limits on what one upload can make us do; far above any real build.
MAX_ENTRIES = 20_000           # files in one archive
MAX_DIRECTORY_BYTES = 16 * MB  # zip central directory, read before zipfile parses it
MAX_TAR_BYTES = 2 * 1024 * MB  # uncompressed bytes a .tar.gz may make us stream through
MAX_PLIST_BYTES = 1 * MB
MAX_ICON_BYTES = 5 * MB
MAX_MANIFEST_BYTES = 4 * MB
MAX_ARSC_BYTES = 32 * MB
MAX_TEXT = 255                 # characters in one metadata field


class InvalidBuild(Invalid):
    """A build file we refuse; the message is meant for the person who uploaded it (HTTP 400)."""


@dataclass(frozen=True)
class BuildInfo:
    platform: str                  # "ios" | "android"
    bundle_id: str                 # CFBundleIdentifier / manifest package
    version_name: str              # CFBundleShortVersionString / versionName ("" when absent)
    build_number: str              # CFBundleVersion / versionCode ("" when absent)
    display_name: str | None = None
    icon_png: bytes | None = None  # re-encoded by Pillow, never the uploaded bytes
    min_os: str | None = None      # iOS MinimumOSVersion ("15.0") / Android minSdkVersion ("24")


def text(value, field: str) -> str | None:
    """A metadata value as a short string: numbers become text, anything else is absent."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    value = str(value).strip()
    if len(value) > MAX_TEXT:
        raise InvalidBuild(f"{field} is too long (more than {MAX_TEXT} characters)")
    return value or None
