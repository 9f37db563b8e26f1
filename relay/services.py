"""Everything a running relay holds: its settings, database, storage and helpers."""
from dataclasses import dataclass, field
from pathlib import Path

from peewee import SqliteDatabase

from relay import datadir, migrations
from relay.config import Config
from relay.core.mail import Mailer
from relay.core.ratelimit import FailureLimiter, WindowLimiter
from relay.core.sessions import SessionCodec
from relay.db import open_database
from relay.logbuffer import RingBuffer
from relay.storage import BlobStore


@dataclass
class Services:
    config: Config
    db: SqliteDatabase
    store: BlobStore
    recordings: BlobStore
    sessions: SessionCodec
    mailer: Mailer
    logs: RingBuffer
    base_url: str
    secret: str = ""
    login_failures: FailureLimiter = field(default_factory=FailureLimiter)
    ota_events: WindowLimiter = field(default_factory=lambda: WindowLimiter(6000, 60.0))
    _signer: object = None

    @property
    def signer(self):
        """The OTA manifest signing key, generated into the data directory on first use."""
        if self._signer is None:
            from relay.core.ota.signing import load_signer
            self._signer = load_signer(self.config.data_dir, self.config.ota_signing_key)
        return self._signer

    def remove_files(self, upload_keys=(), recording_keys=()) -> None:
        """Delete stored files once the rows naming them are gone (a crash in between leaves
        orphans for the sweep, never rows without files)."""
        for key in upload_keys:
            self.store.delete(key)
        for key in recording_keys:
            self.recordings.delete(key)

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    @property
    def setup_code_path(self) -> Path:
        return self.config.data_dir / "setup_code"


def secret_key(config: Config) -> str:
    return config.secret_key or datadir.read_or_create_secret(config.data_dir / "secret_key")


def base_url(config: Config) -> str:
    """Links in mail come from the configured public URL, never from a request's Host header."""
    if config.public_url:
        return config.public_url.rstrip("/")
    from relay.netinfo import urls
    local, lan = urls(config.host, config.port)
    return lan[0] if lan else local


def open_services(config: Config, logs: RingBuffer) -> Services:
    datadir.prepare(config.data_dir)
    db = open_database(config.data_dir / "relay.db")
    migrations.migrate(db)
    secret = secret_key(config)
    return Services(config=config, db=db, store=BlobStore(config.data_dir),
                    recordings=BlobStore(config.data_dir, "recordings"), secret=secret,
                    sessions=SessionCodec(secret), mailer=Mailer(config),
                    logs=logs, base_url=base_url(config))
