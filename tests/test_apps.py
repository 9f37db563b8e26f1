"""Apps end to end over HTTP: the list with its latest build (one SQL query), create, rename,
delete (builds, comments, attachments, recordings and icons go too, rows and files)."""
import re
import threading
from datetime import timedelta

import pytest
from peewee import SqliteDatabase

import buildfiles as bf
from conftest import bearer, image_bytes, init_admin, make_token
from relay.models import App, Build, Comment, CommentAttachment, Recording
from relay.timeutil import utcnow

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LIST_KEYS = {"id", "name", "bundle_id_key", "platform", "created_at", "latest_build_id",
             "version_name", "build_number", "status_label", "latest_uploaded_at",
             "uuid", "icon_url"}
WEBM = b"\x1a\x45\xdf\xa3" + b"\x9f\x42\x86\x81\x01" + bytes(200)


def files_in(relay, *parts):
    d = relay.data_dir.joinpath(*parts)
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def upload_build(client, tmp_path, bundle="com.example.relaydemo", version="1.2.3", build="89",
                 name="Relay Demo", android=False, **fields):
    if android:
        path = bf.demo_apk(tmp_path / f"{bundle}-{version}.apk", package=bundle,
                           version_name=version, version_code=build)
    else:
        plist = bf.info_plist(CFBundleIdentifier=bundle, CFBundleShortVersionString=version,
                              CFBundleVersion=build, CFBundleDisplayName=name)
        path = bf.write_zip(tmp_path / f"{bundle}-{version}.app.zip", bf.app_files(plist=plist))
    with open(path, "rb") as fh:
        r = client.post("/api/v1/builds", files={"file": (path.name, fh)}, data=fields)
    assert r.status_code == 201, r.text
    return r.json()


def create(client, name="Manual", bundle="com.example.manual", platform="ios"):
    return client.post("/api/v1/apps", json={"name": name, "bundle_id_key": bundle,
                                             "platform": platform})


# ---- list ------------------------------------------------------------------------------------

def test_list_shape_and_latest_build(relay, admin, tmp_path):
    assert admin.get("/api/v1/apps").json() == {"items": []}
    first = upload_build(admin, tmp_path, version="1.0.0", build="1", status="Done")
    second = upload_build(admin, tmp_path, version="1.1.0", build="2", status="In Progress")
    r = create(admin, name="Empty App", bundle="com.example.empty", platform="android")
    assert r.status_code == 201
    items = admin.get("/api/v1/apps").json()["items"]
    assert [a["name"] for a in items] == ["Empty App", "Relay Demo"]
    for item in items:
        assert set(item) == LIST_KEYS
        assert ISO_MS.match(item["created_at"])
        assert re.fullmatch(r"[0-9a-f-]{36}", item["uuid"])
    empty, demo = items
    assert {k: empty[k] for k in ("bundle_id_key", "platform", "latest_build_id", "version_name",
                                  "build_number", "status_label", "latest_uploaded_at",
                                  "icon_url")} == {
        "bundle_id_key": "com.example.empty", "platform": "android", "latest_build_id": None,
        "version_name": None, "build_number": None, "status_label": None,
        "latest_uploaded_at": None, "icon_url": None}
    assert (demo["id"], demo["bundle_id_key"], demo["platform"]) == \
        (second["app_id"], "com.example.relaydemo", "ios")
    assert (demo["latest_build_id"], demo["version_name"], demo["build_number"],
            demo["status_label"]) == (second["id"], "1.1.0", "2", "In Progress")
    assert demo["latest_uploaded_at"] == second["uploaded_at"]
    assert ISO_MS.match(demo["latest_uploaded_at"])
    assert admin.get(demo["icon_url"]).headers["Content-Type"] == "image/png"
    # "Latest" is by upload time: backdate the second build and the first is latest again.
    Build.update(uploaded_at=utcnow() - timedelta(days=1)).where(Build.id == second["id"]).execute()
    demo = admin.get("/api/v1/apps").json()["items"][1]
    assert (demo["latest_build_id"], demo["version_name"], demo["status_label"]) == \
        (first["id"], "1.0.0", "Done")


@pytest.fixture
def traced_relay(relay_factory, monkeypatch):
    """A relay whose every SQLite connection (one per waitress thread) reports each statement."""
    statements = []
    original = SqliteDatabase._add_conn_hooks

    def hooks(self, conn):
        original(self, conn)
        conn.set_trace_callback(statements.append)

    monkeypatch.setattr(SqliteDatabase, "_add_conn_hooks", hooks)
    relay = relay_factory()
    relay.statements = statements
    return relay


