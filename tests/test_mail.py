"""Outgoing mail, end to end: a live relay sends invitations and password resets to a real SMTP
server (aiosmtpd) on 127.0.0.1 — plain, plain + AUTH, STARTTLS + AUTH with a verified certificate,
implicit TLS — and falls back to a shareable link whenever mail cannot be delivered."""
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import ADMIN_EMAIL, PASSWORD, free_port, init_admin
from smtp_server import pki, smtp  # noqa: F401 - fixtures

PUBLIC = "https://relay.example.test"

# aiosmtpd warns whenever AUTH is allowed without TLS; the plain + AUTH tests do that on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def forged_host(client, host="evil.example.com") -> dict:
    """Headers of a request that claims another host. requests would then withhold the session
    cookie (it matches cookies against the Host header), so it is sent explicitly."""
    return {"Host": host, "X-Forwarded-Host": host,
            "Cookie": f"tapflow_token={client.cookies['tapflow_token']}"}


def invite(admin, email="new@example.com", role="Developer", **kwargs):
    r = admin.post("/api/v1/team/invite", json={"email": email, "role": role}, **kwargs)
    assert r.status_code == 201, r.text
    return r.json()


def token_of(link: str, path: str) -> str:
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC and parts.path == path, link
    (token,) = parse_qs(parts.query)["token"]
    return token


def open_link(relay, link: str):
    """Follow a mailed link on the running relay (the public host name is not resolvable here)."""
    parts = urlsplit(link)
    r = relay.client().get(f"{parts.path}?{parts.query}")
    assert r.status_code == 200 and "text/html" in r.headers["Content-Type"], r.status_code
    return r


def accept(relay, token, password=PASSWORD, **fields):
    c = relay.client()
    r = c.post("/api/v1/invitations/accept", data={"token": token, "password": password, **fields})
    return c, r


def error_logs(admin) -> list[str]:
    r = admin.get("/api/v1/logs", params={"lines": 500})
    assert r.status_code == 200, r.text
    return [line for line in r.json() if "ERROR" in line]


def test_invitation_mail_arrives_and_its_link_ignores_a_forged_host(relay_factory, smtp):
    server = smtp()
    relay = relay_factory(env=server.env())
    admin = init_admin(relay)
    result = invite(admin, "New.Person@Example.com", "Developer",
                    headers=forged_host(admin))
    assert result["emailSent"] is True and "url" not in result

    (mail,) = server.wait_for(1)
    assert mail.rcpt_tos == ["new.person@example.com"]
    assert mail.message["To"] == "new.person@example.com"
    assert mail.message["From"] == "relay@example.test"
    assert mail.message["Subject"] == "Join My Team on Relay"
    assert mail.message["Date"] and mail.message["Message-ID"].endswith("@example.test>")
    assert "Developer" in mail.body and "7 days" in mail.body
    assert "evil.example.com" not in mail.message.as_string()
    links = mail.links()
    assert links == [f"{PUBLIC}/invite?token={result['token']}"]
    token = token_of(links[0], "/invite")

    open_link(relay, links[0])  # the dashboard page the link points at exists
    r = relay.client().get("/api/v1/invitations/verify", params={"token": token})
    assert r.status_code == 200 and r.json()["role"] == "Developer"
    c, r = accept(relay, token, display_name="New Person")
    assert r.status_code == 200 and r.json() == {"ok": True}
    me = c.get("/api/v1/auth/me").json()
    assert me["email"] == "new.person@example.com" and me["role"] == "Developer"
    assert me["displayName"] == "New Person"


def test_reset_mail_arrives_and_its_link_resets_the_password(relay_factory, smtp):
    server = smtp()
    relay = relay_factory(env=server.env())
    admin = init_admin(relay)
    invite(admin, "qa@example.com", "QA")
    (invitation,) = server.wait_for(1)
    _, r = accept(relay, token_of(invitation.links()[0], "/invite"))
    assert r.status_code == 200
    qa_id = next(m["id"] for m in admin.get("/api/v1/team/members").json()
                 if m["email"] == "qa@example.com")

    r = admin.post(f"/api/v1/team/members/{qa_id}/send-reset", headers=forged_host(admin))
    assert r.status_code == 200 and r.json() == {"ok": True, "emailSent": True}
    reset = server.wait_for(2)[1]
    assert reset.rcpt_tos == ["qa@example.com"]
    assert reset.message["Subject"] == "Reset your My Team password"
    assert "2 hours" in reset.body
    (link,) = reset.links()
    token = token_of(link, "/reset-password")
    open_link(relay, link)

    anon = relay.client()
    assert anon.get("/api/v1/auth/reset-password/verify", params={"token": token}).json() == {"ok": True}
    r = anon.post("/api/v1/auth/reset-password", json={"token": token, "password": "brand-new-pass"})
    assert r.status_code == 200, r.text
    r = anon.post("/api/v1/auth/login", json={"email": "qa@example.com", "password": "brand-new-pass"})
    assert r.status_code == 200 and r.json()["role"] == "QA"


