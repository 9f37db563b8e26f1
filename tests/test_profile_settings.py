"""Profile (display name, avatar) and team settings (name, logo): images checked and cleaned."""
import io

from PIL import Image

from conftest import image_bytes


def uploads(relay, folder):
    d = relay.data_dir / "uploads" / folder
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_avatar_upload_is_reencoded_and_served_with_auth(relay, admin):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    jpeg = image_bytes("JPEG", size=(2000, 1000), exif=exif.tobytes())
    assert b"SecretCam" in jpeg
    r = admin.patch("/api/v1/profile", data={"display_name": "  Ada  "},
                    files={"avatar": ("me.jpg", jpeg, "image/jpeg")})
    assert r.status_code == 200 and r.json() == {"ok": True}
    me = admin.get("/api/v1/auth/me").json()
    assert me["displayName"] == "Ada"
    assert me["avatarUrl"].startswith("/api/v1/uploads/avatars/") and me["avatarUrl"].endswith(".jpg")
    served = admin.get(me["avatarUrl"])
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert b"SecretCam" not in served.content  # metadata stripped
    img = Image.open(io.BytesIO(served.content))
    assert max(img.size) <= 512
    assert relay.client().get(me["avatarUrl"]).status_code == 401


def test_new_avatar_replaces_the_old_file(relay, admin):
    admin.patch("/api/v1/profile", files={"avatar": ("a.png", image_bytes(), "image/png")})
    first = uploads(relay, "avatars")
    admin.patch("/api/v1/profile", files={"avatar": ("b.png", image_bytes(color=(0, 0, 255)), "image/png")})
    second = uploads(relay, "avatars")
    assert len(first) == 1 and len(second) == 1 and first != second


def test_profile_bad_inputs_change_nothing(relay, admin):
    before = admin.get("/api/v1/auth/me").json()
    cases = [
        ({"avatar": ("x.png", b"not an image at all", "image/png")}, 400, "image must be PNG/JPEG"),
        ({"avatar": ("x.gif", image_bytes("GIF"), "image/gif")}, 400, "image must be PNG/JPEG"),
        ({"avatar": ("x.png", image_bytes() + b"\0" * (2 * 1024 * 1024), "image/png")}, 413, None),
    ]
    for files, status, message in cases:
        r = admin.patch("/api/v1/profile", data={"display_name": "Changed"}, files=files)
        assert r.status_code == status, r.text
        if message:
            assert r.json() == {"error": message}
    r = admin.patch("/api/v1/profile", data={"display_name": "x" * 101})
    assert r.status_code == 400
    assert admin.get("/api/v1/auth/me").json() == before
    assert uploads(relay, "avatars") == []
    assert list((relay.data_dir / "tmp").iterdir()) == []


def test_decompression_bomb_is_refused(relay, admin):
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, format="PNG")  # 400 Mpx, a few KB compressed
    assert len(buf.getvalue()) < 2 * 1024 * 1024
    r = admin.patch("/api/v1/profile", files={"avatar": ("bomb.png", buf.getvalue(), "image/png")})
    assert r.status_code == 400 and "image" in r.json()["error"]
    assert uploads(relay, "avatars") == []


def test_settings_read_by_all_written_by_admin(relay, admin, member):
    qa = member("QA")
    assert qa.get("/api/v1/settings").json() == {"team_name": "My Team", "logo_url": None,
                                                 "public_url": relay.services.base_url}
    r = admin.patch("/api/v1/settings", data={"team_name": "Mobile Crew"},
                    files={"logo": ("logo.png", image_bytes(size=(1200, 300)), "image/png")})
    assert r.status_code == 200
    settings = qa.get("/api/v1/settings").json()
    assert settings["team_name"] == "Mobile Crew"
    logo = qa.get(settings["logo_url"])
    assert logo.status_code == 200 and logo.headers["Content-Type"] == "image/png"
    assert qa.patch("/api/v1/settings", json={"team_name": "QA rules"}).status_code == 403
    assert admin.patch("/api/v1/settings", json={"team_name": "   "}).status_code == 400
    assert admin.patch("/api/v1/settings", json={"team_name": "Two\nLines"}).status_code == 400
    r = admin.patch("/api/v1/settings", data={"team_name": "Half"},
                    files={"logo": ("x.png", b"garbage", "image/png")})
    assert r.status_code == 400
    assert qa.get("/api/v1/settings").json() == settings  # nothing half-written


def test_upload_paths_cannot_escape(relay, admin):
    for path in ("/api/v1/uploads/avatars/..%2F..%2Frelay.db", "/api/v1/uploads/avatars/secret_key",
                 "/api/v1/uploads/../relay.db", "/api/v1/uploads/tmp/" + "0" * 32 + ".png"):
        r = admin.get(path)
        assert r.status_code == 404, path
        assert b"SQLite" not in r.content
