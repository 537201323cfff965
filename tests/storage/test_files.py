"""Staging files: what is written is what is hashed, however it arrives."""

from __future__ import annotations

import errno
import hashlib
import os
import random
from pathlib import Path

import pytest

from appliance.storage import files
from appliance.storage.files import MediaStore, StagedFile, StagingWriter


def test_what_is_written_in_pieces_is_what_is_hashed(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    store.prepare_blocking()
    data = random.Random(3).randbytes(3_000_000)
    pieces: list[bytes | memoryview] = [data[:10], memoryview(data)[10:70_000], b"", data[70_000:2_000_000]]
    pieces += [memoryview(data)[i:i + 1] for i in range(2_000_000, 2_002_000)]
    pieces.append(data[2_002_000:])
    writer = store.new_staging_writer_blocking()
    for piece in pieces:
        writer.write_blocking(piece)
    staged = writer.finish_blocking()
    assert staged.size == len(data)
    assert staged.sha1 == hashlib.sha1(data).digest()
    assert staged.path.read_bytes() == data


def _record_writeback(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The (offset, count) of every writeback started; the real call still runs (this is Linux)."""
    started: list[tuple[int, int]] = []
    real = files._start_writeback

    def recording(fd: int, offset: int, count: int) -> None:
        started.append((offset, count))
        real(fd, offset, count)

    monkeypatch.setattr(files, "_start_writeback", recording)
    return started


def test_a_long_upload_is_sent_on_to_the_disk_while_it_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writeback starts every WRITE_BEHIND_BYTES, over exactly the bytes not yet handed on, so the fsync at
    the end finds little left, and the file is still what was sent."""
    started = _record_writeback(monkeypatch)
    store = MediaStore(tmp_path)
    store.prepare_blocking()
    data = random.Random(5).randbytes(2 * files.WRITE_BEHIND_BYTES + 3_000_000)
    writer = store.new_staging_writer_blocking()
    for offset in range(0, len(data), 1_000_000):
        writer.write_blocking(memoryview(data)[offset:offset + 1_000_000])
    staged = writer.finish_blocking()
    assert files._SYNC_FILE_RANGE is not None
    assert len(started) == 2
    assert started[0][0] == 0 and all(count >= files.WRITE_BEHIND_BYTES for _, count in started)
    assert started[1][0] == sum(started[0])  # contiguous: nothing handed on twice, nothing skipped
    assert staged.sha1 == hashlib.sha1(data).digest() and staged.path.read_bytes() == data


def test_without_sync_file_range_an_upload_is_written_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "_SYNC_FILE_RANGE", None)
    store = MediaStore(tmp_path)
    store.prepare_blocking()
    data = random.Random(6).randbytes(files.WRITE_BEHIND_BYTES + 1)
    writer = store.new_staging_writer_blocking()
    writer.write_blocking(data)
    staged = writer.finish_blocking()
    assert staged.sha1 == hashlib.sha1(data).digest() and staged.path.read_bytes() == data


def _copy_in_all(writer: StagingWriter, source: Path, chunk: int) -> None:
    buffer = bytearray(64 * 1024)
    with open(source, "rb", buffering=0) as handle:
        while True:
            count = writer.copy_in_blocking(handle.fileno(), chunk, buffer)
            assert count is not None
            if not count:
                return


def _kernel_copied(tmp_path: Path, seed: int, size: int, chunk: int) -> tuple[bytes, StagedFile]:
    """`size` random bytes in a source file, copied into staging by the kernel `chunk` bytes at a time."""
    store = MediaStore(tmp_path / "data")
    store.prepare_blocking()
    data = random.Random(seed).randbytes(size)
    source = tmp_path / "card.jpg"
    source.write_bytes(data)
    writer = store.new_staging_writer_blocking()
    _copy_in_all(writer, source, chunk)
    return data, writer.finish_blocking()


def test_kernel_copies_store_and_hash_the_bytes_of_the_source(tmp_path: Path) -> None:
    # a size that is not a multiple of the chunk, chunks that are not multiples of the page size
    data, staged = _kernel_copied(tmp_path, 5, 2_500_001, 1_000_000)
    assert (staged.size, staged.sha1) == (len(data), hashlib.sha1(data).digest())
    assert staged.path.read_bytes() == data


def test_a_batch_copy_hands_every_byte_to_the_disk_before_the_group_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kernel copies write behind as uploads do, and a deferred finish starts the rest: the group's one
    sync then waits for little. The ranges cover the file once, in order."""
    started = _record_writeback(monkeypatch)
    store = MediaStore(tmp_path / "data")
    store.prepare_blocking()
    data = random.Random(8).randbytes(files.WRITE_BEHIND_BYTES * 2 + 12_345)
    source = tmp_path / "MVI_0001.MP4"
    source.write_bytes(data)
    writer = store.new_staging_writer_blocking()
    _copy_in_all(writer, source, 4 * 1024 * 1024)
    staged = writer.finish_deferred_blocking()
    assert not staged.durable and staged.sha1 == hashlib.sha1(data).digest()
    assert [offset for offset, _ in started] == [0, *[sum(r) for r in started[:-1]]]
    assert sum(count for _, count in started) == len(data)
    assert len(started) == 3  # two full steps, then the rest at the finish


def test_a_staging_file_that_cannot_be_mapped_is_hashed_by_reading_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copied bytes are hashed through a read-only mapping of the page cache; a filesystem without mmap
    (some FUSE mounts) is read back instead, with the same result."""

    def no_mmap(*args: object, **kwargs: object) -> object:
        raise OSError(errno.ENODEV, "no mmap here")

    monkeypatch.setattr(files.mmap, "mmap", no_mmap)
    data, staged = _kernel_copied(tmp_path, 6, 1_300_007, 300_001)
    assert (staged.size, staged.sha1) == (len(data), hashlib.sha1(data).digest())


def test_originals_are_filed_by_owner_year_and_month_taken() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    taken = datetime(2024, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))  # 2025-01-01 01:30 UTC
    assert MediaStore.original_relative("owner", "id", ".jpg", taken) == "library/owner/2025/01/id.jpg"
    assert MediaStore.original_relative("o", "i", ".xmp", datetime(987, 5, 1, tzinfo=UTC)) == "library/o/0987/05/i.xmp"
    assert MediaStore.original_relative("o", "i", ".jpg", datetime(2024, 12, 31, 23, 30)) == "library/o/2024/12/i.jpg"


