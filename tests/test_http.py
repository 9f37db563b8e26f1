"""HTTP conventions: JSON errors everywhere under /api, body limits, CSRF, health."""
import requests

from conftest import ADMIN_EMAIL, PASSWORD


def test_healthz(relay, anon):
    r = anon.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_unknown_api_path_and_wrong_method_are_json(relay, admin):
    r = admin.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json() == {"error": "Not found"}
    r = admin.post("/api/v1/nothing-here", json={})
    assert r.status_code == 404 and r.json() == {"error": "Not found"}
    r = admin.put("/api/v1/auth/me")
    assert r.status_code == 405 and r.json() == {"error": "Method not allowed"}
    assert "GET" in r.headers["Allow"]
    r = admin.delete("/api/v1/team/members/abc")
    assert r.status_code == 404 and r.json() == {"error": "Member not found"}


def test_malformed_and_wrong_typed_json(relay, anon):
    r = anon.post("/api/v1/auth/login", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json() == {"error": "Malformed JSON body"}
    r = anon.post("/api/v1/auth/login", json=["a", "b"])
    assert r.status_code == 400 and r.json() == {"error": "JSON body must be an object"}
    r = anon.post("/api/v1/auth/login", json={"email": 5, "password": PASSWORD})
    assert r.status_code == 400 and r.json() == {"error": "email must be a string"}
    r = anon.post("/api/v1/auth/login", json={"password": PASSWORD})
    assert r.status_code == 400 and r.json() == {"error": "email required"}


def test_curl_style_form_content_type_is_read_as_json(relay, admin):
    r = requests.post(relay.url + "/api/v1/auth/login", data='{"email": "%s", "password": "%s"}'
                      % (ADMIN_EMAIL, PASSWORD),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200


def test_oversize_json_body_is_413(relay, anon):
    body = '{"email": "' + "a" * (2 * 1024 * 1024) + '"}'
    r = anon.post("/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json() == {"error": "Request body too large"}


def test_init_validation(relay, anon):
    for body, message in [
        ({"password": PASSWORD}, "email required"),
        ({"email": "not-an-email", "password": PASSWORD}, "email is not a valid address"),
        ({"email": "first,last@example.com", "password": PASSWORD}, "email is not a valid address"),
        ({"email": "a@example.com"}, "password required"),
        ({"email": "a@example.com", "password": "short"}, "password must be at least 8 characters"),
        ({"email": "a@example.com", "password": "x" * 73}, "password must be at most 72 bytes"),
    ]:
        r = anon.post("/api/v1/auth/init", json=body)
        assert r.status_code == 400 and r.json() == {"error": message}, body
    assert anon.get("/api/v1/auth/status").json()["initialized"] is False


def test_cross_origin_cookie_writes_are_refused(relay, admin):
    r = admin.patch("/api/v1/settings", json={"team_name": "Evil"},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json() == {"error": "Cross-origin request refused"}
    r = admin.patch("/api/v1/settings", json={"team_name": "Same"}, headers={"Origin": relay.url})
    assert r.status_code == 200
    assert admin.get("/api/v1/settings").json()["team_name"] == "Same"
    r = admin.post("/api/v1/auth/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    assert admin.get("/api/v1/auth/me").status_code == 200  # still signed in


def test_dashboard_pages_are_html_and_api_errors_are_not(relay, anon):
    for path in ("/", "/setup", "/login", "/invite", "/reset-password"):
        r = anon.get(path)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), path
    r = anon.get("/api/v1/auth/me")
    assert r.headers["Content-Type"] == "application/json"


def test_unexpected_error_is_json_500_and_logged(relay, admin):
    relay.services.db.execute_sql("DROP TABLE settings")
    r = admin.get("/api/v1/settings")
    assert r.status_code == 500 and r.json() == {"error": "Internal server error"}
    logs = admin.get("/api/v1/logs").json()
    assert any("unhandled error on GET /api/v1/settings" in line for line in logs)


def test_double_slashes_get_json_not_an_html_redirect(relay, admin):
    r = admin.get("/api/v1/recordings//x", allow_redirects=False)
    assert r.status_code == 404 and r.json()["error"]
