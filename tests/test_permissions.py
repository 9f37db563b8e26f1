"""The role matrix: every route of the foundation, called by each role, by tokens and anonymously."""
import itertools
import re

import pytest

from conftest import bearer, make_token

ROLES = ["Viewer", "QA", "Developer", "Admin"]
RANK = {r: i for i, r in enumerate(ROLES)}
_seq = itertools.count()

# (method, path, body maker, lowest role allowed, token scope that allows it or None = cookie only)
ROUTES = [
    ("GET", "/api/v1/auth/me", None, "Viewer", "view"),
    ("POST", "/api/v1/auth/change-password",
     lambda: {"currentPassword": "not-the-password", "newPassword": "whatever-123"}, "Viewer", None),
    ("GET", "/api/v1/team/members", None, "Admin", "view"),
    ("GET", "/api/v1/team/invitations", None, "Admin", "view"),
    ("DELETE", "/api/v1/team/invitations/999999", None, "Admin", None),
    ("POST", "/api/v1/team/invite", lambda: {"email": f"new{next(_seq)}@example.com"}, "Admin", None),
    ("PATCH", "/api/v1/team/members/999999", lambda: {"role": "QA"}, "Admin", None),
    ("DELETE", "/api/v1/team/members/999999", None, "Admin", None),
    ("POST", "/api/v1/team/members/999999/send-reset", None, "Admin", None),
    ("GET", "/api/v1/tokens", None, "Viewer", None),
    ("POST", "/api/v1/tokens", lambda: {"name": "x", "scope": "view"}, "Viewer", None),
    ("DELETE", "/api/v1/tokens/999999", None, "Viewer", None),
    ("PATCH", "/api/v1/profile", lambda: {"display_name": "Someone"}, "Viewer", None),
    ("GET", "/api/v1/settings", None, "Viewer", "view"),
    ("PATCH", "/api/v1/settings", lambda: {"team_name": "Team"}, "Admin", None),
    ("GET", "/api/v1/logs", None, "Admin", "view"),
    ("GET", "/api/v1/uploads/999999/999999", None, "Viewer", "view"),
    ("GET", "/uploads/999999/999999", None, "Viewer", "view"),
    ("GET", "/api/v1/apps", None, "Viewer", "view"),
    ("POST", "/api/v1/apps", lambda: {"name": "A", "bundle_id_key": f"com.example.a{next(_seq)}",
                                      "platform": "ios"}, "Developer", ("builds:write", "ota:write")),
    ("PATCH", "/api/v1/apps/999999", lambda: {"name": "B"}, "Developer", ("builds:write", "ota:write")),
    ("DELETE", "/api/v1/apps/999999", None, "Developer", ("builds:write", "ota:write")),
    ("POST", "/api/v1/builds", None, "Developer", "builds:write"),
    ("GET", "/api/v1/builds", None, "Viewer", "view"),
    ("GET", "/api/v1/builds/999999", None, "Viewer", "view"),
    ("PATCH", "/api/v1/builds/999999", lambda: {"status_label": "Done"}, "QA", "builds:write"),
    ("DELETE", "/api/v1/builds/999999", None, "Developer", "builds:write"),
    ("GET", "/api/v1/builds/999999/download", None, "Viewer", "view"),
    ("GET", "/api/v1/comments?build_id=999999", None, "Viewer", "view"),
    ("POST", "/api/v1/comments", lambda: {"build_id": 999999, "body": "hi"}, "QA", None),
    ("DELETE", "/api/v1/comments/999999", None, "QA", None),
    ("POST", "/api/v1/recordings/upload", None, "QA", "builds:write"),
    ("GET", "/api/v1/recordings", None, "Viewer", "view"),
    ("GET", "/api/v1/recordings/999999", None, "Viewer", "view"),
    ("GET", "/api/v1/agents", None, "Viewer", "view"),
    ("POST", "/api/v1/agents/999999/heartbeat", lambda: {"cpu_percent": 1, "mem_percent": 2},
     "Admin", "agent"),
    ("GET", "/api/v1/agents/999999/resources", None, "Viewer", "view"),
    ("POST", "/api/v1/apps/999999/bundles/initiate", lambda: {}, "Developer", "ota:write"),
    ("POST", "/api/v1/apps/999999/bundles/finalize", lambda: {"uploadId": "x"}, "Developer", "ota:write"),
    ("GET", "/api/v1/apps/999999/bundles", None, "Viewer", "view"),
    ("DELETE", "/api/v1/apps/999999/bundles/999999", None, "Developer", "ota:write"),
    ("POST", "/api/v1/apps/999999/releases", lambda: {"bundleId": "x"}, "Developer", "ota:write"),
    ("GET", "/api/v1/apps/999999/releases", None, "Viewer", "view"),
    ("POST", "/api/v1/apps/999999/releases/999999/revert", None, "Developer", "ota:write"),
]

