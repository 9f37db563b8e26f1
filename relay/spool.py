"""Uploaded files stream into DATA_DIR/tmp while being hashed and counted; nothing large is held
in memory. A spool becomes a stored file only by an atomic rename into uploads/."""
import hashlib
import os
import queue
import secrets
import threading
from pathlib import Path

BATCH = 1024 * 1024  # bytes handed to the hashing thread at a time
WRITEBACK = 32 * 1024 * 1024  # bytes after which the disk write of what came so far is started


class _Hasher:
    """SHA-256 of large files on a second thread, fed in 1 MB batches: hashlib releases the GIL,
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
            pending = self._pending
            self._queue.put(pending[0] if len(pending) == 1 else b"".join(pending))
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
        self._written_back = 0
        self._synced = None
        self.committed = False

    def write(self, data) -> int:
        self._hash.update(data)
        self.size += len(data)
        written = self._file.write(data)
        if self.size - self._written_back >= WRITEBACK:
            self._start_writeback()
        return written

    def _start_writeback(self) -> None:
        """Have the kernel start writing what is spooled so far (without waiting for it), so the
        disk works while the upload is still arriving and the fsync at commit has little left."""
        if hasattr(os, "posix_fadvise"):  # Linux; elsewhere the fsync does it all
            self._file.flush()
            os.posix_fadvise(self._file.fileno(), self._written_back,
                             self.size - self._written_back, os.POSIX_FADV_DONTNEED)
        self._written_back = self.size

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def __getattr__(self, name):  # read, seek, tell, readline … of the underlying file
        return getattr(self._file, name)

    def sync(self) -> None:
        """Make what is spooled durable: the slow part of a commit, best done before taking the
        database's write lock (commit then finds nothing left to do)."""
        if self._synced != self.size:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._synced = self.size

    def commit(self, target: Path) -> None:
        """Make the complete file durable and move it to `target` (same filesystem)."""
        self.sync()
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