def test_without_copy_file_range_the_kernel_copy_falls_back_to_sendfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Across filesystems (a FAT card to the data disk) copy_file_range answers EXDEV: sendfile copies."""

    def cross_device(*args: object) -> int:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "copy_file_range", cross_device)
    data, staged = _kernel_copied(tmp_path, 6, 300_000, 100_000)
    assert (staged.size, staged.sha1) == (len(data), hashlib.sha1(data).digest())
    assert staged.path.read_bytes() == data


def test_a_kernel_that_cannot_copy_leaves_nothing_copied_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(*args: object) -> int:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    monkeypatch.setattr(os, "copy_file_range", unsupported)
    monkeypatch.setattr(os, "sendfile", unsupported)
    store = MediaStore(tmp_path / "data")
    store.prepare_blocking()
    source = tmp_path / "card.jpg"
    source.write_bytes(b"x" * 1000)
    writer = store.new_staging_writer_blocking()
    with open(source, "rb", buffering=0) as handle:
        assert writer.copy_in_blocking(handle.fileno(), 4096, bytearray(1024)) is None
        assert handle.tell() == 0
    writer.write_blocking(b"x" * 1000)
    assert writer.finish_blocking().sha1 == hashlib.sha1(b"x" * 1000).digest()


def test_a_read_error_in_a_kernel_copy_is_raised_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pulled card fails the copy with EIO/ENOTCONN: the caller sees that error, not a fallback."""

    def pulled(*args: object) -> int:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "copy_file_range", pulled)
    store = MediaStore(tmp_path / "data")
    store.prepare_blocking()
    source = tmp_path / "card.jpg"
    source.write_bytes(b"x" * 1000)
    writer = store.new_staging_writer_blocking()
    with open(source, "rb", buffering=0) as handle, pytest.raises(OSError) as caught:
        writer.copy_in_blocking(handle.fileno(), 4096, bytearray(1024))
    assert caught.value.errno == errno.EIO
    writer.abort_blocking()
    assert not writer.path.exists()
