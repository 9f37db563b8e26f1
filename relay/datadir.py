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
