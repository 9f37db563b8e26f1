"""iOS simulator builds: one `X.app` folder at the top of a zip or a tar.gz."""
import plistlib
import re
from dataclasses import replace
from pathlib import Path

from relay.core.inspect.archives import (
    iter_tar, open_zip, read_tar_member, read_zip_member,
)
from relay.core.inspect.base import MAX_ICON_BYTES, MAX_PLIST_BYTES, BuildInfo, InvalidBuild, text
from relay.core.inspect.icons import to_png

IPA_MESSAGE = (".ipa files are not supported. Use .app.zip only. "
               "Build with xcodebuild -sdk iphonesimulator, then zip the .app folder.")
HOW_TO_BUILD = "Build with xcodebuild -sdk iphonesimulator, then zip the .app folder."
IGNORED_TOP = {"__MACOSX", ".DS_Store"}  # Finder's "Compress" adds these beside the .app
ICON_TRIES = 3  # candidates tried when the best icon will not decode


def inspect_app_zip(path: Path, label: str) -> BuildInfo:
    with open_zip(path, label) as zf:
        # Entry names are only keys: normalised parts -> the exact name zipfile knows.
        entries = {_parts(name): name for name in zf.namelist()}
        app = _single_app(entries, label)
        plist_name = entries.get((app, "Info.plist"))
        if plist_name is None:
            raise InvalidBuild(f"{app} has no Info.plist. {HOW_TO_BUILD}")
        info, icons = _from_plist(read_zip_member(zf, plist_name, MAX_PLIST_BYTES, "Info.plist"))
        root_files = {p[1]: zf.getinfo(n).file_size  # declared size: only a tie-break
                      for p, n in entries.items() if len(p) == 2 and p[0] == app}
        for name in _rank_icons(icons, root_files)[:ICON_TRIES]:
            png = to_png(read_zip_member(zf, entries[(app, name)], MAX_ICON_BYTES, name))
            if png:
                return _with_icon(info, png)
    return info


def inspect_app_tar(path: Path, label: str) -> BuildInfo:
    """Two streaming passes: check every entry and read Info.plist, then read the chosen icon."""
    app, plist, root_files = None, None, {}
    for parts, member, tar in iter_tar(path):
        if parts[0] in IGNORED_TOP:
            continue
        if app is None and parts[0].lower().endswith(".app"):
            app = parts[0]
        elif parts[0] != app:
            _refuse_top_level(app, parts[0], label)
            continue
        if len(parts) == 2 and member.isfile():
            root_files[parts[1]] = member.size
            if parts[1] == "Info.plist":
                plist = read_tar_member(tar, member, MAX_PLIST_BYTES, "Info.plist")
    if app is None:
        raise InvalidBuild(f"The {label} has no .app folder at its top level. {HOW_TO_BUILD}")
    if plist is None:
        raise InvalidBuild(f"{app} has no Info.plist. {HOW_TO_BUILD}")
    info, icons = _from_plist(plist)
    wanted = _rank_icons(icons, root_files)[:ICON_TRIES]
    return _with_icon(info, _tar_icon(path, app, wanted)) if wanted else info


def _tar_icon(path: Path, app: str, wanted: list[str]) -> bytes | None:
    found = {}
    for parts, member, tar in iter_tar(path):
        if len(parts) == 2 and parts[0] == app and parts[1] in wanted and member.isfile():
            found[parts[1]] = read_tar_member(tar, member, MAX_ICON_BYTES, parts[1])
            if len(found) == len(wanted):
                break
    for name in wanted:
        if png := to_png(found.get(name)):
            return png
    return None


def _refuse_top_level(app: str | None, other: str, label: str) -> None:
    """Anything else at the top is fine unless it is a second app."""
    if other.lower().endswith(".app"):
        raise InvalidBuild(f"The {label} contains more than one .app folder ({app}, {other}); "
                           "upload one app per file.")


def _parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in name.split("/") if p not in ("", "."))


