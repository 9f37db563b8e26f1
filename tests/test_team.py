"""Team management, invitations and password resets over HTTP against a live relay (no SMTP
configured here: the relay hands back links to share; mail itself is tested in test_mail.py)."""
import threading
from datetime import timedelta

import pytest

from conftest import ADMIN_EMAIL, PASSWORD, bearer, image_bytes, make_token
from relay.core.hashing import digest
from relay.models import Invitation, PasswordReset, User
from relay.timeutil import utcnow

GONE = {"error": "Invitation expired or not found"}
NEW_PASSWORD = "a whole new password"


def invite(admin, email="new@example.com", role=None) -> dict:
    body = {"email": email} if role is None else {"email": email, "role": role}
    r = admin.post("/api/v1/team/invite", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def accept(relay, token, password=PASSWORD, files=None, **fields):
    c = relay.client()
    r = c.post("/api/v1/invitations/accept",
               data={"token": token, "password": password, **fields}, files=files)
    return c, r


def verify(relay, token):
    return relay.client().get("/api/v1/invitations/verify", params={"token": token})


def members(admin) -> dict:
    r = admin.get("/api/v1/team/members")
    assert r.status_code == 200, r.text
    return {m["email"]: m for m in r.json()}


def member_id(admin, email) -> int:
    return members(admin)[email]["id"]


def login(relay, email, password=PASSWORD):
    c = relay.client()
    r = c.post("/api/v1/auth/login", json={"email": email, "password": password})
    return c, r


def stored_files(relay, folder="uploads") -> list:
    root = relay.data_dir / folder
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def send_reset(admin, user_id) -> str:
    r = admin.post(f"/api/v1/team/members/{user_id}/send-reset")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["emailSent"] is False
    return body["url"].split("token=", 1)[1]


# Invitations

def test_invite_defaults_to_qa_and_gives_a_link_to_share(relay, admin):
    result = invite(admin, "Tester@Example.com")
    assert set(result) == {"token", "emailSent", "url"}
    assert result["emailSent"] is False and len(result["token"]) == 32
    assert result["url"] == f"http://localhost:{relay.port}/invite?token={result['token']}"
    r = verify(relay, result["token"])
    assert r.status_code == 200 and r.json()["role"] == "QA"
    assert r.json()["email"] == "tester@example.com"
    c, r = accept(relay, result["token"])
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert "tapflow_token=" in r.headers["Set-Cookie"]
    assert c.get("/api/v1/auth/me").json()["role"] == "QA"


@pytest.mark.parametrize("body, message", [
    ({"email": "x@example.com", "role": "Owner"}, "role must be one of"),
    ({"email": "x@example.com", "role": "admin"}, "role must be one of"),
    ({"email": "x@example.com", "role": ""}, "role must be one of"),
    ({"email": "not-an-email", "role": "QA"}, "email is not a valid address"),
    ({"email": "two@@example.com"}, "email is not a valid address"),
    # SMTP clients would split or cut these ("first,last@x" is sent to "first").
    ({"email": "first,last@example.com"}, "email is not a valid address"),
    ({"email": "a;b@example.com"}, "email is not a valid address"),
    ({"email": '"quoted"@example.com'}, "email is not a valid address"),
    ({"role": "QA"}, "email required"),
    ({"email": 42}, "email required"),
])
def test_invite_refuses_bad_input(relay, admin, body, message):
    r = admin.post("/api/v1/team/invite", json=body)
    assert r.status_code == 400 and message in r.json()["error"], r.text
    assert Invitation.select().count() == 0


def test_invite_refuses_an_existing_member(relay, admin):
    r = admin.post("/api/v1/team/invite", json={"email": ADMIN_EMAIL.upper(), "role": "QA"})
    assert r.status_code == 409 and r.json() == {"error": "A member with this email already exists"}
    assert Invitation.select().count() == 0


def test_only_admins_invite(relay, admin, member):
    for role in ("Developer", "QA", "Viewer"):
        c = member(role)
        r = c.post("/api/v1/team/invite", json={"email": "x@example.com"})
        assert r.status_code == 403 and r.json() == {"error": "Forbidden"}
    r = relay.client().post("/api/v1/team/invite", json={"email": "x@example.com"})
    assert r.status_code == 401
    token = make_token(admin, "view")
    r = bearer(relay, token).post("/api/v1/team/invite", json={"email": "x@example.com"})
    assert r.status_code == 403 and r.json() == {"error": "Insufficient scope"}
    assert not Invitation.select().where(Invitation.email == "x@example.com").exists()


def test_verify_needs_a_live_token(relay, admin):
    r = relay.client().get("/api/v1/invitations/verify")
    assert r.status_code == 400 and r.json() == {"error": "token required"}
    for token in ("0" * 32, "not-hex", "", "A" * 32):
        r = relay.client().get("/api/v1/invitations/verify", params={"token": token})
        assert r.status_code == (400 if token == "" else 410), (token, r.text)
        if token:
            assert r.json() == GONE


def test_accept_with_avatar_signs_in_and_works_only_once(relay, admin):
    token = invite(admin, "dev@example.com", "Developer")["token"]
    c, r = accept(relay, token, display_name="  Dev Person ",
                  files={"avatar": ("me.png", image_bytes("PNG"), "image/png")})
    assert r.status_code == 200, r.text
    me = c.get("/api/v1/auth/me").json()
    assert me["email"] == "dev@example.com" and me["role"] == "Developer"
    assert me["displayName"] == "Dev Person"
    avatar = c.get(me["avatarUrl"])
    assert avatar.status_code == 200 and avatar.content.startswith(b"\x89PNG")
    assert len(stored_files(relay)) == 1

    again_client, again = accept(relay, token, password="another password")
    assert again.status_code == 410 and again.json() == GONE
    assert "Set-Cookie" not in again.headers
    assert verify(relay, token).status_code == 410
    assert User.select().where(User.email == "dev@example.com").count() == 1
    assert login(relay, "dev@example.com", "another password")[1].status_code == 401
    assert login(relay, "dev@example.com")[1].status_code == 200


def test_accept_with_jpeg_avatar_and_json_body(relay, admin):
    token = invite(admin, "j@example.com")["token"]
    c, r = accept(relay, token, files={"avatar": ("x.jpg", image_bytes("JPEG"), "image/jpeg")})
    assert r.status_code == 200, r.text
    me = c.get("/api/v1/auth/me").json()
    assert me["displayName"] == "j" and me["avatarUrl"].endswith(".jpg")
    token = invite(admin, "k@example.com")["token"]
    c = relay.client()
    r = c.post("/api/v1/invitations/accept", json={"token": token, "password": PASSWORD})
    assert r.status_code == 200 and c.get("/api/v1/auth/me").json()["email"] == "k@example.com"


@pytest.mark.parametrize("fields, status, message", [
    ({"password": "short"}, 400, "password must be at least 8 characters"),
    ({"password": ""}, 400, "password required"),
    ({"token": ""}, 400, "token required"),
    ({"display_name": "x" * 101}, 400, "display_name must be at most 100 characters"),
])
def test_accept_refuses_bad_fields_without_using_up_the_link(relay, admin, fields, status, message):
    token = invite(admin, "later@example.com", "Viewer")["token"]
    _, r = accept(relay, **{"token": token, "password": PASSWORD, **fields})
    assert r.status_code == status and message in r.json()["error"], r.text
    assert not User.select().where(User.email == "later@example.com").exists()
    assert verify(relay, token).status_code == 200
    c, r = accept(relay, token)
    assert r.status_code == 200 and c.get("/api/v1/auth/me").json()["role"] == "Viewer"


@pytest.mark.parametrize("upload, status, message", [
    (("a.png", b"this is not an image", "image/png"), 400, "image must be PNG/JPEG"),
    (("a.gif", image_bytes("GIF"), "image/gif"), 400, "image must be PNG/JPEG"),
    (("a.webp", image_bytes("WEBP"), "image/webp"), 400, "image must be PNG/JPEG"),
    (("big.png", b"\x89PNG" + b"\0" * (2 * 1024 * 1024), "image/png"), 413,
     "avatar must be at most 2 MB"),
    (("huge.png", b"\x89PNG" + b"\0" * (3 * 1024 * 1024), "image/png"), 413, "too large"),
])
def test_bad_avatar_leaves_no_user_and_no_file(relay, admin, upload, status, message):
    token = invite(admin, "pic@example.com")["token"]
    _, r = accept(relay, token, files={"avatar": upload})
    assert r.status_code == status and message in r.json()["error"], r.text
    assert "Set-Cookie" not in r.headers
    assert not User.select().where(User.email == "pic@example.com").exists()
    assert stored_files(relay) == [] and stored_files(relay, "tmp") == []
    assert login(relay, "pic@example.com")[1].status_code == 401
    _, r = accept(relay, token)  # the link was not used up
    assert r.status_code == 200


def test_concurrent_accepts_make_exactly_one_account(relay, admin):
    token = invite(admin, "race@example.com", "Developer")["token"]
    start = threading.Barrier(6)
    results = []

    def attempt(i):
        start.wait()
        _, r = accept(relay, token, password=f"password-{i}",
                      files={"avatar": ("a.png", image_bytes("PNG"), "image/png")})
        results.append((r.status_code, i))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] + [410] * 5, results
    winner = next(i for s, i in results if s == 200)
    assert User.select().where(User.email == "race@example.com").count() == 1
    assert login(relay, "race@example.com", f"password-{winner}")[1].status_code == 200
    assert len(stored_files(relay)) == 1  # the losers' avatars were removed


