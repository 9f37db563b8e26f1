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
