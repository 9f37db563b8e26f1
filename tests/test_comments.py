"""Comments on builds end to end over HTTP: list, post with a screenshot, delete, who may."""
import io
import re

import pytest
from PIL import Image

import buildfiles as bf
from conftest import ADMIN_EMAIL, bearer, image_bytes, make_token
from relay.models import Comment, CommentAttachment

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MB = 1024 * 1024


def attachment_files(relay):
    d = relay.data_dir / "uploads" / "comments"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def tmp_files(relay):
    return sorted(p.name for p in (relay.data_dir / "tmp").iterdir())


def post(client, build_id, body="Login button is not tappable", attachment=None):
    files = {"attachment": attachment} if attachment else None
    return client.post("/api/v1/comments", data={"build_id": str(build_id), "body": body},
                       files=files)


def test_post_list_and_fetch_attachment(relay, admin, member, build_id):
    qa = member("QA")
    shot = image_bytes("PNG", size=(320, 200))
    r = post(qa, build_id, attachment=("screen shot.png", shot, "image/png"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert {k: created[k] for k in ("body", "author")} == \
        {"body": "Login button is not tappable", "author": "qa@example.com"}
    assert isinstance(created["id"], int) and ISO_MS.match(created["created_at"])

    r = post(admin, build_id, body="  Second, without a file  ")
    assert r.status_code == 201
    assert r.json()["body"] == "Second, without a file"
    # JPEG and WebP are accepted too; the stored mime is what the content is.
    jpeg = post(qa, build_id, "jpeg", ("a.png", image_bytes("JPEG"), "image/png")).json()
    webp = post(qa, build_id, "webp", ("b.webp", bf.webp(), "image/webp")).json()

    r = admin.get(f"/api/v1/comments?build_id={build_id}")
    assert r.status_code == 200
    listed = r.json()
    assert [c["body"] for c in listed] == ["Login button is not tappable",
                                           "Second, without a file", "jpeg", "webp"]
    for c in listed:
        assert set(c) == {"id", "body", "created_at", "author", "authorAvatarUrl", "attachments",
                          "authorId", "authorDisplayName"}
        assert ISO_MS.match(c["created_at"])
    first, second = listed[0], listed[1]
    assert (first["id"], first["author"], first["created_at"]) == \
        (created["id"], "qa@example.com", created["created_at"])
    assert second["author"] == ADMIN_EMAIL and second["attachments"] == []
    assert first["authorAvatarUrl"] is None
    assert (first["authorId"], first["authorDisplayName"]) == (qa.get("/api/v1/auth/me").json()["id"], "qa")
    [att] = first["attachments"]
    assert set(att) == {"id", "file_path", "mime"} and att["mime"] == "image/png"
    assert re.fullmatch(r"/uploads/comments/[0-9a-f]{32}\.png", att["file_path"])
    assert [c["attachments"][0]["mime"] for c in listed[2:]] == ["image/jpeg", "image/webp"]
    assert listed[2]["attachments"][0]["file_path"].endswith(".jpg")

    # The attachment is served at its file_path to signed-in members only.
    viewer = member("Viewer")
    r = viewer.get(att["file_path"])
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (320, 200)
    r = relay.client().get(att["file_path"])
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
    assert viewer.get(f"/api/v1/comments?build_id={build_id}").json() == listed
    assert len(attachment_files(relay)) == 3 and tmp_files(relay) == []


def test_author_avatar_url(relay, admin, build_id):
    r = admin.patch("/api/v1/profile", files={"avatar": ("me.png", image_bytes(), "image/png")})
    assert r.status_code == 200
    assert post(admin, build_id).status_code == 201
    [c] = admin.get(f"/api/v1/comments?build_id={build_id}").json()
    assert re.fullmatch(r"/api/v1/uploads/avatars/[0-9a-f]{32}\.png", c["authorAvatarUrl"])
    assert admin.get(c["authorAvatarUrl"]).status_code == 200


def test_json_body_is_accepted(relay, admin, build_id):
    r = admin.post("/api/v1/comments", json={"build_id": build_id, "body": "from json"})
    assert r.status_code == 201 and r.json()["body"] == "from json"
    for data, message in [("[1]", "JSON body must be an object"), ("{oops", "Malformed JSON body")]:
        r = admin.post("/api/v1/comments", data=data, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json() == {"error": message}, r.text
    assert Comment.select().count() == 1


def test_list_errors(relay, admin, build_id):
    for query, status, message in [
        ("", 400, "build_id required"),
        ("?build_id=", 400, "build_id required"),
        ("?build_id=abc", 400, "build_id must be a number"),
        ("?build_id=-1", 400, "build_id must be a number"),
        ("?build_id=%C2%B2", 400, "build_id must be a number"),  # "²" is a digit to str.isdigit
        ("?build_id=99999999999999999999999", 400, "build_id must be a number"),
        ("?build_id=9999", 404, "Build not found"),
    ]:
        r = admin.get("/api/v1/comments" + query)
        assert r.status_code == status and r.json() == {"error": message}, (query, r.text)
    assert admin.get(f"/api/v1/comments?build_id={build_id}").json() == []
    assert relay.client().get(f"/api/v1/comments?build_id={build_id}").status_code == 401


@pytest.mark.parametrize("fields, attachment, status, message", [
    ({"body": "x"}, None, 400, "build_id required"),
    ({"build_id": "abc", "body": "x"}, None, 400, "build_id must be a number"),
    ({"build_id": "\u00b2", "body": "x"}, None, 400, "build_id must be a number"),
    ({"build_id": "{build}"}, None, 400, "body required"),
    ({"build_id": "{build}", "body": "   "}, None, 400, "body required"),
    ({"build_id": "{build}", "body": "x" * 10_001}, None, 400,
     "body must be at most 10000 characters"),
    ({"build_id": "9999", "body": "x"}, ("s.png", image_bytes(), "image/png"), 404,
     "Build not found"),
    ({"build_id": "99999999999999999999999", "body": "x"}, ("s.png", image_bytes(), "image/png"),
     400, "build_id must be a number"),
    ({"build_id": "{build}", "body": "x"}, ("s.png", b"not an image at all", "image/png"), 400,
     "image must be PNG/JPEG/WebP"),
    ({"build_id": "{build}", "body": "x"}, ("s.gif", image_bytes("GIF"), "image/gif"), 400,
     "image must be PNG/JPEG/WebP"),
    ({"build_id": "{build}", "body": "x"}, ("s.png", image_bytes()[:60], "image/png"), 400,
     "image must be PNG/JPEG/WebP"),
    # Just over 5 MB: refused while reading the file.
    ({"build_id": "{build}", "body": "x"}, ("s.png", image_bytes() + bytes(5 * MB), "image/png"),
     413, "attachment must be at most 5 MB"),
    # Far over: refused before the body is parsed.
    ({"build_id": "{build}", "body": "x"}, ("s.png", image_bytes() + bytes(7 * MB), "image/png"),
     413, "Request body too large"),
])
def test_bad_posts_leave_nothing(relay, admin, build_id, fields, attachment, status, message):
    fields = {k: v.replace("{build}", str(build_id)) for k, v in fields.items()}
    files = {"attachment": attachment} if attachment else None
    r = admin.post("/api/v1/comments", data=fields, files=files)
    assert r.status_code == status, r.text
    assert r.json() == {"error": message}
    assert Comment.select().count() == 0 and CommentAttachment.select().count() == 0
    assert attachment_files(relay) == [] and tmp_files(relay) == []
    assert admin.get(f"/api/v1/comments?build_id={build_id}").json() == []  # still serving


def test_who_may_comment(relay, admin, member, build_id):
    viewer = member("Viewer")
    r = post(viewer, build_id)
    assert r.status_code == 403 and r.json() == {"error": "Forbidden"}
    r = post(relay.client(), build_id)
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
    # Comments are for people: no token scope allows them.
    ci = bearer(relay, make_token(admin, "builds:write,view"))
    r = post(ci, build_id)
    assert r.status_code == 403 and r.json() == {"error": "Insufficient scope"}
    assert Comment.select().count() == 0
    for role in ("QA", "Developer"):
        assert post(member(role), build_id, body=role).status_code == 201
    assert [c["author"] for c in admin.get(f"/api/v1/comments?build_id={build_id}").json()] == \
        ["qa@example.com", "developer@example.com"]


def test_delete_by_author_admin_and_others(relay, admin, member, build_id):
    qa, dev = member("QA"), member("Developer")
    shot = ("s.png", image_bytes(), "image/png")
    mine = post(qa, build_id, "qa's", shot).json()
    other = post(qa, build_id, "qa's second", shot).json()
    assert len(attachment_files(relay)) == 2
    path = admin.get(f"/api/v1/comments?build_id={build_id}").json()[0]["attachments"][0]["file_path"]

    # Another non-admin (even a Developer) may not delete it; a Viewer may not delete at all.
    for client, message in [(dev, "Only the author or an Admin can delete this comment"),
                            (member("Viewer"), "Forbidden")]:
        r = client.delete(f"/api/v1/comments/{mine['id']}")
        assert r.status_code == 403 and r.json() == {"error": message}
    assert relay.client().delete(f"/api/v1/comments/{mine['id']}").status_code == 401
    assert Comment.select().count() == 2 and len(attachment_files(relay)) == 2

    r = qa.delete(f"/api/v1/comments/{mine['id']}")
    assert r.status_code == 204 and r.content == b""
    assert qa.get(path).status_code == 404
    assert len(attachment_files(relay)) == 1

    r = admin.delete(f"/api/v1/comments/{other['id']}")
    assert r.status_code == 204 and r.content == b""
    assert attachment_files(relay) == [] and CommentAttachment.select().count() == 0
    assert admin.get(f"/api/v1/comments?build_id={build_id}").json() == []

    for ref in (mine["id"], "abc", "99999999999999999999999"):
        r = admin.delete(f"/api/v1/comments/{ref}")
        assert r.status_code == 404 and r.json() == {"error": "Comment not found"}


def test_comments_of_a_deleted_author_keep_their_email(relay, admin, member, build_id):
    qa = member("QA")
    assert post(qa, build_id, "left the team").status_code == 201
    from relay.models import User
    qa_id = User.get(User.email == "qa@example.com").id
    assert admin.delete(f"/api/v1/team/members/{qa_id}").status_code == 204
    [c] = admin.get(f"/api/v1/comments?build_id={build_id}").json()
    assert (c["author"], c["authorAvatarUrl"]) == ("qa@example.com", None)
    assert admin.delete(f"/api/v1/comments/{c['id']}").status_code == 204