def test_list_is_one_query_whatever_the_number_of_apps(traced_relay, tmp_path):
    relay = traced_relay
    admin = init_admin(relay)

    def app_queries():
        del relay.statements[:]
        r = admin.get("/api/v1/apps")
        assert r.status_code == 200
        touching = [s for s in relay.statements if re.search(r"\b(apps|builds)\b", s)]
        return len(r.json()["items"]), touching

    upload_build(admin, tmp_path, bundle="com.example.one")
    count, queries = app_queries()
    assert count == 1 and len(queries) == 1, queries
    for i in range(6):
        upload_build(admin, tmp_path, bundle=f"com.example.app{i}", version=f"1.{i}")
        upload_build(admin, tmp_path, bundle=f"com.example.app{i}", version=f"2.{i}")
        create(admin, name=f"Manual {i}", bundle=f"com.example.manual{i}")
    count, queries = app_queries()
    assert count == 13 and len(queries) == 1, queries


# ---- create / rename ----------------------------------------------------------------------------

def test_create_and_rename(relay, admin, member):
    r = create(admin, name="  Manual  ", platform="both")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ok"] is True and isinstance(body["id"], int)
    app = App.get_by_id(body["id"])
    assert (app.name, app.bundle_id_key, app.platform) == ("Manual", "com.example.manual", "both")

    dev = member("Developer")
    r = dev.patch(f"/api/v1/apps/{body['id']}", json={"name": "Renamed"})
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert admin.get("/api/v1/apps").json()["items"][0]["name"] == "Renamed"
    assert create(dev, name="Dev app", bundle="com.example.dev").status_code == 201


def test_duplicate_bundle_id_is_409(relay, admin):
    assert create(admin).status_code == 201
    for bundle in ("com.example.manual", "COM.Example.Manual", " com.example.manual "):
        r = create(admin, name="Again", bundle=bundle, platform="android")
        assert r.status_code == 409, r.text
        assert r.json() == {"error": "An app with this bundle id already exists"}
    assert App.select().count() == 1


@pytest.mark.parametrize("body, message", [
    ({"bundle_id_key": "com.x.y", "platform": "ios"}, "name required"),
    ({"name": "   ", "bundle_id_key": "com.x.y", "platform": "ios"}, "name required"),
    ({"name": 7, "bundle_id_key": "com.x.y", "platform": "ios"}, "name required"),
    ({"name": "x" * 101, "bundle_id_key": "com.x.y", "platform": "ios"},
     "name must be at most 100 characters"),
    ({"name": "X", "platform": "ios"}, "bundle_id_key required"),
    ({"name": "X", "bundle_id_key": ["com.x.y"], "platform": "ios"}, "bundle_id_key required"),
    ({"name": "X", "bundle_id_key": "com x/y", "platform": "ios"},
     "bundle_id_key must be 3-120 letters, digits, '.', '_' or '-'"),
    ({"name": "X", "bundle_id_key": "ab", "platform": "ios"},
     "bundle_id_key must be 3-120 letters, digits, '.', '_' or '-'"),
    ({"name": "X", "bundle_id_key": "com.x.y"}, "platform must be ios, android or both"),
    ({"name": "X", "bundle_id_key": "com.x.y", "platform": "windows"},
     "platform must be ios, android or both"),
    ({"name": "X", "bundle_id_key": "com.x.y", "platform": ["ios"]},
     "platform must be ios, android or both"),
])
def test_create_validation(relay, admin, body, message):
    r = admin.post("/api/v1/apps", json=body)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": message}
    assert App.select().count() == 0


def test_create_with_malformed_bodies(relay, admin):
    for data, headers, message in [
        ("{not json", {"Content-Type": "application/json"}, "Malformed JSON body"),
        ("[1, 2]", {"Content-Type": "application/json"}, "JSON body must be an object"),
        ("", {"Content-Type": "application/json"}, "name required"),
    ]:
        r = admin.post("/api/v1/apps", data=data, headers=headers)
        assert r.status_code == 400 and r.json() == {"error": message}, r.text
    assert App.select().count() == 0
    assert admin.get("/api/v1/apps").status_code == 200


def test_rename_errors(relay, admin):
    app_id = create(admin).json()["id"]
    for body, message in [({}, "name required"), ({"name": ""}, "name required"),
                          ({"name": "y" * 101}, "name must be at most 100 characters")]:
        r = admin.patch(f"/api/v1/apps/{app_id}", json=body)
        assert r.status_code == 400 and r.json() == {"error": message}
    for ref in ("999", "abc", "1.5", "-1", "99999999999999999999999"):
        r = admin.patch(f"/api/v1/apps/{ref}", json={"name": "Nope"})
        assert r.status_code == 404 and r.json() == {"error": "App not found"}, ref
        r = admin.delete(f"/api/v1/apps/{ref}")
        assert r.status_code == 404 and r.json() == {"error": "App not found"}, ref
    assert App.get_by_id(app_id).name == "Manual"


def test_unicode_digit_id_is_404(relay, admin):
    for method in ("patch", "delete"):
        r = getattr(admin, method)("/api/v1/apps/\u00b2", json={"name": "x"})
        assert r.status_code == 404 and r.json() == {"error": "App not found"}


