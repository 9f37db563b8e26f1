"""Bounded reading of untrusted zip and tar.gz archives.

Nothing is extracted to disk and no entry name ever becomes a filesystem path: names are only
compared as strings. Every read stops at a limit counted while reading, because the sizes an
archive declares about itself are the attacker's to choose.
"""
import gzip
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from relay.core.inspect.base import (
    MAX_DIRECTORY_BYTES, MAX_ENTRIES, MAX_TAR_BYTES, MB, InvalidBuild,
)

CHUNK = 64 * 1024
EOCD = b"PK\x05\x06"
ZIP64_LOCATOR = b"PK\x06\x07"
ZIP64_EOCD = b"PK\x06\x06"
CENTRAL_ENTRY = b"PK\x01\x02"
TOO_MANY = f"has too many files (more than {MAX_ENTRIES:,})"
NOT_A_ZIP = "is not a valid zip archive (it may be damaged or incomplete)"
NOT_A_TAR = "The .tar.gz is not a valid gzip-compressed tar archive (it may be damaged or incomplete)"
TAR_TOO_LARGE = f"The .tar.gz is too large uncompressed (more than {MAX_TAR_BYTES // MB:,} MB)"
# Errors a damaged archive can raise from the standard library while we read it.
READ_ERRORS = (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, OSError,
               RuntimeError, NotImplementedError, ValueError, struct.error)


def read_limited(stream, limit: int, what: str) -> bytes:
    """Read a member in chunks and give up as soon as it passes `limit` (bombs inflate lazily)."""
    parts, total = [], 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise InvalidBuild(f"{what} is too large (more than {limit // MB} MB uncompressed)")
        parts.append(chunk)
    return b"".join(parts)


# ---- zip ----------------------------------------------------------------------------------

def open_zip(path: Path, label: str) -> zipfile.ZipFile:
    """Open a zip after counting its entries ourselves; `label` names the upload in messages."""
    try:
        with open(path, "rb") as f:
            count = _count_zip_entries(f, label)
        if count > MAX_ENTRIES:
            raise InvalidBuild(f"The {label} {TOO_MANY}")
        zf = zipfile.ZipFile(path)
    except InvalidBuild:
        raise
    except READ_ERRORS:
        raise InvalidBuild(f"The {label} {NOT_A_ZIP}") from None
    if len(zf.infolist()) > MAX_ENTRIES:  # the directory may hold more than its record claims
        zf.close()
        raise InvalidBuild(f"The {label} {TOO_MANY}")
    return zf


def _count_zip_entries(f, label: str) -> int:
    """Walk the central directory before zipfile builds an object per entry (millions = memory)."""
    f.seek(0, 2)
    size = f.tell()
    tail_len = min(size, 22 + 0xFFFF)  # end record + longest comment
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    pos = tail.rfind(EOCD)
    if pos < 0 or len(tail) - pos < 22:
        raise zipfile.BadZipFile("no end of central directory")
    end = size - tail_len + pos
    declared, dir_size = struct.unpack_from("<HI", tail, pos + 10)
    if pos >= 20 and tail[pos - 20:pos - 16] == ZIP64_LOCATOR:
        end, declared, dir_size = _zip64_directory(f, end)
    if dir_size > end:
        raise zipfile.BadZipFile("central directory out of range")
    if declared > MAX_ENTRIES or dir_size > MAX_DIRECTORY_BYTES:
        raise InvalidBuild(f"The {label} {TOO_MANY}")
    f.seek(end - dir_size)
    directory = f.read(dir_size)
    count = offset = 0
    while directory[offset:offset + 4] == CENTRAL_ENTRY and offset + 46 <= len(directory):
        name_len, extra_len, comment_len = struct.unpack_from("<3H", directory, offset + 28)
        offset += 46 + name_len + extra_len + comment_len
        count += 1
        if count > MAX_ENTRIES:
            break
    return count


