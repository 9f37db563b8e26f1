"""Build-file inspection on real archives built by tests/buildfiles.py."""
import io
import struct
import time
import tracemalloc

import buildfiles as bf
import pytest
from PIL import Image

from relay.core.errors import Invalid
from relay.core.inspect import BuildInfo, InvalidBuild, Kind, inspect_build, kind_of
from relay.core.inspect.base import MAX_TAR_BYTES

MB = 1024 * 1024
IPA = (".ipa files are not supported. Use .app.zip only. "
       "Build with xcodebuild -sdk iphonesimulator, then zip the .app folder.")
UNSUPPORTED = "Unsupported file type: use .app.zip, .tar.gz/.tgz (iOS simulator) or .apk"


def refused(path, filename) -> str:
    with pytest.raises(InvalidBuild) as caught:
        inspect_build(path, filename)
    return caught.value.message


def decoded(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    img.load()
    return img


def bounded(call, seconds=2.0, megabytes=32):
    """Run `call`, asserting it is quick and never holds much memory; return what it raised."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        call()
    except InvalidBuild as e:
        error = e
    else:
        error = None
    finally:
        elapsed = time.monotonic() - started
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f}s"
    assert peak < megabytes * MB, f"peak {peak / MB:.0f} MB"
    return error


# ---- kinds -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind", [("RelayDemo.app.zip", Kind.APP_ZIP), ("build.ZIP", Kind.APP_ZIP),
                                        ("a.tar.gz", Kind.APP_TAR), ("a.tgz", Kind.APP_TAR),
                                        ("app-release.apk", Kind.APK)])
def test_kind_is_chosen_by_extension(name, kind):
    assert kind_of(name) is kind
    assert kind.platform == ("android" if kind is Kind.APK else "ios")


def test_ipa_is_refused_with_the_contract_sentence(tmp_path):
    assert refused(tmp_path / "nothing", "Demo.ipa") == IPA


def test_aab_is_refused_with_a_hint_to_upload_an_apk(tmp_path):
    message = refused(tmp_path / "nothing", "app-release.aab")
    assert "Android App Bundles" in message and "Upload an .apk" in message


@pytest.mark.parametrize("name", ["notes.txt", "app.exe", "archive.tar", "noextension", "", "app.zip.pdf"])
def test_other_extensions_are_unsupported(tmp_path, name):
    assert refused(tmp_path / "nothing", name) == UNSUPPORTED


def test_invalid_build_is_a_400_domain_error():
    assert issubclass(InvalidBuild, Invalid) and InvalidBuild.status == 400


# ---- iOS happy paths ---------------------------------------------------------------------------

def check_ios(info: BuildInfo):
    assert info.platform == "ios"
    assert info.bundle_id == "com.example.relaydemo"
    assert (info.version_name, info.build_number) == ("1.2.3", "89")
    assert info.display_name == "Relay Demo"
    assert info.min_os == "15.0"


def test_app_zip_with_binary_plist(tmp_path):
    files = bf.app_files(binary=True)
    assert files["RelayDemo.app/Info.plist"].startswith(b"bplist00")
    info = inspect_build(bf.write_zip(tmp_path / "upload.bin", files), "RelayDemo.app.zip")
    check_ios(info)


def test_app_zip_with_xml_plist(tmp_path):
    files = bf.app_files(binary=False)
    assert files["RelayDemo.app/Info.plist"].startswith(b"<?xml")
    check_ios(inspect_build(bf.write_zip(tmp_path / "upload.bin", files), "RelayDemo.app.zip"))


@pytest.mark.parametrize("name", ["RelayDemo.tar.gz", "RelayDemo.tgz"])
def test_tar_gz_with_one_app(tmp_path, name):
    info = inspect_build(bf.write_tar_gz(tmp_path / "upload.bin", bf.app_files()), name)
    check_ios(info)
    assert decoded(info.icon_png).size == (180, 180)


def test_tar_gz_with_dot_slash_names_and_icon_before_plist(tmp_path):
    files = bf.app_files()
    ordered = {f"./{n}": files[n] for n in sorted(files, key=lambda n: "Info.plist" in n)}
    info = inspect_build(bf.write_tar_gz(tmp_path / "upload.bin", ordered), "a.tgz")
    check_ios(info)
    assert decoded(info.icon_png).size == (180, 180)


def test_ios_icon_is_the_largest_declared_png_re_encoded(tmp_path):
    info = inspect_build(bf.write_zip(tmp_path / "u", bf.app_files()), "a.app.zip")
    img = decoded(info.icon_png)
    assert img.size == (180, 180)                        # @3x wins over @2x
    assert img.convert("RGBA").getpixel((5, 5)) == (200, 10, 10, 255)


def test_legacy_icon_keys_are_used(tmp_path):
    plist = bf.info_plist(CFBundleIcons=None, CFBundleIconFiles=["Icon.png", "Icon@2x.png"])
    files = bf.app_files(plist=plist, icons={"Icon.png": bf.png(57), "Icon@2x.png": bf.png(114)})
    info = inspect_build(bf.write_zip(tmp_path / "u", files), "a.app.zip")
    assert decoded(info.icon_png).size == (114, 114)


def test_apple_crushed_icon_gives_no_icon(tmp_path):
    files = bf.app_files(icons={"AppIcon60x60@2x.png": bf.cgbi_png(120)})
    info = inspect_build(bf.write_zip(tmp_path / "u", files), "a.app.zip")
    check_ios(info)
    assert info.icon_png is None


def test_unreadable_best_icon_falls_back_to_the_next(tmp_path):
    files = bf.app_files(icons={"AppIcon60x60@3x.png": b"\x89PNG\r\n\x1a\nbroken",
                                "AppIcon60x60@2x.png": bf.png(120)})
    info = inspect_build(bf.write_zip(tmp_path / "u", files), "a.app.zip")
    assert decoded(info.icon_png).size == (120, 120)


def test_no_icon_and_optional_fields(tmp_path):
    plist = bf.info_plist(CFBundleIcons=None, CFBundleDisplayName=None, MinimumOSVersion=None,
                          CFBundleShortVersionString=None, CFBundleVersion=7)
    info = inspect_build(bf.write_zip(tmp_path / "u", bf.app_files(plist=plist, icons={})), "a.app.zip")
    assert (info.display_name, info.version_name, info.build_number) == ("RelayDemo", "", "7")
    assert info.icon_png is None and info.min_os is None


def test_finder_extras_beside_the_app_are_ignored(tmp_path):
    files = bf.app_files()
    files.update({"__MACOSX/RelayDemo.app/._Info.plist": b"x", ".DS_Store": b"x", "README.txt": b"hi"})
    check_ios(inspect_build(bf.write_zip(tmp_path / "u", files), "a.app.zip"))


# ---- iOS refusals -------------------------------------------------------------------------------

def test_corrupt_zip(tmp_path):
    path = tmp_path / "u"
    path.write_bytes(b"PK\x03\x04 this is not really a zip" * 10)
    assert "not a valid zip archive" in refused(path, "a.app.zip")


def test_truncated_zip(tmp_path):
    path = bf.write_zip(tmp_path / "u", bf.app_files())
    path.write_bytes(path.read_bytes()[:-30])
    assert "not a valid zip archive" in refused(path, "a.app.zip")


def test_zip_without_an_app(tmp_path):
    path = bf.write_zip(tmp_path / "u", {"build/RelayDemo.app/Info.plist": b"x", "readme.txt": b"x"})
    assert refused(path, "a.app.zip") == ("The .app.zip has no .app folder at its top level. "
                                          "Build with xcodebuild -sdk iphonesimulator, then zip the .app folder.")


def test_renamed_ipa_layout_gets_the_ipa_message(tmp_path):
    files = {f"Payload/{k}": v for k, v in bf.app_files().items()}
    assert refused(bf.write_zip(tmp_path / "u", files), "a.app.zip") == IPA


def test_zip_with_two_apps(tmp_path):
    files = {**bf.app_files("One.app"), **bf.app_files("Two.app")}
    message = refused(bf.write_zip(tmp_path / "u", files), "a.app.zip")
    assert "more than one .app folder (One.app, Two.app)" in message


def test_missing_info_plist(tmp_path):
    files = {k: v for k, v in bf.app_files().items() if not k.endswith("Info.plist")}
    assert refused(bf.write_zip(tmp_path / "u", files), "a.app.zip").startswith("RelayDemo.app has no Info.plist")


def test_info_plist_that_is_not_a_plist(tmp_path):
    files = {**bf.app_files(), "RelayDemo.app/Info.plist": b"<html>nope</html>"}
    assert refused(bf.write_zip(tmp_path / "u", files), "a.app.zip") == "Info.plist is not a valid property list"


def test_missing_bundle_identifier(tmp_path):
    files = bf.app_files(plist=bf.info_plist(CFBundleIdentifier=None))
    assert refused(bf.write_zip(tmp_path / "u", files), "a.app.zip") == "Info.plist has no CFBundleIdentifier"


def test_device_only_build_is_refused(tmp_path):
    plist = bf.info_plist(CFBundleSupportedPlatforms=["iPhoneOS"], DTPlatformName="iphoneos")
    message = refused(bf.write_zip(tmp_path / "u", bf.app_files(plist=plist)), "a.app.zip")
    assert "device build" in message and "xcodebuild -sdk iphonesimulator" in message


def test_tar_with_two_apps(tmp_path):
    files = {**bf.app_files("One.app"), **bf.app_files("Two.app")}
    assert "more than one .app folder" in refused(bf.write_tar_gz(tmp_path / "u", files), "a.tar.gz")


def test_corrupt_tar_gz(tmp_path):
    path = tmp_path / "u"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage" * 50)
    assert "not a valid gzip-compressed tar archive" in refused(path, "a.tar.gz")


def test_tar_with_a_symlink(tmp_path):
    path = bf.write_tar_gz(tmp_path / "u", bf.app_files(), links={"RelayDemo.app/secret": "/etc/passwd"})
    assert "contains a link ('RelayDemo.app/secret')" in refused(path, "a.tar.gz")


def test_tar_with_a_hardlink(tmp_path):
    path = bf.write_tar_gz(tmp_path / "u", bf.app_files(), hardlinks={"RelayDemo.app/x": "RelayDemo.app/RelayDemo"})
    assert "contains a link" in refused(path, "a.tar.gz")


def test_tar_with_dot_dot_name(tmp_path):
    path = bf.write_tar_gz(tmp_path / "u", {**bf.app_files(), "RelayDemo.app/../../evil": b"x"})
    assert "path that leaves the archive ('RelayDemo.app/../../evil')" in refused(path, "a.tar.gz")


def test_tar_with_plain_dot_dot_evil(tmp_path):
    path = bf.write_tar_gz(tmp_path / "u", {"../evil": b"x", **bf.app_files()})
    assert "path that leaves the archive" in refused(path, "a.tar.gz")


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "/RelayDemo.app/Info.plist", "C:/evil"])
def test_tar_with_absolute_name(tmp_path, name):
    path = bf.write_tar_gz(tmp_path / "u", {**bf.app_files(), name: b"x"})
    assert "absolute path" in refused(path, "a.tar.gz")


# ---- archive bombs and limits --------------------------------------------------------------------

@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """2 GiB of zeros as the app's Info.plist, about 2 MB on disk."""
    return bf.zip_bomb(tmp_path_factory.mktemp("bomb") / "bomb.app.zip", "Bomb.app/Info.plist")


def test_zip_bomb_is_refused_quickly_with_bounded_memory(zip_bomb):
    assert zip_bomb.stat().st_size < 4 * MB
    error = bounded(lambda: inspect_build(zip_bomb, "bomb.app.zip"), seconds=2, megabytes=16)
    assert error is not None and error.message == "Info.plist is too large (more than 1 MB uncompressed)"


def test_bomb_we_do_not_need_is_never_inflated(tmp_path):
    good = bf.app_files("Bomb.app", icons={})
    path = bf.zip_bomb(tmp_path / "u", "Bomb.app/Payload.bin", extra={
        "Bomb.app/Info.plist": good["Bomb.app/Info.plist"]})
    info = None

    def run():
        nonlocal info
        info = inspect_build(path, "a.app.zip")
    assert bounded(run, seconds=2, megabytes=16) is None
    assert info.bundle_id == "com.example.relaydemo"


def test_apk_manifest_bomb_is_refused(tmp_path):
    path = bf.zip_bomb(tmp_path / "u", "AndroidManifest.xml", size=512 * MB)
    error = bounded(lambda: inspect_build(path, "a.apk"), seconds=2, megabytes=16)
    assert error.message == "AndroidManifest.xml is too large (more than 4 MB uncompressed)"


def test_zip_with_30000_entries_is_refused(tmp_path):
    path = bf.many_entries_zip(tmp_path / "u", 30_000)
    error = bounded(lambda: inspect_build(path, "a.app.zip"), seconds=2, megabytes=16)
    assert error.message == "The .app.zip has too many files (more than 20,000)"


def test_zip_whose_end_record_understates_its_entries_is_refused(tmp_path):
    path = bf.many_entries_zip(tmp_path / "u", 30_000)
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 5, 5)  # claim 5 entries
    path.write_bytes(bytes(data))
    error = bounded(lambda: inspect_build(path, "a.app.zip"), seconds=2, megabytes=16)
    assert error.message == "The .app.zip has too many files (more than 20,000)"


