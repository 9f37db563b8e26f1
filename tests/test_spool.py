"""Spools: uploads written to tmp/ while hashed, whatever their size."""
import hashlib
import os

import pytest

from relay.spool import Spool


@pytest.mark.parametrize("size, chunk", [(0, 1), (1000, 7), (10 * 1024 * 1024 + 3, 65536),
                                         (9 * 1024 * 1024, 4 * 1024 * 1024),
                                         (70 * 1024 * 1024 + 5, 1024 * 1024)])  # past 2 writebacks
def test_hash_and_size_match_what_was_written(tmp_path, size, chunk):
    data = os.urandom(size)
    spool = Spool(tmp_path)
    for i in range(0, size, chunk):
        spool.write(data[i:i + chunk])
    assert spool.size == size
    assert spool.sha256 == hashlib.sha256(data).hexdigest()
    assert spool.sha256 == hashlib.sha256(data).hexdigest()  # asking twice is fine
    spool.commit(tmp_path / "kept" / "file.bin")
    assert (tmp_path / "kept" / "file.bin").read_bytes() == data
    spool.discard()
    assert (tmp_path / "kept" / "file.bin").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]


def test_discard_removes_an_uncommitted_spool(tmp_path):
    spool = Spool(tmp_path)
    spool.write(os.urandom(6 * 1024 * 1024))  # large enough to have started the hashing thread
    spool.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_reused_write_buffer_does_not_change_the_hash(tmp_path):
    """A caller may refill its buffer after write() returns, while the hashing thread still
    holds the batch."""
    buf = bytearray(1024 * 1024)
    expected = hashlib.sha256()
    spool = Spool(tmp_path)
    for i in range(12):
        buf[:] = bytes([i]) * len(buf)
        spool.write(buf)
        expected.update(buf)
    assert spool.sha256 == expected.hexdigest()
    spool.discard()


def test_sync_then_commit_keeps_everything(tmp_path):
    spool = Spool(tmp_path)
    spool.write(b"a" * 1000)
    spool.sync()
    spool.write(b"b" * 1000)  # written after a sync: commit syncs again
    spool.commit(tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == b"a" * 1000 + b"b" * 1000
