"""GET /api/v1/logs: the in-memory log buffer, Admin only."""
import re

from conftest import ADMIN_EMAIL


def test_logs_show_recent_events_in_order(relay, admin):
    admin.post("/api/v1/tokens", json={"name": "ci"})
    admin.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-password"})
    lines = admin.get("/api/v1/logs").json()
    assert all(re.match(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] ", line) for line in lines)
    text = "\n".join(lines)
    assert text.index("first admin admin@example.com created") < text.index("created token 'ci'")
    assert "WARNING: failed sign-in for admin@example.com" in text


def test_lines_parameter(relay, admin):
    for i in range(600):
        relay.services.logs.emit(_record(f"event {i}"))
    assert len(admin.get("/api/v1/logs").json()) == 100
    last = admin.get("/api/v1/logs?lines=3").json()
    assert [line.split("] ", 1)[1] for line in last] == ["event 597", "event 598", "event 599"]
    assert len(admin.get("/api/v1/logs?lines=10000").json()) == 500  # the buffer holds 500
    for bad in ("0", "-1", "abc", "1.5"):
        r = admin.get(f"/api/v1/logs?lines={bad}")
        assert r.status_code == 400 and "lines" in r.json()["error"], bad


def test_logs_are_admin_only(relay, admin, member):
    assert member("Developer").get("/api/v1/logs").status_code == 403


def _record(message):
    import logging
    return logging.LogRecord("relay", logging.INFO, __file__, 1, message, None, None)


def test_server_warnings_reach_the_log(relay, admin):
    import logging
    logging.getLogger("waitress").warning("Task queue depth is 7")
    logging.getLogger("waitress").info("chatter that stays out")
    lines = admin.get("/api/v1/logs").json()
    assert any(line.endswith("WARNING: Task queue depth is 7") for line in lines)
    assert not any("chatter" in line for line in lines)