def test_invitation_expires_after_seven_days(relay, admin):
    token = invite(admin, "slow@example.com")["token"]
    row = Invitation.get(Invitation.token_hash == digest(token))
    assert abs(row.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    assert verify(relay, token).status_code == 200
    Invitation.update(expires_at=utcnow() - timedelta(seconds=1)).where(
        Invitation.id == row.id).execute()
    r = verify(relay, token)
    assert r.status_code == 410 and r.json() == GONE
    _, r = accept(relay, token)
    assert r.status_code == 410 and r.json() == GONE
    assert not User.select().where(User.email == "slow@example.com").exists()
    # A fresh invitation to the same address works again.
    _, r = accept(relay, invite(admin, "slow@example.com")["token"])
    assert r.status_code == 200


def test_reinviting_replaces_the_pending_link(relay, admin):
    first = invite(admin, "again@example.com", "Viewer")["token"]
    second = invite(admin, "again@example.com", "Developer")["token"]
    assert first != second
    assert verify(relay, first).status_code == 410
    assert verify(relay, second).json()["role"] == "Developer"
    _, r = accept(relay, first)
    assert r.status_code == 410
    c, r = accept(relay, second)
    assert r.status_code == 200 and c.get("/api/v1/auth/me").json()["role"] == "Developer"
    assert Invitation.select().where(Invitation.email == "again@example.com").count() == 1


def test_tokens_are_stored_only_as_hashes(relay, admin, member):
    qa = member("QA")
    inv_token = invite(admin, "hash@example.com")["token"]
    reset_token = send_reset(admin, member_id(admin, qa.email))
    relay.services.db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
    files = [p for p in relay.data_dir.iterdir() if p.name.startswith("relay.db")]
    assert files
    raw = b"".join(p.read_bytes() for p in files)
    for token in (inv_token, reset_token):
        assert token.encode() not in raw and token.upper().encode() not in raw
    assert Invitation.get(Invitation.email == "hash@example.com").token_hash == digest(inv_token)
    assert PasswordReset.get(PasswordReset.token_hash == digest(reset_token)).user.email == qa.email


# Password resets

def test_send_reset_is_admin_only_and_needs_a_known_member(relay, admin, member):
    qa = member("QA")
    qa_id = member_id(admin, qa.email)
    r = qa.post(f"/api/v1/team/members/{qa_id}/send-reset")
    assert r.status_code == 403
    r = relay.client().post(f"/api/v1/team/members/{qa_id}/send-reset")
    assert r.status_code == 401
    for bad in ("9999", "abc", "-1"):
        r = admin.post(f"/api/v1/team/members/{bad}/send-reset")
        assert r.status_code == 404 and r.json() == {"error": "Member not found"}
    assert PasswordReset.select().count() == 0


def test_reset_signs_out_every_session_and_swaps_the_password(relay, admin, member):
    dev = member("Developer")
    laptop, r = login(relay, dev.email)
    assert r.status_code == 200
    token = send_reset(admin, member_id(admin, dev.email))
    anon = relay.client()
    r = anon.get("/api/v1/auth/reset-password/verify", params={"token": token})
    assert r.status_code == 200 and r.json() == {"ok": True}
    for c in (dev, laptop):
        assert c.get("/api/v1/auth/me").status_code == 200  # a pending reset ends nothing yet

    r = anon.post("/api/v1/auth/reset-password", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 200 and r.json() == {"ok": True}
    for c in (dev, laptop):
        r = c.get("/api/v1/auth/me")
        assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
    assert login(relay, dev.email)[1].status_code == 401
    fresh, r = login(relay, dev.email, NEW_PASSWORD)
    assert r.status_code == 200 and fresh.get("/api/v1/auth/me").json()["email"] == dev.email
    assert admin.get("/api/v1/auth/me").status_code == 200  # other people stay signed in

    r = anon.post("/api/v1/auth/reset-password", json={"token": token, "password": "third password"})
    assert r.status_code == 410 and "expired" in r.json()["error"]
    assert anon.get("/api/v1/auth/reset-password/verify", params={"token": token}).status_code == 410
    assert login(relay, dev.email, "third password")[1].status_code == 401
    assert fresh.get("/api/v1/auth/me").status_code == 200


def test_reset_link_expires_after_two_hours(relay, admin, member):
    qa = member("QA")
    token = send_reset(admin, member_id(admin, qa.email))
    row = PasswordReset.get(PasswordReset.token_hash == digest(token))
    assert abs(row.expires_at - (utcnow() + timedelta(hours=2))) < timedelta(minutes=1)
    PasswordReset.update(expires_at=utcnow() - timedelta(seconds=1)).where(
        PasswordReset.id == row.id).execute()
    anon = relay.client()
    assert anon.get("/api/v1/auth/reset-password/verify", params={"token": token}).status_code == 410
    r = anon.post("/api/v1/auth/reset-password", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 410
    assert login(relay, qa.email, NEW_PASSWORD)[1].status_code == 401
    assert qa.get("/api/v1/auth/me").status_code == 200  # nothing happened to the account


def test_reset_refuses_bad_input_without_using_up_the_link(relay, admin, member):
    qa = member("QA")
    qa_id = member_id(admin, qa.email)
    older = send_reset(admin, qa_id)
    token = send_reset(admin, qa_id)  # a new reset replaces the older link
    anon = relay.client()
    assert anon.get("/api/v1/auth/reset-password/verify", params={"token": older}).status_code == 410
    r = anon.get("/api/v1/auth/reset-password/verify")
    assert r.status_code == 400 and r.json() == {"error": "token required"}
    r = anon.get("/api/v1/auth/reset-password/verify", params={"token": "f" * 32})
    assert r.status_code == 410 and r.json()["error"]
    for body, message in (({"token": token, "password": "short"}, "at least 8"),
                          ({"token": token}, "password required"),
                          ({"password": NEW_PASSWORD}, "token required"),
                          ({"token": 5, "password": NEW_PASSWORD}, "token must be a string")):
        r = anon.post("/api/v1/auth/reset-password", json=body)
        assert r.status_code == 400 and message in r.json()["error"], (body, r.text)
    assert qa.get("/api/v1/auth/me").status_code == 200
    r = anon.post("/api/v1/auth/reset-password", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 200
    assert login(relay, qa.email, NEW_PASSWORD)[1].status_code == 200


# Team

def test_members_list_is_for_admins(relay, admin, member):
    dev = member("Developer", "dev@example.com")
    listed = admin.get("/api/v1/team/members").json()
    assert [m["email"] for m in listed] == [ADMIN_EMAIL, "dev@example.com"]
    assert {"id", "email", "display_name", "role", "joined_at"} <= set(listed[1])
    assert listed[1]["role"] == "Developer" and listed[1]["joined_at"].endswith("Z")
    assert "password_hash" not in listed[0] and "session_gen" not in listed[0]
    assert dev.get("/api/v1/team/members").status_code == 403
    assert relay.client().get("/api/v1/team/members").status_code == 401


def test_change_role_refuses_bad_input(relay, admin, member):
    qa = member("QA")
    qa_id = member_id(admin, qa.email)
    for body in ({"role": "Boss"}, {"role": "qa"}, {}, {"role": None}):
        r = admin.patch(f"/api/v1/team/members/{qa_id}", json=body)
        assert r.status_code == 400 and "role must be one of" in r.json()["error"], body
    for bad in ("9999", "x"):
        r = admin.patch(f"/api/v1/team/members/{bad}", json={"role": "QA"})
        assert r.status_code == 404 and r.json() == {"error": "Member not found"}
    r = qa.patch(f"/api/v1/team/members/{qa_id}", json={"role": "Admin"})
    assert r.status_code == 403
    assert members(admin)[qa.email]["role"] == "QA"


def test_the_last_admin_cannot_be_demoted(relay, admin, member):
    me = member_id(admin, ADMIN_EMAIL)
    for role in ("Developer", "QA", "Viewer"):
        r = admin.patch(f"/api/v1/team/members/{me}", json={"role": role})
        assert r.status_code == 400 and r.json() == {"error": "The team must keep at least one Admin"}
    assert members(admin)[ADMIN_EMAIL]["role"] == "Admin"
    assert admin.patch(f"/api/v1/team/members/{me}", json={"role": "Admin"}).status_code == 200
    # With a second Admin, stepping down is allowed.
    other = member("Admin", "boss2@example.com")
    r = admin.patch(f"/api/v1/team/members/{me}", json={"role": "Developer"})
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert admin.get("/api/v1/team/members").status_code == 403
    r = other.patch(f"/api/v1/team/members/{member_id(other, 'boss2@example.com')}",
                    json={"role": "QA"})
    assert r.status_code == 400  # now boss2 is the last Admin


def test_a_demoted_member_loses_rights_on_the_very_next_request(relay, admin, member):
    second = member("Admin", "second@example.com")
    token = make_token(second, "view")
    assert second.get("/api/v1/team/members").status_code == 200
    assert bearer(relay, token).get("/api/v1/team/members").status_code == 200
    r = admin.patch(f"/api/v1/team/members/{member_id(admin, 'second@example.com')}",
                    json={"role": "Viewer"})
    assert r.status_code == 200
    r = second.get("/api/v1/team/members")
    assert r.status_code == 403 and r.json() == {"error": "Forbidden"}
    assert bearer(relay, token).get("/api/v1/team/members").status_code == 403
    assert second.post("/api/v1/team/invite", json={"email": "z@example.com"}).status_code == 403
    assert second.get("/api/v1/auth/me").json()["role"] == "Viewer"
    # And promoted back, the rights return just as fast.
    admin.patch(f"/api/v1/team/members/{member_id(admin, 'second@example.com')}",
                json={"role": "Admin"})
    assert second.get("/api/v1/team/members").status_code == 200


def test_delete_member_ends_sessions_tokens_and_avatar(relay, admin):
    token = invite(admin, "gone@example.com", "Developer")["token"]
    gone, r = accept(relay, token, files={"avatar": ("a.png", image_bytes("PNG"), "image/png")})
    assert r.status_code == 200
    laptop, _ = login(relay, "gone@example.com")
    pat = make_token(gone, "view")
    avatar_url = gone.get("/api/v1/auth/me").json()["avatarUrl"]
    (avatar_file,) = stored_files(relay)
    gone_id = member_id(admin, "gone@example.com")
    send_reset(admin, gone_id)  # a pending reset must not outlive the account

    r = admin.delete(f"/api/v1/team/members/{gone_id}")
    assert r.status_code == 204 and r.content == b""
    for c in (gone, laptop, bearer(relay, pat)):
        r = c.get("/api/v1/auth/me")
        assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
    assert not avatar_file.exists() and stored_files(relay) == []
    assert admin.get(avatar_url).status_code == 404
    assert "gone@example.com" not in members(admin)
    assert login(relay, "gone@example.com")[1].status_code == 401
    assert PasswordReset.select().count() == 0
    r = admin.delete(f"/api/v1/team/members/{gone_id}")
    assert r.status_code == 404 and r.json() == {"error": "Member not found"}
    # The address can be invited again.
    _, r = accept(relay, invite(admin, "gone@example.com")["token"])
    assert r.status_code == 200


def test_delete_refuses_yourself_unknown_ids_and_non_admins(relay, admin, member):
    qa = member("QA")
    me = member_id(admin, ADMIN_EMAIL)
    r = admin.delete(f"/api/v1/team/members/{me}")
    assert r.status_code == 400 and r.json() == {"error": "You cannot delete yourself"}
    for bad in ("9999", "abc"):
        r = admin.delete(f"/api/v1/team/members/{bad}")
        assert r.status_code == 404 and r.json() == {"error": "Member not found"}
    r = qa.delete(f"/api/v1/team/members/{me}")
    assert r.status_code == 403
    assert relay.client().delete(f"/api/v1/team/members/{me}").status_code == 401
    assert set(members(admin)) == {ADMIN_EMAIL, qa.email}
    assert admin.get("/api/v1/auth/me").status_code == 200


def test_pending_invitations_can_be_listed_and_withdrawn(relay, admin, member):
    first = admin.post("/api/v1/team/invite", json={"email": "late@example.com", "role": "Viewer"}).json()
    admin.post("/api/v1/team/invite", json={"email": "soon@example.com"})
    pending = admin.get("/api/v1/team/invitations").json()
    assert [(i["email"], i["role"], i["invited_by"]) for i in pending] == [
        ("soon@example.com", "QA", "admin@example.com"), ("late@example.com", "Viewer", "admin@example.com")]
    assert all(set(i) == {"id", "email", "role", "invited_by", "created_at", "expires_at"} for i in pending)
    assert "token" not in str(pending)  # links are shown once, when made
    late = next(i for i in pending if i["email"] == "late@example.com")
    assert member("Developer").delete(f"/api/v1/team/invitations/{late['id']}").status_code == 403
    assert admin.delete(f"/api/v1/team/invitations/{late['id']}").status_code == 204
    r = relay.client().get(f"/api/v1/invitations/verify?token={first['token']}")
    assert r.status_code == 410 and r.json() == {"error": "Invitation expired or not found"}
    assert [i["email"] for i in admin.get("/api/v1/team/invitations").json()] == ["soon@example.com"]
    r = admin.delete(f"/api/v1/team/invitations/{late['id']}")
    assert r.status_code == 404 and r.json() == {"error": "Invitation not found"}