def test_only_developers_and_admins_manage_apps(relay, admin, member):
    app_id = create(admin).json()["id"]
    anon = relay.client()
    assert anon.get("/api/v1/apps").status_code == 401
    for role in ("QA", "Viewer"):
        c = member(role)
        assert c.get("/api/v1/apps").status_code == 200
        for r in (create(c, bundle="com.example.qa"),
                  c.patch(f"/api/v1/apps/{app_id}", json={"name": "QA name"}),
                  c.delete(f"/api/v1/apps/{app_id}")):
            assert r.status_code == 403 and r.json() == {"error": "Forbidden"}
    for r in (create(anon, bundle="com.example.anon"), anon.delete(f"/api/v1/apps/{app_id}")):
        assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
    viewer_token = bearer(relay, make_token(admin, "view"))
    assert viewer_token.get("/api/v1/apps").status_code == 200
    r = create(viewer_token, bundle="com.example.tok")
    assert r.status_code == 403 and r.json() == {"error": "Insufficient scope"}
    ci = bearer(relay, make_token(admin, "builds:write"))
    assert create(ci, bundle="com.example.ci").status_code == 201
    assert App.get_by_id(app_id).name == "Manual"
    assert sorted(a.bundle_id_key for a in App.select()) == ["com.example.ci", "com.example.manual"]


# ---- delete ----------------------------------------------------------------------------------

def test_delete_removes_builds_comments_attachments_recordings_and_files(relay, admin, tmp_path):
    ios = upload_build(admin, tmp_path)
    apk = upload_build(admin, tmp_path, android=True, version="2.0.1", build="42")
    other = upload_build(admin, tmp_path, bundle="com.example.other", name="Other")
    app_id = ios["app_id"]
    assert apk["app_id"] == app_id and other["app_id"] != app_id

    def comment(build_id):
        r = admin.post("/api/v1/comments", data={"build_id": str(build_id), "body": "look"},
                       files={"attachment": ("s.png", image_bytes(), "image/png")})
        assert r.status_code == 201, r.text
        return r.json()

    def record(build_id=None):
        params = {"buildId": str(build_id)} if build_id else {}
        r = admin.post("/api/v1/recordings/upload", params=params,
                       files={"video": ("r.webm", WEBM, "video/webm")})
        assert r.status_code == 200, r.text
        return r.json()["url"]

    gone_comments = [comment(ios["id"]), comment(apk["id"])]
    kept_comment = comment(other["id"])
    gone_recordings = [record(ios["id"]), record(apk["id"])]
    kept_recordings = [record(other["id"]), record()]
    attachment_url = gone_comments[0]["attachments"][0]["file_path"]
    assert admin.get(attachment_url).status_code == 200

    kept_builds = [b.file_key.split("/")[1] for b in Build.select().where(Build.id == other["id"])]
    kept_icon = App.get_by_id(other["app_id"]).icon.split("/")[1]
    kept_attachment = CommentAttachment.get(CommentAttachment.comment == kept_comment["id"]) \
        .file_key.split("/")[1]
    assert len(files_in(relay, "uploads", "builds")) == 3
    assert len(files_in(relay, "uploads", "icons")) == 2
    assert len(files_in(relay, "uploads", "comments")) == 3
    assert len(files_in(relay, "recordings", "videos")) == 4

    r = admin.delete(f"/api/v1/apps/{app_id}")
    assert r.status_code == 200 and r.json() == {"ok": True}

    assert App.get_or_none(App.id == app_id) is None
    assert [b.id for b in Build.select()] == [other["id"]]
    assert [c.id for c in Comment.select()] == [kept_comment["id"]]
    assert CommentAttachment.select().count() == 1
    assert sorted(rec.file_key.split("/")[1] for rec in Recording.select()) == \
        sorted(u.rsplit("/", 1)[1] for u in kept_recordings)
    assert files_in(relay, "uploads", "builds") == kept_builds
    assert files_in(relay, "uploads", "icons") == [kept_icon]
    assert files_in(relay, "uploads", "comments") == [kept_attachment]
    assert files_in(relay, "recordings", "videos") == \
        sorted(u.rsplit("/", 1)[1] for u in kept_recordings)
    assert files_in(relay, "tmp") == []

    # What a user sees: the app and everything in it is gone, the rest is intact.
    assert [a["id"] for a in admin.get("/api/v1/apps").json()["items"]] == [other["app_id"]]
    for build in (ios, apk):
        assert admin.get(f"/api/v1/builds/{build['id']}").status_code == 404
        assert admin.get(f"/api/v1/comments?build_id={build['id']}").status_code == 404
    assert admin.get(attachment_url).status_code == 404
    for url in gone_recordings:
        assert admin.get(url).status_code == 404
    for url in kept_recordings:
        assert admin.get(url).content == WEBM
    assert admin.get(f"/api/v1/builds/{other['id']}/download").status_code == 200
    assert admin.delete(f"/api/v1/apps/{app_id}").status_code == 404


def test_developer_can_delete_an_app_without_builds(relay, admin, member):
    app_id = create(admin).json()["id"]
    dev = member("Developer")
    assert dev.delete(f"/api/v1/apps/{app_id}").status_code == 200
    assert App.select().count() == 0
    assert dev.get("/api/v1/apps").json() == {"items": []}