def test_tar_gz_bomb_is_refused_at_its_header(tmp_path):
    path = bf.tar_gz_bomb(tmp_path / "u", "Bomb.app/Info.plist", MAX_TAR_BYTES + MB)
    assert path.stat().st_size < 4 * MB
    error = bounded(lambda: inspect_build(path, "a.tar.gz"), seconds=1, megabytes=16)
    assert error.message == "The .tar.gz is too large uncompressed (more than 2,048 MB)"


def test_tar_gz_info_plist_bomb_stops_at_the_limit(tmp_path):
    path = bf.tar_gz_bomb(tmp_path / "u", "Bomb.app/Info.plist", 64 * MB)
    error = bounded(lambda: inspect_build(path, "a.tar.gz"), seconds=2, megabytes=16)
    assert error.message == "Info.plist is too large (more than 1 MB uncompressed)"


def test_tar_gz_pax_header_bomb_is_refused(tmp_path):
    path = bf.write_tar_gz(tmp_path / "u", bf.app_files(), format=2,  # tarfile.PAX_FORMAT
                           pax_headers={"comment": "x" * (20 * MB)})
    error = bounded(lambda: inspect_build(path, "a.tar.gz"), seconds=2, megabytes=40)
    assert error.message == "The .tar.gz has an oversized entry header"