# Public routes answer without credentials: (method, path, body, status for an anonymous caller
# once the team exists).
PUBLIC = [
    ("GET", "/healthz", None, 200),
    ("GET", "/api/v1/auth/status", None, 200),
    ("POST", "/api/v1/auth/init", {"email": "late@example.com", "password": "whatever-123"}, 403),
    ("POST", "/api/v1/auth/login", {"email": "nobody@example.com", "password": "whatever-123"}, 401),
    ("POST", "/api/v1/auth/logout", None, 200),
    ("GET", "/api/v1/invitations/verify?token=" + "0" * 32, None, 410),
    ("POST", "/api/v1/invitations/accept", {"token": "0" * 32, "password": "whatever-123"}, 410),
    ("GET", "/api/v1/auth/reset-password/verify?token=" + "0" * 32, None, 410),
    ("POST", "/api/v1/auth/reset-password", {"token": "0" * 32, "password": "whatever-123"}, 410),
    ("GET", "/ota/manifests/999999/999999/999999/manifest.json", None, 404),
    ("GET", "/ota/bundles/999999", None, 404),
    ("GET", "/ota/keys.json", None, 200),
    ("PUT", "/ota/uploads/999999", None, 403),
    ("GET", "/api/v1/manifest", None, 400),
    ("POST", "/api/v1/ota/events", None, 400),
]


def call(client, method, path, body):
    return client.request(method, path, json=body() if callable(body) else body)


@pytest.fixture
def team(relay, admin, member):
    clients = {"Admin": admin}
    for role in ("Developer", "QA", "Viewer"):
        clients[role] = member(role)
    return clients


def test_role_matrix_with_cookies(relay, team):
    for (method, path, body, lowest, _scope), role in itertools.product(ROUTES, ROLES):
        r = call(team[role], method, path, body)
        if RANK[role] >= RANK[lowest]:
            assert r.status_code not in (401, 403), (role, method, path, r.status_code, r.text)
        else:
            assert r.status_code == 403, (role, method, path, r.status_code, r.text)
            assert r.json() == {"error": "Forbidden"}


def test_anonymous_gets_401_everywhere_but_public_routes(relay, team):
    anon = relay.client()
    for method, path, body, _lowest, _scope in ROUTES:
        r = call(anon, method, path, body)
        assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}, (method, path)
    for method, path, body, status in PUBLIC:
        assert call(anon, method, path, body).status_code == status, (method, path)


def test_tokens_do_what_their_scope_and_role_allow(relay, team):
    for role in ROLES:
        view = bearer(relay, make_token(team[role], "view"))
        all_scopes = {"view", "builds:write", "ota:write"} | ({"agent"} if role == "Admin" else set())
        everything = bearer(relay, make_token(team[role], ",".join(sorted(all_scopes))))
        no_view = bearer(relay, make_token(team[role], "ota:write"))
        for method, path, body, lowest, scope in ROUTES:
            needed = {scope} if isinstance(scope, str) else set(scope or ())
            for client, has_scope in ((view, "view" in needed), (everything, bool(needed & all_scopes)),
                                      (no_view, "ota:write" in needed)):
                r = call(client, method, path, body)
                if not has_scope:
                    assert r.status_code == 403, (role, method, path, r.text)
                    assert r.json() == {"error": "Insufficient scope"}
                elif RANK[role] < RANK[lowest]:
                    assert r.status_code == 403 and r.json() == {"error": "Forbidden"}, (role, path)
                else:
                    assert r.status_code not in (401, 403), (role, method, path, r.text)


def test_every_api_route_is_in_the_matrix(relay):
    """A new route must be added here (and so to the policy) to be tested for permissions."""
    listed = {(m, p.split("?")[0]) for m, p, *_ in ROUTES} | {(m, p.split("?")[0]) for m, p, *_ in PUBLIC}
    for rule in relay.app.url_map.iter_rules():
        if not (rule.rule.startswith("/api/") or rule.rule == "/healthz"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            path = re.sub(r"<[^>]+>", "999999", rule.rule)
            assert (method, path) in listed, f"{method} {rule.rule} is missing from the role matrix"
