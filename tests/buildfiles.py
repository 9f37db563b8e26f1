"""Real build archives made by the tests themselves: nothing binary is committed.

- iOS simulator bundles: `X.app/Info.plist` (binary or XML plist) and icon PNGs, zipped or tarred.
- Android: an .apk with a binary AndroidManifest.xml (compiled by pyaxml) and a resources.arsc
  written by the small encoder below (no PyPI package writes resource tables from scratch).
- Hostile archives: zip and tar.gz bombs, built in a second from repeated deflate blocks.
"""
import gzip
import io
import plistlib
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pyaxml
from lxml import etree
from PIL import Image

MB = 1024 * 1024


# ---- images -------------------------------------------------------------------------------

def png(size: int = 120, color=(30, 120, 200, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (size, size), color).save(out, format="PNG")
    return out.getvalue()


def webp(size: int = 96, color=(200, 60, 60, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (size, size), color).save(out, format="WEBP")
    return out.getvalue()


def cgbi_png(size: int = 120) -> bytes:
    """The shape of an Xcode-crushed PNG: a CgBI chunk before IHDR (Pillow cannot decode these)."""
    normal = png(size)
    body = b"\x50\x00\x20\x02"
    chunk = struct.pack(">I", len(body)) + b"CgBI" + body + struct.pack(">I", zlib.crc32(b"CgBI" + body))
    return normal[:8] + chunk + normal[8:]


# ---- iOS ------------------------------------------------------------------------------------

def info_plist(**overrides) -> dict:
    """A simulator build's Info.plist as Xcode writes it; a value of None removes the key."""
    plist = {
        "CFBundleIdentifier": "com.example.relaydemo",
        "CFBundleShortVersionString": "1.2.3",
        "CFBundleVersion": "89",
        "CFBundleDisplayName": "Relay Demo",
        "CFBundleName": "RelayDemo",
        "CFBundleExecutable": "RelayDemo",
        "CFBundleSupportedPlatforms": ["iPhoneSimulator"],
        "DTPlatformName": "iphonesimulator",
        "MinimumOSVersion": "15.0",
        "CFBundleIcons": {"CFBundlePrimaryIcon": {"CFBundleIconFiles": ["AppIcon60x60"],
                                                  "CFBundleIconName": "AppIcon"}},
    }
    plist.update(overrides)
    return {k: v for k, v in plist.items() if v is not None}


def plist_bytes(plist: dict, binary: bool = True) -> bytes:
    return plistlib.dumps(plist, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML)


def app_files(app: str = "RelayDemo.app", plist: dict | None = None, binary: bool = True,
              icons: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The files of a minimal simulator .app: Info.plist, an executable stub and icons."""
    if icons is None:
        icons = {"AppIcon60x60@2x.png": png(120, (10, 200, 10, 255)),
                 "AppIcon60x60@3x.png": png(180, (200, 10, 10, 255))}
    files = {f"{app}/": b"", f"{app}/Info.plist": plist_bytes(plist or info_plist(), binary),
             f"{app}/RelayDemo": b"\xcf\xfa\xed\xfe" + bytes(60)}
    files.update({f"{app}/{name}": data for name, data in icons.items()})
    return files


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def write_tar_gz(path: Path, files: dict[str, bytes], links: dict[str, str] | None = None,
                 hardlinks: dict[str, str] | None = None, **open_args) -> Path:
    """A tar.gz of `files` (names ending in "/" are folders) plus symbolic and hard links."""
    with tarfile.open(path, "w:gz", **open_args) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name.rstrip("/") or name)
            if name.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        for kind, table in ((tarfile.SYMTYPE, links or {}), (tarfile.LNKTYPE, hardlinks or {})):
            for name, target in table.items():
                info = tarfile.TarInfo(name)
                info.type, info.linkname = kind, target
                tar.addfile(info)
    return path


# ---- bombs ----------------------------------------------------------------------------------

def _zero_deflate(prefix: bytes, zeros: int) -> tuple[bytes, int]:
    """Raw deflate of prefix + `zeros` zero bytes, and its CRC-32, without compressing gigabytes.

    After a full flush the compressor forgets its history, so every further megabyte of zeros
    compresses to the very same block: compute it once and repeat it.
    """
    chunk = bytes(MB)
    count, rest = divmod(zeros, MB)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH) == block
    tail = comp.compress(bytes(rest)) + comp.flush()
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    return head + block * count + tail, zlib.crc32(bytes(rest), crc)


def zip_bomb(path: Path, name: str, size: int = 2048 * MB, extra: dict[str, bytes] | None = None) -> Path:
    """A valid zip whose `name` inflates to `size` zero bytes (about 1000:1), honest headers."""
    data, crc = _zero_deflate(b"", size)
    raw = name.encode()
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size, len(raw), 0)
    central = struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data), size,
                          len(raw), 0, 0, 0, 0, 0o644 << 16, 0)
    with open(path, "wb") as f:
        f.write(local + raw + data)
        directory = central + raw
        count = 1
        for other, content in (extra or {}).items():  # small stored members beside the bomb
            offset = f.tell()
            other_raw = other.encode()
            other_crc = zlib.crc32(content)
            f.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, other_crc, len(content),
                                len(content), len(other_raw), 0) + other_raw + content)
            directory += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, other_crc,
                                     len(content), len(content), len(other_raw), 0, 0, 0, 0,
                                     0o644 << 16, offset) + other_raw
            count += 1
        start = f.tell()
        f.write(directory)
        f.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, len(directory), start, 0))
    return path


def tar_gz_bomb(path: Path, name: str, size: int) -> Path:
    """A valid .tar.gz holding one member of `size` zero bytes (a few MB on disk)."""
    header = tarfile.TarInfo(name)
    header.size = size
    block = header.tobuf(format=tarfile.GNU_FORMAT)
    padding = -size % 512
    data, crc = _zero_deflate(block, size + padding + 1024)  # data, padding, end-of-archive
    total = len(block) + size + padding + 1024
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00" + bytes(4) + b"\x00\xff")  # gzip header, no name, no mtime
        f.write(data)
        f.write(struct.pack("<2I", crc, total & 0xFFFFFFFF))
    return path


def many_entries_zip(path: Path, count: int, app: str = "Many.app") -> Path:
    """A zip of `count` empty files inside one .app."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{app}/Info.plist", plist_bytes(info_plist()))
        for i in range(count - 1):
            zf.writestr(zipfile.ZipInfo(f"{app}/f{i}"), b"")
    return path


# ---- Android --------------------------------------------------------------------------------

ANDROID_NS = "http://schemas.android.com/apk/res/android"


def manifest_xml(package="com.example.relaydemo", version_code="42", version_name="2.0.1",
                 label="Relay Demo", icon: str | None = None, min_sdk="24") -> str:
    """AndroidManifest.xml source; references are written as "@7F010000" (pyaxml's typed form)."""
    icon_attr = f' android:icon="{icon}"' if icon else ""
    label_attr = f' android:label="{label}"' if label is not None else ""
    package_attr = f' package="{package}"' if package else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="{ANDROID_NS}"{package_attr}
    android:versionCode="{version_code}" android:versionName="{version_name}">
  <uses-sdk android:minSdkVersion="{min_sdk}" android:targetSdkVersion="34"/>
  <application{label_attr}{icon_attr}>
    <activity android:name=".MainActivity" android:exported="true">
      <intent-filter>
        <action android:name="android.intent.action.MAIN"/>
        <category android:name="android.intent.category.LAUNCHER"/>
      </intent-filter>
    </activity>
  </application>
</manifest>"""


def compile_manifest(xml: str) -> bytes:
    """Android binary XML (AXML), as aapt2 would write it, compiled by pyaxml."""
    axml = pyaxml.AXML()
    axml.from_xml(etree.fromstring(xml.encode()))
    axml.compute()
    return axml.pack()


class ResourceTable:
    """A minimal resources.arsc writer: one package, string values and density-qualified files.

    Layout (frameworks/base/libs/androidfw/include/androidfw/ResourceTypes.h): a table chunk
    holding the value string pool and one package chunk; the package holds its type-name and
    key-name pools, then per type one typeSpec chunk and one type chunk per configuration.
    """
    DENSITIES = {"mdpi": 160, "hdpi": 240, "xhdpi": 320, "xxhdpi": 480, "xxxhdpi": 640, "anydpi": 0xFFFE}

    def __init__(self, package: str = "com.example.relaydemo", package_id: int = 0x7F):
        self.package, self.package_id = package, package_id
        self.types: dict[str, list[str]] = {}                  # type -> entry keys
        self.values: dict[tuple[str, str], dict[int, str]] = {}  # (type, key) -> {density: string}

    def add(self, type_name: str, key: str, by_density: dict[int, str]) -> int:
        keys = self.types.setdefault(type_name, [])
        keys.append(key)
        self.values[(type_name, key)] = by_density
        return (self.package_id << 24) | (list(self.types).index(type_name) + 1) << 16 | (len(keys) - 1)

    def add_string(self, key: str, value: str) -> int:
        return self.add("string", key, {0: value})

    def add_files(self, type_name: str, key: str, paths: dict[str, str]) -> int:
        """`paths` maps a density name ("xxhdpi", "anydpi"...) to the file inside the .apk."""
        return self.add(type_name, key, {self.DENSITIES[d]: p for d, p in paths.items()})

    def build(self) -> bytes:
        strings = [v for by_density in self.values.values() for v in by_density.values()]
        keys = [k for ks in self.types.values() for k in ks]
        package = self._package(strings, keys)
        pool = string_pool(strings)
        return _chunk(0x0002, struct.pack("<I", 1), pool + package)

    def _package(self, strings: list[str], keys: list[str]) -> bytes:
        type_pool, key_pool = string_pool(list(self.types)), string_pool(keys)
        body = b""
        for type_index, (type_name, type_keys) in enumerate(self.types.items(), start=1):
            densities = sorted({d for k in type_keys for d in self.values[(type_name, k)]})
            flags = struct.pack(f"<{len(type_keys)}I", *[0x0100 if densities != [0] else 0] * len(type_keys))
            body += _chunk(0x0202, struct.pack("<BBHI", type_index, 0, 0, len(type_keys)), flags)
            for density in densities:
                body += self._type_chunk(type_index, type_name, type_keys, density, strings, keys)
        name = self.package.encode("utf-16-le").ljust(256, b"\0")
        header_size = 288
        fields = struct.pack("<I", self.package_id) + name + struct.pack(
            "<5I", header_size, len(self.types), header_size + len(type_pool), len(keys), 0)
        return _chunk(0x0200, fields, type_pool + key_pool + body)

    def _type_chunk(self, type_index, type_name, type_keys, density, strings, keys) -> bytes:
        config = bytearray(64)
        struct.pack_into("<I", config, 0, 64)
        struct.pack_into("<H", config, 14, density if density else 0)
        if density == 0xFFFE:
            struct.pack_into("<H", config, 24, 26)  # anydpi-v26, where adaptive icons live
        offsets, entries = [], b""
        for key in type_keys:
            value = self.values[(type_name, key)].get(density)
            if value is None:
                offsets.append(0xFFFFFFFF)
                continue
            offsets.append(len(entries))
            entries += struct.pack("<HHI", 8, 0, keys.index(key))
            entries += struct.pack("<HBBI", 8, 0, 0x03, strings.index(value))  # TYPE_STRING
        entries_start = 8 + 12 + 64 + 4 * len(offsets)
        fields = struct.pack("<BBHII", type_index, 0, 0, len(type_keys), entries_start) + bytes(config)
        return _chunk(0x0201, fields, struct.pack(f"<{len(offsets)}I", *offsets) + entries)


def string_pool(strings: list[str]) -> bytes:
    """A UTF-8 ResStringPool (short strings only: one-byte lengths)."""
    data, offsets = b"", []
    for s in strings:
        raw = s.encode()
        assert len(s) < 128 and len(raw) < 128
        offsets.append(len(data))
        data += bytes([len(s), len(raw)]) + raw + b"\0"
    data += bytes(-len(data) % 4)
    strings_start = 28 + 4 * len(strings)
    fields = struct.pack("<5I", len(strings), 0, 0x100, strings_start, 0)  # 0x100: UTF-8
    return _chunk(0x0001, fields, struct.pack(f"<{len(offsets)}I", *offsets) + data)


def _chunk(kind: int, header_fields: bytes, body: bytes) -> bytes:
    header_size = 8 + len(header_fields)
    return struct.pack("<HHI", kind, header_size, header_size + len(body)) + header_fields + body


def write_apk(path: Path, manifest: bytes | None, arsc: bytes | None = None,
              files: dict[str, bytes] | None = None) -> Path:
    """An .apk as the build tools lay it out (unsigned: signatures are not our business)."""
    contents = {}
    if manifest is not None:
        contents["AndroidManifest.xml"] = manifest
    if arsc is not None:
        contents["resources.arsc"] = arsc
    contents["classes.dex"] = b"dex\n035\0" + bytes(104)
    contents.update(files or {})
    return write_zip(path, contents)


def demo_apk(path: Path, label_ref: bool = True, adaptive: bool = False, **manifest) -> Path:
    """A complete .apk: label from resources.arsc and launcher icons in three densities."""
    table = ResourceTable()
    label = table.add_string("app_name", "Relay Demo") if label_ref else None
    densities = {"mdpi": "res/mipmap-mdpi-v4/ic_launcher.png",
                 "xxhdpi": "res/mipmap-xxhdpi-v4/ic_launcher.png",
                 "xhdpi": "res/mipmap-xhdpi-v4/ic_launcher.webp"}
    if adaptive:
        densities["anydpi"] = "res/mipmap-anydpi-v26/ic_launcher.xml"
    icon = table.add_files("mipmap", "ic_launcher", densities)
    xml = manifest_xml(label=f"@{label:08X}" if label_ref else manifest.pop("label", "Relay Demo"),
                       icon=f"@{icon:08X}", **manifest)
    files = {densities["mdpi"]: png(48, (0, 0, 255, 255)),
             densities["xhdpi"]: webp(96, (0, 255, 0, 255)),
             densities["xxhdpi"]: png(144, (255, 0, 0, 255))}
    if adaptive:
        files[densities["anydpi"]] = compile_manifest(
            f'<adaptive-icon xmlns:android="{ANDROID_NS}"><background android:drawable="@7F020000"/></adaptive-icon>')
    return write_apk(path, compile_manifest(xml), table.build(), files)