def test_tar_with_30000_entries_is_refused(tmp_path):
    files = {**bf.app_files(), **{f"RelayDemo.app/f{i}": b"" for i in range(30_000)}}
    path = bf.write_tar_gz(tmp_path / "u", files)
    # About 0.5 s on its own; tracemalloc makes tarfile's per-header Python work several times slower.
    error = bounded(lambda: inspect_build(path, "a.tar.gz"), seconds=15, megabytes=32)
    assert error.message == "The .tar.gz has too many files (more than 20,000)"


# ---- Android -------------------------------------------------------------------------------------

def test_apk_with_label_from_resources_arsc(tmp_path):
    info = inspect_build(bf.demo_apk(tmp_path / "u"), "app-debug.apk")
    assert info == BuildInfo(platform="android", bundle_id="com.example.relaydemo", version_name="2.0.1",
                             build_number="42", display_name="Relay Demo", icon_png=info.icon_png,
                             min_os="24")
    img = decoded(info.icon_png)
    assert img.size == (144, 144)                       # xxhdpi beats xhdpi and mdpi
    assert img.convert("RGBA").getpixel((3, 3)) == (255, 0, 0, 255)


def test_apk_with_literal_label(tmp_path):
    info = inspect_build(bf.demo_apk(tmp_path / "u", label_ref=False, label="Literal Name"), "a.apk")
    assert info.display_name == "Literal Name"


