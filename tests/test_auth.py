"""First-run setup, sign-in and out, sessions, password change."""
import threading

from conftest import ADMIN_EMAIL, PASSWORD, init_admin


def test_status_then_init_creates_one_admin(relay, anon):
    assert anon.get("/api/v1/auth/status").json() == {"initialized": False, "setupCodeRequired": False}
    r = anon.post("/api/v1/auth/init", json={"email": "Boss@Example.com", "password": PASSWORD})
    assert r.status_code == 201 and r.json() == {"ok": True}
    assert anon.get("/api/v1/auth/status").json()["initialized"] is True
    me = anon.get("/api/v1/auth/me").json()  # init signs the admin in
    assert me["email"] == "boss@example.com" and me["role"] == "Admin"
    again = relay.client().post("/api/v1/auth/init", json={"email": "x@example.com",
                                                           "password": PASSWORD})
    assert again.status_code == 403 and again.json() == {"error": "Already initialized"}


def test_concurrent_inits_make_exactly_one_admin(relay):
    results = []

    def attempt(i):
        r = relay.client().post("/api/v1/auth/init",
                                json={"email": f"admin{i}@example.com", "password": PASSWORD})
        results.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [403] * 7
    admin = init_admin_login_any(relay)
    assert len(admin.get("/api/v1/team/members").json()) == 1


def init_admin_login_any(relay):
    from relay.models import User
    email = User.select().first().email
    c = relay.client()
    assert c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).ok
    return c


def test_login_sets_hardened_cookie(relay, admin):
    r = relay.client().post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    assert r.status_code == 200 and r.json() == {"ok": True, "role": "Admin"}
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("tapflow_token=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=604800" in cookie
    assert "Secure" not in cookie  # plain HTTP here; HTTPS requests get Secure


def test_wrong_password_and_rate_limit(relay, admin):
    c = relay.client()
    for _ in range(5):
        r = c.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-password"})
        assert r.status_code == 401 and r.json() == {"error": "Invalid email or password"}
    r = c.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "error" in r.json()


def test_logout_ends_session_on_next_request(relay, admin):
    stolen = admin.cookies.get("tapflow_token")
    assert admin.post("/api/v1/auth/logout").json() == {"ok": True}
    assert admin.get("/api/v1/auth/me").status_code == 401
    replay = relay.client()
    replay.cookies.set("tapflow_token", stolen)
    assert replay.get("/api/v1/auth/me").status_code == 401


def test_tampered_cookie_is_refused(relay, admin):
    c = relay.client()
    value = admin.cookies.get("tapflow_token")
    c.cookies.set("tapflow_token", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    r = c.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}


def test_change_password(relay, admin):
    other = relay.client()
    assert other.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}).ok
    r = admin.post("/api/v1/auth/change-password",
                   json={"currentPassword": "nope-nope", "newPassword": "another-pass"})
    assert r.status_code == 400 and r.json() == {"error": "Current password is incorrect"}
    r = admin.post("/api/v1/auth/change-password",
                   json={"currentPassword": PASSWORD, "newPassword": "short"})
    assert r.status_code == 400
    r = admin.post("/api/v1/auth/change-password",
                   json={"currentPassword": PASSWORD, "newPassword": "another-pass"})
    assert r.json() == {"ok": True}
    assert admin.get("/api/v1/auth/me").status_code == 200  # this session goes on
    assert other.get("/api/v1/auth/me").status_code == 401  # the others end
    fresh = relay.client()
    assert fresh.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}).status_code == 401
    assert fresh.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "another-pass"}).ok


def test_cookie_is_secure_over_https(tmp_path):
    from relay.app import create_app
    from relay.config import load_config
    app = create_app(load_config({"data_dir": str(tmp_path)}, env={"RELAY_BCRYPT_ROUNDS": "4"}))
    client = app.test_client()
    r = client.post("/api/v1/auth/init", json={"email": "a@example.com", "password": PASSWORD},
                    base_url="https://relay.example")
    assert r.status_code == 201
    assert "Secure" in r.headers["Set-Cookie"]
    app.extensions["relay"].db.close()
