"""Android .apk files: binary AndroidManifest.xml and resources.arsc, decoded by pyaxmlparser.

We read both members ourselves, under our limits, and hand pyaxmlparser only bytes: its APK
class would open the zip on its own terms.
"""
import logging
from dataclasses import replace
from pathlib import Path

from pyaxmlparser.arscparser import ARSCParser
from pyaxmlparser.arscutil import ARSCResTableConfig
from pyaxmlparser.axmlprinter import AXMLPrinter

from relay.core.inspect.archives import open_zip, read_zip_member
from relay.core.inspect.base import (
    MAX_ARSC_BYTES, MAX_ICON_BYTES, MAX_MANIFEST_BYTES, BuildInfo, InvalidBuild, text,
)
from relay.core.inspect.icons import to_png

ANDROID = "{http://schemas.android.com/apk/res/android}"
RASTER = (".png", ".webp", ".jpg")
ANY_DPI = 0xFFFE  # adaptive icons (XML) live here
ICON_TRIES = 3
NOT_AN_APK = "This .apk is not an Android app package: it has no AndroidManifest.xml"

# The parser logs an error for every malformed input; our InvalidBuild already says it once.
logging.getLogger("pyaxmlparser").setLevel(logging.CRITICAL)


def inspect_apk(path: Path) -> BuildInfo:
    with open_zip(path, ".apk") as zf:
        raw = read_zip_member(zf, "AndroidManifest.xml", MAX_MANIFEST_BYTES, "AndroidManifest.xml")
        if raw is None:
            raise InvalidBuild(NOT_AN_APK)
        manifest = _manifest(raw)
        arsc_raw = read_zip_member(zf, "resources.arsc", MAX_ARSC_BYTES, "resources.arsc")
        resources = _resources(arsc_raw) if arsc_raw else None
        info = _info(manifest, resources)
        for name in _icon_paths(manifest, resources)[:ICON_TRIES]:
            png = to_png(read_zip_member(zf, name, MAX_ICON_BYTES, name))
            if png:
                return replace(info, icon_png=png)
    return info


def _manifest(raw: bytes):
    """The manifest as an lxml element; anything the parser cannot make sense of is refused."""
    try:
        printer = AXMLPrinter(raw)
        root = printer.get_xml_obj() if printer.is_valid() else None
    except Exception:  # the parser's failure modes on hostile input are many and undocumented
        root = None
    if root is None or root.tag != "manifest":
        raise InvalidBuild("AndroidManifest.xml could not be read: the .apk is damaged or not an Android app")
    return root


def _resources(raw: bytes) -> ARSCParser | None:
    """The resource table, or None when it is unreadable (labels and icons then stay unresolved)."""
    try:
        return ARSCParser(raw)
    except Exception:  # a broken table should not refuse an otherwise installable build
        return None


def _info(manifest, resources) -> BuildInfo:
    package = text(manifest.get("package"), "package")
    if not package:
        raise InvalidBuild("AndroidManifest.xml has no package name")
    application = manifest.find("application")
    uses_sdk = manifest.find("uses-sdk")
    label = application.get(ANDROID + "label") if application is not None else None
    return BuildInfo(
        platform="android",
        bundle_id=package,
        version_name=text(_resolve(manifest.get(ANDROID + "versionName"), resources), "versionName") or "",
        build_number=text(manifest.get(ANDROID + "versionCode"), "versionCode") or "",
        display_name=_label(label, resources),
        min_os=None if uses_sdk is None else text(uses_sdk.get(ANDROID + "minSdkVersion"), "minSdkVersion"),
    )


def _label(label: str | None, resources) -> str | None:
    value = _resolve(label, resources)
    if value and value.startswith("@"):  # a reference we could not resolve is no name
        return None
    return text(value, "label")


def _resolve(value: str | None, resources) -> str | None:
    """A literal attribute as is; an "@7F0A0001" reference as its default-configuration value."""
    if not value or not value.startswith("@") or resources is None:
        return value
    values = _configs(value, resources, ARSCResTableConfig.default_config())
    return str(values[0][1]) if values else value


def _icon_paths(manifest, resources) -> list[str]:
    """Raster files the application icon resolves to, highest density first; XML is skipped."""
    application = manifest.find("application")
    icon = application.get(ANDROID + "icon") if application is not None else None
    if not icon or resources is None:
        return []
    found = []
    for config, path in _configs(icon, resources, None):
        density = config.get_density()
        if isinstance(path, str) and path.lower().endswith(RASTER) and not path.endswith(".9.png"):
            found.append((0 if density >= ANY_DPI else density, path))
    return [path for _density, path in sorted(found, reverse=True)]


def _configs(reference: str, resources, config) -> list:
    """[(configuration, value)] for a reference; [] for anything unresolvable."""
    try:
        res_id, package = ARSCParser.parse_id(reference)
        if package == "android":  # framework resources are not in the app's table
            return []
        return resources.get_resolved_res_configs(res_id, config)
    except Exception:  # malformed ids and tables: treat as unresolved
        return []
