"""Personal access tokens: shown once, hashed at rest, expiry, revocation, last use."""
import hashlib
import re
import sqlite3

from conftest import bearer, make_token
from relay.models import ApiToken
from relay.timeutil import utcnow


def test_create_list_use_and_revoke(relay, admin):
    r = admin.post("/api/v1/tokens", json={"name": "GitHub Actions"})
    assert r.status_code == 201
    token = r.json()["token"]
    assert re.fullmatch(r"tflw_pat_[0-9a-f]{64}", token)
    listed = admin.get("/api/v1/tokens").json()
    assert len(listed) == 1
    row = listed[0]
    assert set(row) == {"id", "name", "scope", "last_used_at", "expires_at", "created_at"}
    assert row["name"] == "GitHub Actions" and row["scope"] == "builds:write"
    assert row["expires_at"] is None and row["last_used_at"] is None
    assert token not in admin.get("/api/v1/tokens").text  # shown once only

    view = bearer(relay, make_token(admin, "view"))
    assert view.get("/api/v1/auth/me").json()["email"] == "admin@example.com"
    used = {t["name"]: t for t in admin.get("/api/v1/tokens").json()}["ci-view"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", used["last_used_at"])

    r = admin.delete(f"/api/v1/tokens/{used['id']}")
    assert r.status_code == 204 and r.content == b""
    r = view.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}


def test_tokens_are_stored_hashed(relay, admin):
    token = make_token(admin, "view")
    db = sqlite3.connect(relay.data_dir / "relay.db")
    dump = "\n".join(db.iterdump())
    assert token not in dump and token[9:] not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump


def test_expired_token_is_refused(relay, admin):
    r = admin.post("/api/v1/tokens", json={"name": "short", "scope": "view", "expires_in_days": 1})
    assert r.status_code == 201 and r.json()["expires_at"].endswith("Z")
    client = bearer(relay, r.json()["token"])
    assert client.get("/api/v1/auth/me").status_code == 200
    ApiToken.update(expires_at=utcnow()).where(ApiToken.id == r.json()["id"]).execute()
    assert client.get("/api/v1/auth/me").status_code == 401


def test_bad_token_requests(relay, admin):
    cases = [
        ({}, "name required"),
        ({"name": "  "}, "name required"),
        ({"name": 5}, "name required"),
        ({"name": "x", "scope": "admin"}, "unknown scope 'admin'; use view, builds:write, ota:write, agent"),
        ({"name": "x", "scope": ""}, None),
        ({"name": "x", "expires_in_days": 0}, "expires_in_days must be between 1 and 3650"),
        ({"name": "x", "expires_in_days": "30"}, "expires_in_days must be a whole number"),
        ({"name": "x", "expires_in_days": 1.5}, "expires_in_days must be a whole number"),
        ({"name": "x", "expires_in_days": True}, "expires_in_days must be a whole number"),
        ({"name": "x" * 101}, "name must be at most 100 characters"),
    ]
    for body, message in cases:
        r = admin.post("/api/v1/tokens", json=body)
        assert r.status_code == 400, body
        if message:
            assert r.json() == {"error": message}, body
    assert admin.get("/api/v1/tokens").json() == []  # nothing half-made


def test_agent_scope_is_for_admins_only(relay, admin, member):
    dev = member("Developer")
    r = dev.post("/api/v1/tokens", json={"name": "agent", "scope": "agent"})
    assert r.status_code == 403 and r.json() == {"error": "Only Admins can create agent tokens"}
    assert admin.post("/api/v1/tokens", json={"name": "agent", "scope": "agent"}).status_code == 201


def test_tokens_are_per_user(relay, admin, member):
    qa = member("QA")
    mine = admin.post("/api/v1/tokens", json={"name": "admin-ci"}).json()
    assert qa.get("/api/v1/tokens").json() == []
    r = qa.delete(f"/api/v1/tokens/{mine['id']}")
    assert r.status_code == 404 and r.json() == {"error": "Token not found"}
    assert len(admin.get("/api/v1/tokens").json()) == 1


def test_token_never_exceeds_its_owners_role(relay, admin, member):
    viewer = member("Viewer")
    client = bearer(relay, make_token(viewer, "view"))
    assert client.get("/api/v1/team/members").status_code == 403
    # A demotion applies to the owner's tokens at once.
    admin_token = bearer(relay, make_token(admin, "view"))
    assert admin_token.get("/api/v1/team/members").status_code == 200


def test_malformed_authorization_headers(relay, admin):
    for header in ["Bearer", "Bearer tflw_pat_123", "Bearer " + "a" * 64, "Basic dXNlcjpwYXNz",
                   "Bearer tflw_pat_" + "G" * 64, "Bearer tflw_pat_" + "0" * 64]:
        c = relay.client()
        c.headers["Authorization"] = header
        r = c.get("/api/v1/auth/me")
        assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}, header


def test_bearer_wins_over_cookie(relay, admin):
    admin.headers["Authorization"] = "Bearer tflw_pat_" + "0" * 64
    assert admin.get("/api/v1/auth/me").status_code == 401
