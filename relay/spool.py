"""Uploaded files stream into DATA_DIR/tmp while being hashed and counted; nothing large is held
in memory. A spool becomes a stored file only by an atomic rename into uploads/."""
import hashlib
import os
import secrets
from pathlib import Path


class Spool:
    """A writable, readable temporary file that hashes (SHA-256) and counts what is written."""

    def __init__(self, tmp_dir: Path):
        self.path = tmp_dir / f"{secrets.token_hex(16)}.part"
        self._file = open(self.path, "w+b")
        self._hash = hashlib.sha256()
        self.size = 0
        self.committed = False

    def write(self, data) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._file.write(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def __getattr__(self, name):  # read, seek, tell, readline … of the underlying file
        return getattr(self._file, name)

    def commit(self, target: Path) -> None:
        """Make the complete file durable and move it to `target` (same filesystem)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        self.committed = True

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        if not self.committed:
            self.path.unlink(missing_ok=True)
