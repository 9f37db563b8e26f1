"""Backups: one tar holding a consistent database snapshot (SQLite's online backup), every stored
file, the secrets and settings, and a manifest with each file's size and SHA-256.

Restore verifies every checksum into a staging folder beside the target and only then moves it
into place, so a damaged archive changes nothing.
"""
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path, PurePosixPath

from relay import __version__, datadir, migrations

MANIFEST = "manifest.json"
FOLDERS = ("uploads", "recordings")
LOOSE_FILES = ("secret_key", "ota_signing_key.pem", "relay.toml")
CHUNK = 1024 * 1024


class BackupError(Exception):
    """Something the person running backup or restore must fix; the message says what."""


class _Hashing(io.RawIOBase):
    """Reads a file for tarfile while hashing it: one pass over every stored byte."""

    def __init__(self, fh):
        self._fh, self.hash = fh, hashlib.sha256()

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._fh.read(len(buffer))
        self.hash.update(data)
        buffer[:len(data)] = data
        return len(data)


def _snapshot(db_path: Path, target: Path) -> None:
    """A transactionally consistent copy, safe while the server is writing."""
    source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()


def _add(tar: tarfile.TarFile, name: str, path: Path, manifest: dict) -> None:
    with open(path, "rb") as fh:
        info = tar.gettarinfo(fileobj=fh, arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        hashing = _Hashing(fh)
        tar.addfile(info, io.BufferedReader(hashing, CHUNK))
    manifest["files"][name] = {"size": info.size, "sha256": hashing.hash.hexdigest()}


def stored_files(data_dir: Path):
    for folder in FOLDERS:
        root = data_dir / folder
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(data_dir).as_posix(), path
    for name in LOOSE_FILES:
        if (data_dir / name).is_file():
            yield name, data_dir / name


def create(data_dir: Path, out: Path) -> dict:
    """Write the backup archive to `out`; returns its manifest."""
    if not (data_dir / "relay.db").exists():
        raise BackupError(f"no relay database in {data_dir}")
    manifest = {"format": 1, "relay": __version__, "created_at": int(time.time()), "files": {}}
    partial = out.with_name(out.name + ".partial")
    with tempfile.TemporaryDirectory(dir=data_dir / "tmp") as work:
        snapshot = Path(work) / "relay.db"
        _snapshot(data_dir / "relay.db", snapshot)
        manifest["schema_version"] = sqlite3.connect(snapshot).execute("PRAGMA user_version").fetchone()[0]
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, "relay.db", snapshot, manifest)
            for name, path in stored_files(data_dir):
                try:
                    _add(tar, name, path, manifest)
                except FileNotFoundError:
                    continue  # deleted since the snapshot: the snapshot may still name it
            body = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(body), manifest["created_at"]
            tar.addfile(info, io.BytesIO(body))
    os.replace(partial, out)
    return manifest


def _safe_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"refusing unsafe path in archive: {name!r}")
    allowed = name in ("relay.db", MANIFEST, *LOOSE_FILES) or path.parts[0] in FOLDERS
    if not allowed:
        raise BackupError(f"unexpected file in archive: {name!r}")
    return name


def _extract(archive: Path, staging: Path) -> tuple[dict, dict]:
    """Unpack regular files into `staging`, hashing them; (manifest, what was found)."""
    found, manifest = {}, None
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = _safe_name(member.name)
                if not member.isfile():
                    raise BackupError(f"refusing non-regular entry in archive: {name!r}")
                source = tar.extractfile(member)
                if name == MANIFEST:
                    manifest = json.loads(source.read(16 * CHUNK))
                    continue
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with open(target, "wb") as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                found[name] = {"size": member.size, "sha256": digest.hexdigest()}
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise BackupError(f"{archive} is not a readable Relay backup ({exc})") from None
    if manifest is None:
        raise BackupError(f"{archive} has no manifest: not a Relay backup, or cut short")
    return manifest, found


def _verify(manifest: dict, found: dict) -> None:
    expected = manifest.get("files", {})
    missing = sorted(set(expected) - set(found))
    if missing:
        raise BackupError(f"backup is missing {len(missing)} file(s), e.g. {missing[0]}")
    for name, meta in found.items():
        if expected.get(name) != meta:
            raise BackupError(f"checksum mismatch for {name}: the backup is damaged")
    if manifest.get("schema_version", 0) > migrations.latest_version():
        raise BackupError("this backup comes from a newer Relay; upgrade before restoring it")


def restore(archive: Path, data_dir: Path, force: bool = False) -> dict:
    """Verify `archive` and make it the contents of `data_dir`; returns the manifest."""
    if not archive.is_file():
        raise BackupError(f"no such file: {archive}")
    if datadir.in_use(data_dir):
        raise BackupError(f"a running relay uses {data_dir}; stop it before restoring")
    if (data_dir / "relay.db").exists() and not force:
        raise BackupError(f"{data_dir} already holds a relay; use --force to replace it "
                          "(the old one is kept beside it)")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".relay-restore-", dir=data_dir.parent))
    try:
        manifest, found = _extract(archive, staging)
        _verify(manifest, found)
        datadir.prepare(staging)
        for name in LOOSE_FILES:
            if (staging / name).exists():
                os.chmod(staging / name, 0o600)
        if data_dir.exists() and not any(data_dir.iterdir()):
            data_dir.rmdir()
        if data_dir.exists():
            aside = data_dir.with_name(f"{data_dir.name}.before-restore-{int(time.time())}")
            os.replace(data_dir, aside)
        os.replace(staging, data_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest
