"""Blob storage on local disk. Keys are server-generated (`folder/<32 hex>.<ext>`), so no
user-supplied name ever reaches a filesystem path. Files land under tmp/ first and become
visible with an atomic rename into uploads/."""
import os
import re
import secrets
from pathlib import Path

KEY_RE = re.compile(r"\A[a-z]+/[0-9a-f]{32}\.[a-z0-9]{1,8}\Z")


class BlobStore:
    def __init__(self, data_dir: Path, folder: str = "uploads"):
        self.root = data_dir / folder
        self.tmp = data_dir / "tmp"

    def keys(self):
        """Every stored key with its path (for the orphan sweep)."""
        for path in self.root.glob("*/*"):
            key = f"{path.parent.name}/{path.name}"
            if KEY_RE.match(key):
                yield key, path

    def new_key(self, folder: str, ext: str) -> str:
        key = f"{folder}/{secrets.token_hex(16)}.{ext}"
        assert KEY_RE.match(key), key
        return key

    def path(self, key: str) -> Path | None:
        """The file for `key`, or None when the key is not one we could have made."""
        if not isinstance(key, str) or not KEY_RE.match(key):
            return None
        return self.root / key

    def put_bytes(self, folder: str, ext: str, data: bytes) -> str:
        key = self.new_key(folder, ext)
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp / f"{secrets.token_hex(16)}.part"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        return key

    def delete(self, key: str | None) -> None:
        path = self.path(key) if key else None
        if path is not None:
            path.unlink(missing_ok=True)
