"""Housekeeping jobs: plain functions, run by the scheduler in `serve` and callable from tests."""
import time
from datetime import timedelta

from relay.core import team_settings
from relay.models import (App, Build, CommentAttachment, Invitation, OtaBundle, OtaUpload,
                          PasswordReset, Recording, User)
from relay.storage import BlobStore
from relay.timeutil import utcnow

KEEP_DEAD_TOKENS = timedelta(days=1)  # a used or expired link still reads "expired" for a day
ORPHAN_AGE = 3600  # seconds; younger files may belong to a request still in flight

# Every column that holds a storage key: a stored file no row names is an orphan.
FILE_COLUMNS = [User.avatar, App.icon, Build.file_key, CommentAttachment.file_key,
                Recording.file_key, OtaBundle.file_key, OtaUpload.storage_key]


def purge_dead_links(now=None) -> int:
    """Delete invitations and password resets that expired or were used over a day ago."""
    cutoff = (now or utcnow()) - KEEP_DEAD_TOKENS
    removed = 0
    for model in (Invitation, PasswordReset):
        removed += model.delete().where((model.expires_at < cutoff) | (model.used_at < cutoff)).execute()
    return removed


def referenced_keys() -> set[str]:
    keys = {team_settings.logo_key()}
    for column in FILE_COLUMNS:
        keys.update(v for (v,) in column.model.select(column).where(column.is_null(False)).tuples())
    return keys


def sweep_orphans(stores: list[BlobStore], age: float = ORPHAN_AGE, now: float | None = None) -> int:
    """Remove stored files no row references, and leftovers in tmp/, once older than `age`."""
    cutoff = (now or time.time()) - age
    keys = referenced_keys()
    removed = 0
    for store in stores:
        for key, path in list(store.keys()):
            if key not in keys and _older(path, cutoff):
                path.unlink(missing_ok=True)
                removed += 1
    tmp = stores[0].tmp
    for path in list(tmp.iterdir()) if tmp.exists() else []:
        if path.is_file() and _older(path, cutoff):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _older(path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False
