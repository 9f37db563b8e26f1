"""The data directory: its layout and the secrets generated into it (mode 0600)."""
import os
import secrets
from pathlib import Path

SUBDIRS = ("uploads", "recordings", "tmp")


def prepare(data_dir: Path) -> None:
    for name in ("", *SUBDIRS):
        (data_dir / name).mkdir(parents=True, exist_ok=True)


def write_private(path: Path, text: str) -> None:
    """Create `path` readable by the owner only, atomically replacing any old file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def read_or_create_secret(path: Path, make=lambda: secrets.token_hex(32)) -> str:
    if path.exists():
        return path.read_text().strip()
    value = make()
    write_private(path, value + "\n")
    return value


class InUse(Exception):
    """Another relay process is serving from this data directory."""


def lock(data_dir: Path):
    """Hold an exclusive lock on DATA_DIR/relay.lock for as long as the returned file stays open."""
    import fcntl
    fh = open(data_dir / "relay.lock", "a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise InUse(f"another relay is already using {data_dir}") from None
    return fh


def in_use(data_dir: Path) -> bool:
    if not (data_dir / "relay.lock").exists():
        return False
    try:
        lock(data_dir).close()
        return False
    except InUse:
        return True
