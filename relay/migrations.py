"""Versioned schema migrations, applied in order at start-up; PRAGMA user_version records progress."""
from peewee import SqliteDatabase

# Each entry: (version, description, statements). Append only; never edit a released entry.
MIGRATIONS = [
    (1, "accounts, tokens, invitations, password resets, settings", [
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            avatar TEXT,
            role TEXT NOT NULL CHECK (role IN ('Admin','Developer','QA','Viewer')),
            session_gen INTEGER NOT NULL DEFAULT 0,
            created_at DATETIME NOT NULL
        )""",
        """CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            scope TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            last_used_at DATETIME,
            expires_at DATETIME,
            created_at DATETIME NOT NULL
        )""",
        "CREATE INDEX api_tokens_user ON api_tokens(user_id)",
        """CREATE TABLE invitations (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL COLLATE NOCASE,
            role TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            invited_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            expires_at DATETIME NOT NULL,
            used_at DATETIME,
            created_at DATETIME NOT NULL
        )""",
        """CREATE TABLE password_resets (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_hash TEXT NOT NULL UNIQUE,
            expires_at DATETIME NOT NULL,
            used_at DATETIME,
            created_at DATETIME NOT NULL
        )""",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)",
    ]),
    (2, "apps, builds, comments, recordings, agents", [
        """CREATE TABLE apps (
            id INTEGER PRIMARY KEY,
            uuid TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            bundle_id_key TEXT NOT NULL UNIQUE COLLATE NOCASE,
            platform TEXT NOT NULL CHECK (platform IN ('ios','android','both')),
            icon TEXT,
            created_at DATETIME NOT NULL
        )""",
        """CREATE TABLE builds (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            platform TEXT NOT NULL CHECK (platform IN ('ios','android')),
            bundle_id TEXT NOT NULL,
            version_name TEXT NOT NULL DEFAULT '',
            build_number TEXT NOT NULL DEFAULT '',
            display_name TEXT,
            min_os TEXT,
            version_label TEXT,
            status_label TEXT CHECK (status_label IN ('Backlog','In Progress','Done','Rejected')),
            file_key TEXT NOT NULL,
            file_name TEXT NOT NULL,
            file_size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            uploaded_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            uploaded_at DATETIME NOT NULL
        )""",
        "CREATE INDEX builds_app_uploaded ON builds(app_id, uploaded_at DESC, id DESC)",
        "CREATE INDEX builds_uploaded ON builds(uploaded_at DESC, id DESC)",
        "CREATE INDEX builds_status ON builds(status_label, uploaded_at DESC)",
        "CREATE INDEX builds_platform ON builds(platform, uploaded_at DESC)",
        "CREATE INDEX builds_version ON builds(version_name)",
        """CREATE TABLE comments (
            id INTEGER PRIMARY KEY,
            build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
            author_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            author_email TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at DATETIME NOT NULL
        )""",
        "CREATE INDEX comments_build ON comments(build_id, created_at)",
        """CREATE TABLE comment_attachments (
            id INTEGER PRIMARY KEY,
            comment_id INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
            file_key TEXT NOT NULL,
            mime TEXT NOT NULL
        )""",
        "CREATE INDEX attachments_comment ON comment_attachments(comment_id)",
        """CREATE TABLE recordings (
            id INTEGER PRIMARY KEY,
            file_key TEXT NOT NULL UNIQUE,
            session_id TEXT,
            build_id INTEGER REFERENCES builds(id) ON DELETE CASCADE,
            uploaded_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            file_size INTEGER NOT NULL,
            mime TEXT NOT NULL,
            created_at DATETIME NOT NULL,
            expires_at DATETIME NOT NULL
        )""",
        "CREATE INDEX recordings_expiry ON recordings(expires_at)",
        "CREATE INDEX recordings_build ON recordings(build_id)",
        """CREATE TABLE agents (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            platform TEXT,
            devices TEXT,
            cpu_percent REAL,
            mem_percent REAL,
            last_seen_at DATETIME NOT NULL
        )""",
        """CREATE TABLE agent_samples (
            id INTEGER PRIMARY KEY,
            agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
            recorded_at DATETIME NOT NULL,
            cpu_percent REAL NOT NULL,
            mem_percent REAL NOT NULL,
            folded INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX agent_samples_agent_time ON agent_samples(agent_id, recorded_at)",
    ]),
    (3, "over-the-air bundles, upload sessions, releases, lanes, device events", [
        """CREATE TABLE ota_bundles (
            id TEXT PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            version TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            min_native_build INTEGER,
            runtime_version TEXT,
            file_key TEXT NOT NULL,
            created_at DATETIME NOT NULL,
            UNIQUE (app_id, version)
        )""",
        "CREATE INDEX ota_bundles_app_created ON ota_bundles(app_id, created_at DESC)",
        """CREATE TABLE ota_uploads (
            id TEXT PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            version TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            min_native_build INTEGER,
            runtime_version TEXT,
            storage_key TEXT NOT NULL,
            received_size INTEGER,
            received_sha256 TEXT,
            bundle_id TEXT REFERENCES ota_bundles(id) ON DELETE SET NULL,
            expires_at DATETIME NOT NULL,
            created_at DATETIME NOT NULL
        )""",
        "CREATE INDEX ota_uploads_expiry ON ota_uploads(expires_at)",
        """CREATE TABLE ota_releases (
            id TEXT PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            channel TEXT,
            runtime_version TEXT,
            bundle_id TEXT NOT NULL REFERENCES ota_bundles(id),
            force_immediate INTEGER NOT NULL DEFAULT 0,
            promoted_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            promoted_at DATETIME NOT NULL,
            reverted_at DATETIME
        )""",
        "CREATE INDEX ota_releases_app_time ON ota_releases(app_id, promoted_at DESC)",
        """CREATE TABLE ota_lanes (
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            channel_key TEXT NOT NULL,
            runtime_key TEXT NOT NULL,
            release_id TEXT REFERENCES ota_releases(id),
            manifest TEXT,
            etag TEXT,
            updated_at DATETIME NOT NULL,
            PRIMARY KEY (app_id, channel_key, runtime_key)
        )""",
        """CREATE TABLE ota_events (
            id INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            release_id TEXT,
            action TEXT NOT NULL,
            platform TEXT NOT NULL,
            bundle_version TEXT NOT NULL,
            channel TEXT,
            runtime_version TEXT,
            native_build TEXT,
            detail TEXT,
            sent_at TEXT,
            received_at DATETIME NOT NULL,
            UNIQUE (app_id, event_id)
        )""",
        "CREATE INDEX ota_events_release ON ota_events(release_id, action)",
    ]),
]


def current_version(db: SqliteDatabase) -> int:
    return db.execute_sql("PRAGMA user_version").fetchone()[0]


def migrate(db: SqliteDatabase) -> list[int]:
    """Apply pending migrations; safe to call on every start and from concurrent processes."""
    applied = []
    with db.atomic("IMMEDIATE"):
        version = current_version(db)
        for number, _description, statements in MIGRATIONS:
            if number <= version:
                continue
            for sql in statements:
                db.execute_sql(sql)
            db.execute_sql(f"PRAGMA user_version = {int(number)}")
            applied.append(number)
    return applied


def latest_version() -> int:
    return MIGRATIONS[-1][0]
