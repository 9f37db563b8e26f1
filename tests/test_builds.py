"""Build upload and the builds list, end to end over HTTP with archives the tests make."""
import hashlib
import io

import pytest
from PIL import Image

import buildfiles as bf
from conftest import bearer, make_token


def stored_files(relay, folder="builds"):
    d = relay.data_dir / "uploads" / folder
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def tmp_files(relay):
    return sorted(p.name for p in (relay.data_dir / "tmp").iterdir())


@pytest.fixture
def ci(relay, admin):
    """CI's client: a builds:write token, as `curl -H "Authorization: Bearer …"` uses it."""
    return bearer(relay, make_token(admin, "builds:write"))


def upload(client, path, name=None, **fields):
    with open(path, "rb") as fh:
        return client.post("/api/v1/builds", files={"file": (name or path.name, fh)}, data=fields)


def test_ios_app_zip_with_binary_plist(relay, admin, ci, tmp_path):
    path = bf.write_zip(tmp_path / "RelayDemo.app.zip", bf.app_files())
    r = upload(ci, path, status="In Progress", label="rc-1")
    assert r.status_code == 201, r.text
    body = r.json()
    assert {k: body[k] for k in ("version_name", "build_number", "bundle_id", "status_label",
                                 "platform")} == {"version_name": "1.2.3", "build_number": "89",
                                                  "bundle_id": "com.example.relaydemo",
                                                  "status_label": "In Progress", "platform": "ios"}
    assert set(body) >= {"id", "app_id", "uploaded_at"}
    build = admin.get(f"/api/v1/builds/{body['id']}").json()
    assert build["name"] == "Relay Demo" and build["version_label"] == "rc-1"
    assert build["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    apps = admin.get("/api/v1/apps").json()["items"]
    assert len(apps) == 1
    app = apps[0]
    assert (app["name"], app["bundle_id_key"], app["platform"], app["latest_build_id"]) == \
        ("Relay Demo", "com.example.relaydemo", "ios", body["id"])
    icon = admin.get(app["icon_url"])
    assert icon.status_code == 200
    assert Image.open(io.BytesIO(icon.content)).size == (180, 180)  # the largest icon
    assert tmp_files(relay) == []


def test_tar_gz_and_xml_plist(relay, ci, tmp_path):
    files = bf.app_files(plist=bf.info_plist(CFBundleShortVersionString="3.0"), binary=False)
    path = bf.write_tar_gz(tmp_path / "RelayDemo.tar.gz", files)
    r = upload(ci, path)
    assert r.status_code == 201, r.text
    assert r.json()["version_name"] == "3.0" and r.json()["status_label"] is None


def test_apk_joins_the_ios_app_of_the_same_bundle_id(relay, admin, ci, tmp_path):
    assert upload(ci, bf.write_zip(tmp_path / "a.app.zip", bf.app_files())).status_code == 201
    r = upload(ci, bf.demo_apk(tmp_path / "app-release.apk"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["platform"], body["bundle_id"], body["version_name"], body["build_number"]) == \
        ("android", "com.example.relaydemo", "2.0.1", "42")
    apps = admin.get("/api/v1/apps").json()["items"]
    assert len(apps) == 1 and apps[0]["platform"] == "both"
    assert apps[0]["latest_build_id"] == body["id"]


def test_app_id_links_explicitly(relay, admin, ci, tmp_path):
    r = admin.post("/api/v1/apps", json={"name": "Manual", "bundle_id_key": "com.example.manual",
                                         "platform": "android"})
    app_id = r.json()["id"]
    r = upload(ci, bf.write_zip(tmp_path / "a.app.zip", bf.app_files()), app_id=str(app_id))
    assert r.status_code == 201 and r.json()["app_id"] == app_id
    apps = {a["id"]: a for a in admin.get("/api/v1/apps").json()["items"]}
    assert len(apps) == 1 and apps[app_id]["platform"] == "both"
    r = upload(ci, bf.write_zip(tmp_path / "b.app.zip", bf.app_files()), app_id="999999")
    assert r.status_code == 404 and r.json() == {"error": "App not found"}


BAD_UPLOADS = [
    ("MyApp.ipa", lambda p: p.write_bytes(b"PK\x03\x04junk"), ".ipa files are not supported"),
    ("app.aab", lambda p: p.write_bytes(b"PK\x03\x04junk"), "Android App Bundles"),
    ("notes.txt", lambda p: p.write_text("hello"), "Unsupported file type"),
    ("broken.app.zip", lambda p: p.write_bytes(b"PK\x03\x04 this is no zip"), None),
    ("empty.app.zip", lambda p: bf.write_zip(p, {"readme.txt": b"hi"}), None),
    ("fake.apk", lambda p: p.write_bytes(b"not an apk"), None),
    ("device.app.zip", lambda p: bf.write_zip(p, bf.app_files(
        plist=bf.info_plist(CFBundleSupportedPlatforms=["iPhoneOS"], DTPlatformName="iphoneos"))),
     "simulator"),
    ("links.tar.gz", lambda p: bf.write_tar_gz(p, bf.app_files(), links={"RelayDemo.app/x": "/etc/passwd"}), None),
    ("dots.tar.gz", lambda p: bf.write_tar_gz(p, {"../evil.app/Info.plist": b"x"}), None),
]


@pytest.mark.parametrize("name, make, message", BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_uploads_are_refused_and_leave_nothing(relay, admin, ci, tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    r = upload(ci, path)
    assert r.status_code == 400, r.text
    if message:
        assert message in r.json()["error"]
    assert admin.get("/api/v1/builds").json()["total"] == 0
    assert admin.get("/api/v1/apps").json()["items"] == []
    assert stored_files(relay) == [] and stored_files(relay, "icons") == [] and tmp_files(relay) == []


def test_zip_bomb_is_refused(relay, admin, ci, tmp_path):
    path = bf.zip_bomb(tmp_path / "bomb.app.zip", "Bomb.app/Info.plist", size=1024 * 1024 * 1024)
    r = upload(ci, path)
    assert r.status_code == 400 and admin.get("/api/v1/builds").json()["total"] == 0
    assert tmp_files(relay) == []
    assert admin.get("/healthz").status_code == 200


def test_no_file_and_wrong_fields(relay, ci, tmp_path):
    r = ci.post("/api/v1/builds", data={"status": "Done"})
    assert r.status_code == 400 and r.json() == {"error": "file required"}
    path = bf.write_zip(tmp_path / "a.app.zip", bf.app_files())
    r = upload(ci, path, status="Shipped")
    assert r.status_code == 400 and "status must be one of" in r.json()["error"]
    r = upload(ci, path, app_id="abc")
    assert r.status_code == 400 and r.json() == {"error": "app_id must be a number"}


def test_oversize_upload_is_413_and_leaves_nothing(relay_factory, tmp_path):
    from conftest import init_admin
    relay = relay_factory(env={"RELAY_MAX_BUILD_BYTES": str(64 * 1024)})
    admin = init_admin(relay)
    path = tmp_path / "big.apk"
    path.write_bytes(bytes(300 * 1024))
    r = upload(admin, path)
    assert r.status_code == 413 and "error" in r.json()
    # Without a Content-Length (chunked), the limit still holds while streaming.
    def chunks():
        with open(path, "rb") as fh:
            while block := fh.read(8192):
                yield block
    boundary = "relaybound"
    def body():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.apk\"\r\n"
               f"Content-Type: application/octet-stream\r\n\r\n").encode()
        yield from chunks()
        yield f"\r\n--{boundary}--\r\n".encode()
    r = admin.post("/api/v1/builds", data=body(),
                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413
    assert admin.get("/api/v1/builds").json()["total"] == 0
    assert stored_files(relay) == [] and tmp_files(relay) == []


def test_oversize_form_fields_are_413_and_leave_nothing(relay, admin, ci, tmp_path):
    """A text field beyond 2 MB, or more than 50 parts, is refused while parsing: no build, no
    spooled file, and the server goes on serving."""
    path = bf.write_zip(tmp_path / "RelayDemo.app.zip", bf.app_files())
    r = upload(ci, path, label="x" * (2 * 1024 * 1024 + 1))
    assert r.status_code == 413 and r.json() == {"error": "Request body too large"}
    with open(path, "rb") as fh:
        r = ci.post("/api/v1/builds", files={"file": (path.name, fh)},
                    data={f"extra{i}": "x" for i in range(50)})
    assert r.status_code == 413 and r.json() == {"error": "Request body too large"}
    assert admin.get("/api/v1/builds").json()["total"] == 0
    assert stored_files(relay) == [] and tmp_files(relay) == []
    r = upload(ci, path, label="rc-2")
    assert r.status_code == 201
    assert admin.get(f"/api/v1/builds/{r.json()['id']}").json()["version_label"] == "rc-2"


def test_viewer_and_qa_cannot_upload(relay, member, tmp_path):
    path = bf.write_zip(tmp_path / "a.app.zip", bf.app_files())
    for role in ("Viewer", "QA"):
        assert upload(member(role), path).status_code == 403


def seed(ci, tmp_path, versions):
    ids = []
    for i, (version, platform) in enumerate(versions):
        if platform == "ios":
            path = bf.write_zip(tmp_path / f"b{i}.app.zip", bf.app_files(
                plist=bf.info_plist(CFBundleShortVersionString=version, CFBundleVersion=str(i))))
        else:
            path = bf.demo_apk(tmp_path / f"b{i}.apk", version_name=version, version_code=str(i))
        r = upload(ci, path)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def test_list_filter_sort_page(relay, admin, ci, tmp_path):
    ids = seed(ci, tmp_path, [("1.0.0", "ios"), ("1.1.0", "android"), ("2.0.0", "ios"),
                              ("2.1.0", "android"), ("3.0.0", "ios")])
    admin.patch(f"/api/v1/builds/{ids[0]}", json={"status_label": "Done"})
    admin.patch(f"/api/v1/builds/{ids[2]}", json={"status_label": "Rejected"})
    listing = admin.get("/api/v1/builds").json()
    assert listing["total"] == 5 and [b["id"] for b in listing["items"]] == ids[::-1]
    page = admin.get("/api/v1/builds?limit=2&page=1").json()
    assert page["total"] == 5 and [b["id"] for b in page["items"]] == [ids[2], ids[1]]
    assert [b["id"] for b in admin.get("/api/v1/builds?platform=android").json()["items"]] == [ids[3], ids[1]]
    assert [b["id"] for b in admin.get("/api/v1/builds?status=Done").json()["items"]] == [ids[0]]
    assert [b["id"] for b in admin.get("/api/v1/builds?q=2.").json()["items"]] == [ids[3], ids[2]]
    asc = admin.get("/api/v1/builds?sort=version_name&dir=asc").json()["items"]
    assert [b["version_name"] for b in asc] == ["1.0.0", "1.1.0", "2.0.0", "2.1.0", "3.0.0"]
    app_id = listing["items"][0]["app_id"]
    assert admin.get(f"/api/v1/builds?app_id={app_id}").json()["total"] == 5
    assert admin.get("/api/v1/builds?app_id=999999").json() == {"items": [], "total": 0}
    assert len(admin.get("/api/v1/builds?limit=1000").json()["items"]) == 5  # capped at 100
    for bad in ("platform=windows", "status=Nope", "sort=size", "dir=up", "page=-1", "limit=0",
                "limit=x", "app_id=x"):
        r = admin.get(f"/api/v1/builds?{bad}")
        assert r.status_code == 400 and "error" in r.json(), bad


def test_patch_status_and_label(relay, admin, member, ci, tmp_path):
    (build_id,) = seed(ci, tmp_path, [("1.0", "ios")])
    qa = member("QA")
    assert qa.patch(f"/api/v1/builds/{build_id}", json={"status_label": "In Progress",
                                                       "version_label": "hotfix"}).json() == {"ok": True}
    b = qa.get(f"/api/v1/builds/{build_id}").json()
    assert (b["status_label"], b["version_label"]) == ("In Progress", "hotfix")
    qa.patch(f"/api/v1/builds/{build_id}", json={"status_label": None})
    b = qa.get(f"/api/v1/builds/{build_id}").json()
    assert (b["status_label"], b["version_label"]) == (None, "hotfix")
    r = qa.patch(f"/api/v1/builds/{build_id}", json={"status_label": "Shipped"})
    assert r.status_code == 400
    r = qa.patch(f"/api/v1/builds/{build_id}", json={"version_label": "x" * 51})
    assert r.status_code == 400
    assert qa.get(f"/api/v1/builds/{build_id}").json()["version_label"] == "hotfix"
    r = qa.patch("/api/v1/builds/999999", json={"status_label": "Done"})
    assert r.status_code == 404 and r.json() == {"error": "Build not found"}


def test_download_with_range_and_name(relay, admin, ci, tmp_path):
    path = bf.demo_apk(tmp_path / "app-release.apk")
    build_id = upload(ci, path).json()["id"]
    data = path.read_bytes()
    r = admin.get(f"/api/v1/builds/{build_id}/download")
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Type"] == "application/vnd.android.package-archive"
    assert 'filename=app-release.apk' in r.headers["Content-Disposition"]
    r = admin.get(f"/api/v1/builds/{build_id}/download", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    view = bearer(relay, make_token(admin, "view"))
    assert view.get(f"/api/v1/builds/{build_id}/download").content == data
    assert relay.client().get(f"/api/v1/builds/{build_id}/download").status_code == 401


def test_hostile_file_name_never_reaches_the_disk(relay, admin, ci, tmp_path):
    path = bf.write_zip(tmp_path / "a.app.zip", bf.app_files())
    r = upload(ci, path, name="../../etc/evil\r\nX: y.app.zip")
    assert r.status_code == 201
    d = admin.get(f"/api/v1/builds/{r.json()['id']}/download")
    assert d.status_code == 200 and "/" not in d.headers["Content-Disposition"].split("filename=")[1]
    assert not (relay.data_dir.parent / "etc").exists()


def test_delete_build_removes_its_file(relay, admin, member, ci, tmp_path):
    (build_id,) = seed(ci, tmp_path, [("1.0", "ios")])
    assert len(stored_files(relay)) == 1
    assert member("QA").delete(f"/api/v1/builds/{build_id}").status_code == 403
    r = admin.delete(f"/api/v1/builds/{build_id}")
    assert r.status_code == 204
    assert stored_files(relay) == []
    assert admin.get(f"/api/v1/builds/{build_id}").status_code == 404
    assert admin.delete(f"/api/v1/builds/{build_id}").status_code == 404


def test_large_build_with_random_content(relay, admin, ci, tmp_path):
    """Binary content full of CR/LF and dashes streams through the multipart parser intact."""
    import os
    import zipfile
    path = bf.demo_apk(tmp_path / "big.apk")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_STORED) as zf:
        zf.writestr("assets/blob.bin", os.urandom(8 * 1024 * 1024) + b"\r\n--" * 50000)
    r = upload(ci, path)
    assert r.status_code == 201, r.text
    d = admin.get(f"/api/v1/builds/{r.json()['id']}/download")
    assert hashlib.sha256(d.content).hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_filter_untriaged_and_search_by_app_name(relay, admin, ci, tmp_path):
    ids = seed(ci, tmp_path, [("1.0.0", "ios"), ("1.1.0", "android")])
    admin.patch(f"/api/v1/builds/{ids[0]}", json={"status_label": "Done"})
    assert [b["id"] for b in admin.get("/api/v1/builds?status=none").json()["items"]] == [ids[1]]
    assert admin.get("/api/v1/builds?status=none").json()["total"] == 1
    admin.patch(f"/api/v1/apps/{admin.get('/api/v1/apps').json()['items'][0]['id']}", json={"name": "Zebra Shop"})
    found = admin.get("/api/v1/builds?q=zebra").json()
    assert found["total"] == 2 and {b["name"] for b in found["items"]} == {"Zebra Shop"}
    assert admin.get("/api/v1/builds?q=100%25_off").json() == {"items": [], "total": 0}