def _zip64_directory(f, end: int) -> tuple[int, int, int]:
    """(where the directory ends, entries, directory size) from the ZIP64 end record."""
    record = end - 20 - 56  # the ZIP64 end record sits right before its locator
    if record < 0:
        raise zipfile.BadZipFile("bad zip64 record")
    f.seek(record)
    data = f.read(56)
    if data[:4] != ZIP64_EOCD:
        raise zipfile.BadZipFile("bad zip64 record")
    declared, dir_size = struct.unpack_from("<QQ", data, 32)
    return record, declared, dir_size


def read_zip_member(zf: zipfile.ZipFile, name: str, limit: int, what: str) -> bytes | None:
    """The member's bytes (at most `limit`), or None when the archive has no such member."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    try:
        with zf.open(info) as stream:
            return read_limited(stream, limit, what)
    except InvalidBuild:
        raise
    except READ_ERRORS:
        raise InvalidBuild(f"{what} could not be read: the archive is damaged or encrypted") from None


# ---- tar.gz -------------------------------------------------------------------------------

class _BudgetedGzip:
    """A forward-only gzip stream that refuses past a total size and refuses huge single reads.

    tarfile reads pax and GNU long-name headers whole, with one read of the size the header
    declares; capping single reads keeps a forged header from allocating gigabytes.
    """

    def __init__(self, path: Path):
        self._gz = gzip.open(path, "rb")
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > 16 * MB:
            raise InvalidBuild("The .tar.gz has an oversized entry header")
        self._take(size)
        data = self._gz.read(size)
        self._pos += len(data) - size  # fewer bytes at the end of the stream
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0 or offset < self._pos:
            raise OSError("a .tar.gz is read forwards only")
        self._take(offset - self._pos)
        self._gz.seek(offset)  # gzip seeks forward by inflating and discarding
        return self._pos

    def tell(self) -> int:
        return self._pos

    def _take(self, count: int) -> None:
        if self._pos + count > MAX_TAR_BYTES:
            raise InvalidBuild(TAR_TOO_LARGE)
        self._pos += count

    def close(self) -> None:
        self._gz.close()


def iter_tar(path: Path) -> Iterator[tuple[tuple[str, ...], tarfile.TarInfo, tarfile.TarFile]]:
    """Yield (name parts, member, archive) in stream order, refusing unsafe entries as they come.

    The caller may read a regular member with archive.extractfile(member) before the next step.
    """
    stream = _BudgetedGzip(path)
    try:
        with tarfile.open(fileobj=stream, mode="r:") as tar:
            for count, member in enumerate(_members(tar), start=1):
                if count > MAX_ENTRIES:
                    raise InvalidBuild(f"The .tar.gz {TOO_MANY}")
                # Budget the member's data before tarfile skips through it, so a bomb is refused
                # at its header instead of after inflating it.
                if member.offset_data + member.size > MAX_TAR_BYTES:
                    raise InvalidBuild(TAR_TOO_LARGE)
                parts = safe_tar_name(member)
                if parts:
                    yield parts, member, tar
    except InvalidBuild:
        raise
    except READ_ERRORS:
        raise InvalidBuild(NOT_A_TAR) from None
    finally:
        stream.close()


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while (member := tar.next()) is not None:
        tar.members.clear()  # tarfile keeps every member it has seen; we never look back
        yield member


def safe_tar_name(member: tarfile.TarInfo) -> tuple[str, ...]:
    """The member's name as parts ("." dropped), refusing links, devices, absolute and ".." names."""
    name = member.name
    if member.issym() or member.islnk():
        raise InvalidBuild(f"The .tar.gz contains a link ({name!r}); "
                           "archive the .app without symbolic or hard links")
    if not (member.isfile() or member.isdir()):
        raise InvalidBuild(f"The .tar.gz contains a special file ({name!r}); "
                           "only files and folders are allowed")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise InvalidBuild(f"The .tar.gz contains an absolute path ({name!r})")
    parts = tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))
    if ".." in parts:
        raise InvalidBuild(f"The .tar.gz contains a path that leaves the archive ({name!r})")
    return parts


def read_tar_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int, what: str) -> bytes:
    stream = tar.extractfile(member)
    if stream is None:
        raise InvalidBuild(f"{what} is not a regular file")
    return read_limited(stream, limit, what)
