"""Screen recordings: webm or mp4, kept 72 hours after upload."""
import re
from datetime import timedelta

from relay.core import builds
from relay.core.errors import Invalid, NotFound, TooLarge
from relay.db import database
from relay.models import Recording, User
from relay.spool import Spool
from relay.storage import BlobStore
from relay.timeutil import utcnow

TTL = timedelta(hours=72)
# Anchored with \A…\Z: "$" would also accept a trailing newline.
NAME_RE = re.compile(r"\A[0-9a-f]{32}\.(webm|mp4)\Z")
SESSION_RE = re.compile(r"\A[A-Za-z0-9._:-]{1,128}\Z")
MAX_ID = 2**63 - 1  # SQLite's largest integer; a larger id names no row
FOLDER = "videos"


def sniff(head: bytes) -> tuple[str, str] | None:
    """(extension, mime) from the file's first bytes; None when it is neither webm nor mp4."""
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm", "video/webm"
    if head[4:8] == b"ftyp":
        return "mp4", "video/mp4"
    return None


def save(store: BlobStore, spool: Spool, limit: int, uploader: User, session_id=None,
         build_id=None) -> Recording:
    if spool.size > limit:
        raise TooLarge(f"video must be at most {limit // (1024 * 1024)} MB")
    if session_id is not None and not SESSION_RE.fullmatch(session_id):
        raise Invalid("sessionId must be 1-128 letters, digits, '.', '_', ':' or '-'")
    if build_id is not None:
        if build_id > MAX_ID:
            raise NotFound("Build not found")
        builds.get(build_id)
    spool.seek(0)
    kind = sniff(spool.read(16))
    if kind is None:
        raise Invalid("video must be a webm or mp4 file")
    ext, mime = kind
    key = store.new_key(FOLDER, ext)
    spool.sync()
    now = utcnow()
    try:
        with database.atomic():
            rec = Recording.create(file_key=key, session_id=session_id, build=build_id,
                                   uploaded_by=uploader, file_size=spool.size, mime=mime,
                                   created_at=now, expires_at=now + TTL)
            spool.commit(store.root / key)
    except BaseException:
        store.delete(key)
        raise
    return rec


def name_of(rec: Recording) -> str:
    return rec.file_key.split("/", 1)[1]


def live(build_id: int | None = None) -> list[Recording]:
    query = Recording.select().where(Recording.expires_at > utcnow())
    if build_id is not None:
        if build_id > MAX_ID:
            return []
        query = query.where(Recording.build == build_id)
    return list(query.order_by(Recording.created_at.desc(), Recording.id.desc()))


def find_live(name: str) -> Recording:
    """The unexpired recording stored under `name`; NotFound for anything else."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise NotFound("Recording not found")
    rec = Recording.get_or_none(Recording.file_key == f"{FOLDER}/{name}")
    if rec is None or rec.expires_at <= utcnow():
        raise NotFound("Recording not found")
    return rec


def expire(store: BlobStore, now=None) -> int:
    """Delete recordings (rows and files) whose 72 hours are over."""
    expired = list(Recording.select().where(Recording.expires_at <= (now or utcnow())))
    for rec in expired:
        Recording.delete().where(Recording.id == rec.id).execute()
        store.delete(rec.file_key)
    return len(expired)
