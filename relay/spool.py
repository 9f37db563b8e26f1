"""Uploaded files stream into DATA_DIR/tmp while being hashed and counted; nothing large is held
in memory. A spool becomes a stored file only by an atomic rename into uploads/."""
import hashlib
import os
import queue
import secrets
import threading
from pathlib import Path

BATCH = 4 * 1024 * 1024  # bytes handed to the hashing thread at a time


class _Hasher:
    """SHA-256 of large files on a second thread, fed in 4 MB batches: hashlib releases the GIL,
    so hashing overlaps the parsing and writing of the upload instead of adding to it."""

    def __init__(self):
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            self._hash.update(batch)

    def update(self, data) -> None:
        self._pending.append(bytes(data))
        self._pending_size += len(data)
        if self._pending_size >= BATCH:
            if self._thread is None:
                self._queue = queue.Queue(4)
                self._thread = threading.Thread(target=self._run, daemon=True, name="spool-hash")
                self._thread.start()
            self._queue.put(b"".join(self._pending))
            self._pending, self._pending_size = [], 0

    def hexdigest(self) -> str:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._pending:
            for chunk in self._pending:
                self._hash.update(chunk)
            self._pending, self._pending_size = [], 0
        return self._hash.hexdigest()


class Spool:
    """A writable, readable temporary file that hashes (SHA-256) and counts what is written."""

    def __init__(self, tmp_dir: Path):
        self.path = tmp_dir / f"{secrets.token_hex(16)}.part"
        self._file = open(self.path, "w+b")
        self._hash = _Hasher()
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
        self._hash.hexdigest()  # ends a hashing thread
        if not self._file.closed:
            self._file.close()
        if not self.committed:
            self.path.unlink(missing_ok=True)
