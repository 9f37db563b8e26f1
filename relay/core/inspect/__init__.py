"""Build-file inspection: what an uploaded .app.zip, .tar.gz/.tgz or .apk says about itself.

    info = inspect_build(spooled_path, upload.filename)   # BuildInfo, or raises InvalidBuild

`filename` only chooses the kind by its extension; it is never used as a path. Nothing is
extracted, and every read is bounded (see base.py), so hostile archives are refused cheaply.
"""
from enum import Enum
from pathlib import Path

from relay.core.inspect import ios
from relay.core.inspect.base import BuildInfo, InvalidBuild

__all__ = ["BuildInfo", "InvalidBuild", "Kind", "kind_of", "inspect_build"]

UNSUPPORTED = "Unsupported file type: use .app.zip, .tar.gz/.tgz (iOS simulator) or .apk"
AAB_MESSAGE = ("Android App Bundles (.aab) can't be installed on a device directly. "
               "Upload an .apk instead (for example from ./gradlew assembleDebug or assembleRelease).")


class Kind(str, Enum):
    APP_ZIP = "app.zip"
    APP_TAR = "tar.gz"
    APK = "apk"

    @property
    def platform(self) -> str:
        return "android" if self is Kind.APK else "ios"


def kind_of(filename: str) -> Kind:
    """The kind of build a file name announces; InvalidBuild for anything we do not take.

    Cheap enough to call before spooling the upload, to refuse early.
    """
    name = (filename or "").strip().lower()
    if name.endswith(".zip"):  # ".app.zip" is the documented form; a plain ".zip" holds the same
        return Kind.APP_ZIP
    if name.endswith((".tar.gz", ".tgz")):
        return Kind.APP_TAR
    if name.endswith(".apk"):
        return Kind.APK
    if name.endswith(".ipa"):
        raise InvalidBuild(ios.IPA_MESSAGE)
    if name.endswith(".aab"):
        raise InvalidBuild(AAB_MESSAGE)
    raise InvalidBuild(UNSUPPORTED)


def inspect_build(path: Path, filename: str) -> BuildInfo:
    """Read the metadata and icon of the build at `path` (a file we wrote, named by us)."""
    from relay.core.inspect import android  # pulls in pyaxmlparser and lxml: first .apk only

    kind = kind_of(filename)
    path = Path(path)
    if kind is Kind.APK:
        return android.inspect_apk(path)
    if kind is Kind.APP_TAR:
        return ios.inspect_app_tar(path, ".tar.gz")
    return ios.inspect_app_zip(path, ".app.zip")