def test_apk_adaptive_icon_falls_back_to_largest_raster(tmp_path):
    info = inspect_build(bf.demo_apk(tmp_path / "u", adaptive=True), "a.apk")
    assert decoded(info.icon_png).size == (144, 144)


def test_apk_with_only_an_adaptive_icon_has_no_icon(tmp_path):
    table = bf.ResourceTable()
    icon = table.add_files("mipmap", "ic_launcher", {"anydpi": "res/mipmap-anydpi-v26/ic_launcher.xml"})
    manifest = bf.compile_manifest(bf.manifest_xml(icon=f"@{icon:08X}"))
    info = inspect_build(bf.write_apk(tmp_path / "u", manifest, table.build(),
                                      {"res/mipmap-anydpi-v26/ic_launcher.xml": b"\x03\x00\x08\x00"}), "a.apk")
    assert info.icon_png is None and info.display_name == "Relay Demo"


def test_apk_without_resources_keeps_literal_values(tmp_path):
    manifest = bf.compile_manifest(bf.manifest_xml(label="Plain", icon=None))
    info = inspect_build(bf.write_apk(tmp_path / "u", manifest), "a.apk")
    assert (info.bundle_id, info.display_name, info.icon_png) == ("com.example.relaydemo", "Plain", None)


def test_apk_with_unresolvable_label_has_no_display_name(tmp_path):
    manifest = bf.compile_manifest(bf.manifest_xml(label="@7F0A0001"))
    info = inspect_build(bf.write_apk(tmp_path / "u", manifest, bf.ResourceTable().build()), "a.apk")
    assert info.display_name is None