def test_no_smtp_means_no_mail_and_a_link_to_share(relay_factory, smtp):
    server = smtp()  # running, but the relay is not told about it
    relay = relay_factory(env={"RELAY_PUBLIC_URL": PUBLIC})
    admin = init_admin(relay)
    result = invite(admin, "x@example.com", "QA", headers=forged_host(admin))
    assert result["emailSent"] is False
    assert result["url"] == f"{PUBLIC}/invite?token={result['token']}"
    me_id = admin.get("/api/v1/auth/me").json()["id"]
    r = admin.post(f"/api/v1/team/members/{me_id}/send-reset")
    assert r.status_code == 200 and r.json()["emailSent"] is False
    token_of(r.json()["url"], "/reset-password")
    assert server.received == []
    assert error_logs(admin) == []  # not configured is not an error


@pytest.mark.parametrize("failure", ["server down", "recipient refused"])
def test_undeliverable_mail_falls_back_to_the_link_and_logs_an_error(relay_factory, smtp, failure):
    if failure == "server down":
        env = {"RELAY_SMTP_HOST": "127.0.0.1", "RELAY_SMTP_PORT": str(free_port()),
               "RELAY_SMTP_SECURITY": "none", "RELAY_PUBLIC_URL": PUBLIC}
        server = None
    else:
        server = smtp(refuse_rcpt=True)
        env = server.env()
    relay = relay_factory(env=env)
    admin = init_admin(relay)
    result = invite(admin, "late@example.com", "Viewer")
    assert result["emailSent"] is False
    assert result["url"] == f"{PUBLIC}/invite?token={result['token']}"
    errors = error_logs(admin)
    assert any("mail to late@example.com" in line and "failed" in line for line in errors), errors

    me_id = admin.get("/api/v1/auth/me").json()["id"]
    r = admin.post(f"/api/v1/team/members/{me_id}/send-reset")
    assert r.status_code == 200 and r.json()["emailSent"] is False and "url" in r.json()
    assert sum(f"mail to {ADMIN_EMAIL}" in line for line in error_logs(admin)) == 1

    # The invitation still works through the shared link.
    c, r = accept(relay, token_of(result["url"], "/invite"))
    assert r.status_code == 200
    assert c.get("/api/v1/auth/me").json()["role"] == "Viewer"
    if server is not None:
        assert server.received == []


def test_plain_smtp_with_auth(relay_factory, smtp):
    server = smtp(auth=("relay-bot", "s3cret-pass"), auth_require_tls=False)
    relay = relay_factory(env=server.env(RELAY_SMTP_USER="relay-bot",
                                         RELAY_SMTP_PASSWORD="s3cret-pass"))
    admin = init_admin(relay)
    assert invite(admin)["emailSent"] is True
    (mail,) = server.wait_for(1)
    assert mail.login == "relay-bot" and mail.tls is False
    assert mail.rcpt_tos == ["new@example.com"]


def test_wrong_smtp_password_is_logged_and_the_link_returned(relay_factory, smtp):
    server = smtp(auth=("relay-bot", "s3cret-pass"), auth_require_tls=False)
    relay = relay_factory(env=server.env(RELAY_SMTP_USER="relay-bot",
                                         RELAY_SMTP_PASSWORD="wrong-pass"))
    admin = init_admin(relay)
    result = invite(admin)
    assert result["emailSent"] is False and result["url"].startswith(f"{PUBLIC}/invite?token=")
    assert server.received == []
    errors = error_logs(admin)
    assert any("mail to new@example.com" in line and "SMTPAuthenticationError" in line
               for line in errors), errors
    assert not any("wrong-pass" in line for line in admin.get("/api/v1/logs").json())


def test_starttls_with_auth_and_a_verified_certificate(relay_factory, smtp, pki, monkeypatch):
    # The operator trusts the server's private CA the standard way for Python/OpenSSL.
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    server = smtp(tls="starttls", context=pki.server_context, auth=("relay-bot", "s3cret-pass"))
    relay = relay_factory(env=server.env("starttls", RELAY_SMTP_USER="relay-bot",
                                         RELAY_SMTP_PASSWORD="s3cret-pass"))
    admin = init_admin(relay)
    result = invite(admin, "tls@example.com", "QA")
    assert result["emailSent"] is True, error_logs(admin)
    (mail,) = server.wait_for(1)
    assert mail.tls is True and mail.login == "relay-bot"
    assert mail.links() == [f"{PUBLIC}/invite?token={result['token']}"]


def test_starttls_refuses_an_untrusted_certificate(relay_factory, smtp, pki, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    server = smtp(tls="starttls", context=pki.server_context, auth=("relay-bot", "s3cret-pass"))
    relay = relay_factory(env=server.env("starttls", RELAY_SMTP_USER="relay-bot",
                                         RELAY_SMTP_PASSWORD="s3cret-pass"))
    admin = init_admin(relay)
    result = invite(admin, "tls@example.com", "QA")
    assert result["emailSent"] is False and "url" in result
    assert server.received == []
    assert any("CERTIFICATE_VERIFY_FAILED" in line for line in error_logs(admin))


def test_starttls_is_never_downgraded_to_plain_text(relay_factory, smtp):
    server = smtp()  # offers no STARTTLS
    relay = relay_factory(env=server.env("starttls", RELAY_SMTP_USER="relay-bot",
                                         RELAY_SMTP_PASSWORD="s3cret-pass"))
    admin = init_admin(relay)
    result = invite(admin)
    assert result["emailSent"] is False and "url" in result
    assert server.received == []
    assert any("STARTTLS" in line for line in error_logs(admin))


def test_implicit_tls(relay_factory, smtp, pki, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    # aiosmtpd only counts STARTTLS as TLS for AUTH; this connection is TLS from the first byte.
    server = smtp(tls="tls", context=pki.server_context, auth=("relay-bot", "s3cret-pass"),
                  auth_require_tls=False)
    relay = relay_factory(env=server.env("tls", RELAY_SMTP_USER="relay-bot",
                                         RELAY_SMTP_PASSWORD="s3cret-pass"))
    admin = init_admin(relay)
    assert invite(admin)["emailSent"] is True, error_logs(admin)
    (mail,) = server.wait_for(1)
    assert mail.tls is True and mail.login == "relay-bot"


def test_smtp_settings_from_relay_toml_and_env_overrides(relay_factory, smtp, tmp_path):
    server = smtp(auth=("toml-user", "toml-pass"), auth_require_tls=False)
    data_dir = tmp_path / "tomldata"
    data_dir.mkdir()
    (data_dir / "relay.toml").write_text(
        'public_url = "https://toml.example.test"\n'
        "[smtp]\n"
        f'host = "127.0.0.1"\nport = {server.port}\nuser = "toml-user"\n'
        'password = "toml-pass"\nfrom = "Relay <from-toml@example.test>"\nsecurity = "none"\n')
    # The environment wins over relay.toml for the same setting.
    relay = relay_factory(env={"RELAY_SMTP_FROM": "env-from@example.test"}, data_dir=data_dir)
    admin = init_admin(relay)
    result = invite(admin, "toml@example.com", "Viewer")
    assert result["emailSent"] is True, error_logs(admin)
    (mail,) = server.wait_for(1)
    assert mail.login == "toml-user"
    assert mail.message["From"] == "env-from@example.test"
    assert mail.links() == [f"https://toml.example.test/invite?token={result['token']}"]


def test_team_name_cannot_inject_mail_headers(relay_factory, smtp):
    server = smtp()
    relay = relay_factory(env=server.env())
    admin = init_admin(relay)
    r = admin.patch("/api/v1/settings", data={"team_name": "Acme\r\nBcc: spy@evil.example"})
    assert r.status_code in (200, 400), r.text
    result = invite(admin, "victim@example.com", "QA")
    assert result["emailSent"] is True, error_logs(admin)
    (mail,) = server.wait_for(1)
    assert mail.rcpt_tos == ["victim@example.com"]
    assert mail.message["Bcc"] is None
    assert "\n" not in mail.message["Subject"]

