"""The SQLite database: one proxy the models bind to, opened with WAL and foreign keys."""
from pathlib import Path

from peewee import DatabaseProxy, SqliteDatabase

database = DatabaseProxy()

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
    "cache_size": -16000,
}


# Raw SQL that hands a stored datetime (`YYYY-MM-DD HH:MM:SS[.ffffff]`) back as the API's ISO text
# (`2025-05-15T12:00:00.000Z`), milliseconds truncated as timeutil.iso does.
ISO_SQL = "substr({0},1,10)||'T'||substr({0},12,8)||'.'||substr({0}||'.000000',21,3)||'Z'"


def open_database(path: Path) -> SqliteDatabase:
    """Open (creating) the database file and point the models at it."""
    db = SqliteDatabase(str(path), pragmas=PRAGMAS)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    return db


def ensure_connected() -> None:
    """Each waitress worker thread keeps its own connection open for its lifetime."""
    database.connect(reuse_if_open=True)