def test_apk_that_is_not_a_zip(tmp_path):
    path = tmp_path / "u"
    path.write_bytes(b"MZ\x90\x00 definitely a windows program" * 20)
    assert refused(path, "a.apk") == "The .apk is not a valid zip archive (it may be damaged or incomplete)"


def test_apk_without_manifest(tmp_path):
    path = bf.write_zip(tmp_path / "u", bf.app_files())  # an iOS zip renamed to .apk
    assert refused(path, "a.apk") == "This .apk is not an Android app package: it has no AndroidManifest.xml"


def test_apk_with_text_manifest(tmp_path):
    path = bf.write_apk(tmp_path / "u", bf.manifest_xml().encode())
    assert "AndroidManifest.xml could not be read" in refused(path, "a.apk")


def test_apk_with_garbage_manifest(tmp_path):
    path = bf.write_apk(tmp_path / "u", b"\x03\x00\x08\x00" + bytes(range(256)) * 4)
    assert "AndroidManifest.xml could not be read" in refused(path, "a.apk")


def test_apk_without_package_name(tmp_path):
    path = bf.write_apk(tmp_path / "u", bf.compile_manifest(bf.manifest_xml(package=None)))
    assert refused(path, "a.apk") == "AndroidManifest.xml has no package name"


def test_apk_with_broken_resources_still_inspects(tmp_path):
    manifest = bf.compile_manifest(bf.manifest_xml(label="@7F010000", icon="@7F020000"))
    info = inspect_build(bf.write_apk(tmp_path / "u", manifest, b"\x02\x00\x0c\x00garbage"), "a.apk")
    assert info.bundle_id == "com.example.relaydemo" and info.display_name is None and info.icon_png is None