def _single_app(entries: dict, label: str) -> str:
    tops = {p[0] for p in entries if p and p[0] not in IGNORED_TOP}
    apps = sorted(t for t in tops if t.lower().endswith(".app"))
    if not apps and "Payload" in tops:  # the layout of an .ipa, renamed
        raise InvalidBuild(IPA_MESSAGE)
    if not apps:
        raise InvalidBuild(f"The {label} has no .app folder at its top level. {HOW_TO_BUILD}")
    if len(apps) > 1:
        _refuse_top_level(apps[0], apps[1], label)
    return apps[0]


def _from_plist(data: bytes) -> tuple[BuildInfo, list[str]]:
    """BuildInfo (without icon) and the icon base names Info.plist declares."""
    try:
        plist = plistlib.loads(data)  # binary or XML; plistlib refuses XML entity declarations
    except Exception:  # any malformed plist, whatever the parser trips on
        plist = None
    if not isinstance(plist, dict):
        raise InvalidBuild("Info.plist is not a valid property list")
    bundle_id = text(plist.get("CFBundleIdentifier"), "CFBundleIdentifier")
    if not bundle_id:
        raise InvalidBuild("Info.plist has no CFBundleIdentifier")
    _require_simulator(plist)
    info = BuildInfo(
        platform="ios",
        bundle_id=bundle_id,
        version_name=text(plist.get("CFBundleShortVersionString"), "CFBundleShortVersionString") or "",
        build_number=text(plist.get("CFBundleVersion"), "CFBundleVersion") or "",
        display_name=(text(plist.get("CFBundleDisplayName"), "CFBundleDisplayName")
                      or text(plist.get("CFBundleName"), "CFBundleName")),
        min_os=text(plist.get("MinimumOSVersion"), "MinimumOSVersion"),
    )
    return info, _icon_names(plist)


def _require_simulator(plist: dict) -> None:
    """Device builds cannot run in the simulator; say so now rather than at install time."""
    platforms = plist.get("CFBundleSupportedPlatforms")
    if not isinstance(platforms, list):
        platforms = [plist.get("DTPlatformName")] if plist.get("DTPlatformName") else None
    if platforms is None:
        return  # nothing says which platform: give the benefit of the doubt
    if not any(isinstance(p, str) and p.lower() == "iphonesimulator" for p in platforms):
        raise InvalidBuild("This is a device build; Relay installs iOS builds in the simulator. "
                           + HOW_TO_BUILD)


def _icon_names(plist: dict) -> list[str]:
    """Base names from the modern (CFBundleIcons) and legacy (CFBundleIconFile[s]) keys."""
    names = []
    for key in ("CFBundleIcons", "CFBundleIcons~ipad"):
        primary = _dict(_dict(plist.get(key)).get("CFBundlePrimaryIcon"))
        names += _list(primary.get("CFBundleIconFiles")) + [primary.get("CFBundleIconName")]
    names += _list(plist.get("CFBundleIconFiles")) + [plist.get("CFBundleIconFile")]
    return [n.lower().removesuffix(".png") for n in names if isinstance(n, str) and n.strip()]


def _rank_icons(bases: list[str], root_files: dict[str, int]) -> list[str]:
    """Root-level PNGs named after a declared icon, largest first (AppIcon60x60@3x > @2x > 1x)."""
    matches = [f for f in root_files
               if f.lower().endswith(".png") and any(f.lower().startswith(b) for b in bases)]
    return sorted(matches, key=lambda f: (_pixels(f), root_files[f]), reverse=True)


def _pixels(name: str) -> float:
    side = re.search(r"(\d+(?:\.\d+)?)x\d", name)
    scale = re.search(r"@(\d)x", name)
    return float(side.group(1) if side else 0) * int(scale.group(1) if scale else 1)


def _with_icon(info: BuildInfo, png: bytes | None) -> BuildInfo:
    return replace(info, icon_png=png)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []
