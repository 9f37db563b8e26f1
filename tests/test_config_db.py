"""Settings precedence, the data directory, secrets and schema migrations."""
import sqlite3
import stat

import pytest

from relay import migrations
from relay.config import ConfigError, load_config
from relay.db import open_database


def test_precedence_flag_env_toml_default(tmp_path):
    (tmp_path / "relay.toml").write_text('port = 5000\nhost = "127.0.0.1"\npublic_url = "https://toml.example"\n'
                                         '[smtp]\nhost = "mail.toml"\nport = 2525\n')
    c = load_config({"data_dir": str(tmp_path)}, env={})
    assert (c.port, c.host, c.public_url, c.smtp_host, c.smtp_port) == \
        (5000, "127.0.0.1", "https://toml.example", "mail.toml", 2525)
    c = load_config({"data_dir": str(tmp_path)}, env={"RELAY_PORT": "6000", "RELAY_SMTP_HOST": "mail.env"})
    assert (c.port, c.smtp_host) == (6000, "mail.env")
    c = load_config({"data_dir": str(tmp_path), "port": 7000}, env={"RELAY_PORT": "6000"})
    assert c.port == 7000
    c = load_config({"data_dir": str(tmp_path / "empty")}, env={})
    assert (c.port, c.host, c.smtp_security, c.smtp_port) == (4000, "0.0.0.0", "starttls", 587)
    assert load_config({"data_dir": str(tmp_path / "empty")}, env={"RELAY_SMTP_SECURITY": "tls"}).smtp_port == 465


def test_data_dir_from_env(tmp_path):
    assert load_config({}, env={"RELAY_DATA_DIR": str(tmp_path)}).data_dir == tmp_path.resolve()


@pytest.mark.parametrize("toml, env, message", [
    ("port = 'abc'", {}, "setting 'port' must be int"),
    ("", {"RELAY_PORT": "70000"}, "port must be 0-65535"),
    ("[smtp]\nsecurity = 'ssl3'", {}, "smtp security must be one of"),
    ("port = ", {}, "relay.toml"),
    ("public_url = 'relay.local'", {}, "public_url must start with http"),
])
def test_bad_settings_are_named(tmp_path, toml, env, message):
    (tmp_path / "relay.toml").write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_config({"data_dir": str(tmp_path)}, env=env)


def test_secret_key_is_generated_private_and_stable(relay_factory, tmp_path):
    relay = relay_factory(data_dir=tmp_path / "d")
    key_file = tmp_path / "d" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    assert len(key.strip()) == 64
    relay.stop()
    relay_factory(data_dir=tmp_path / "d")
    assert key_file.read_text() == key


def test_sessions_survive_restart(relay_factory, tmp_path):
    from conftest import init_admin
    relay = relay_factory(data_dir=tmp_path / "d")
    admin = init_admin(relay)
    cookie = admin.cookies.get("tapflow_token")
    relay.stop()
    again = relay_factory(data_dir=tmp_path / "d")
    c = again.client()
    c.cookies.set("tapflow_token", cookie)
    assert c.get("/api/v1/auth/me").status_code == 200


def test_migrations_are_versioned_and_idempotent(tmp_path):
    db = open_database(tmp_path / "relay.db")
    assert migrations.migrate(db) == [m[0] for m in migrations.MIGRATIONS]
    assert migrations.migrate(db) == []
    assert migrations.current_version(db) == migrations.latest_version()
    raw = sqlite3.connect(tmp_path / "relay.db")
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "api_tokens", "invitations", "password_resets", "settings"} <= tables
    db.close()


def test_foreign_keys_are_enforced(relay, admin, member):
    from relay.models import ApiToken
    qa = member("QA")
    qa.post("/api/v1/tokens", json={"name": "t"})
    qa_id = qa.get("/api/v1/auth/me").json()["id"]
    assert ApiToken.select().where(ApiToken.user == qa_id).count() == 1
    assert admin.delete(f"/api/v1/team/members/{qa_id}").status_code == 204
    assert ApiToken.select().where(ApiToken.user == qa_id).count() == 0  # cascaded
