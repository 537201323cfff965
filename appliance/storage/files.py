"""Files on disk: the staging area and the library tree.

An upload is written to `upload-tmp/`, fsynced, and renamed into `library/` only when it is complete, so
a half-written file is never visible in the library. Staging is emptied at every start.

`shoebox import` loads this module before it forks its copy process (`importer/head_start.py`), so what
only the other process needs is imported where it is used (shutil, which loads three compressors) or not
at all (uuid, which loads `platform`; datetime): ~10 ms less before the copying can start.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import mmap
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, cast

from appliance.logs import logger

if TYPE_CHECKING:
    import shutil
    from datetime import datetime

log = logger(__name__)  # logging is imported at the first message (see appliance/logs.py)


class DiskFullError(OSError):
    pass


class StagedFile(NamedTuple):
    """A file written to staging, with its size and SHA-1 (a NamedTuple: no dataclasses before the import
    command's fork, see importer/policy.py)."""

    path: Path
    size: int
    sha1: bytes
    durable: bool = True  # False: written but not fsynced yet (a batch makes it durable with `sync_blocking`)


def _libc_function(name: str, *argtypes: type) -> Callable[..., int] | None:
    """A C library function (returning int, errno kept for `ctypes.get_errno`), or None where there is none."""
    try:
        function = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return cast("Callable[..., int]", function)


_SYNCFS = _libc_function("syncfs", ctypes.c_int)
_SYNC_FILE_RANGE = _libc_function("sync_file_range", ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>: start writeback of the range's dirty pages, don't wait for it
WRITE_BEHIND_BYTES = 8 * 1024 * 1024  # staged bytes are handed on to the disk in steps of this size


def _start_writeback(fd: int, offset: int, count: int) -> None:
    """Ask the kernel to start writing a range of a staged file to the disk now, without waiting for it.

    Without it, an upload's (or an import's) bytes sit in the page cache until its fsync or sync (the
    kernel's own writeback starts only at a tenth of the memory dirty, gigabytes on a big box): the disk
    idles while the bytes arrive and then the upload waits for all of it. Started as the bytes arrive, the
    disk works alongside the network and the fsync finds little left (measured: one 1 GB upload over
    loopback 2.7 s -> 2.0 s). Best effort: where the call does not exist the fsync does all the writing."""
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, offset, count, SYNC_FILE_RANGE_WRITE)


FUSE_SUPER_MAGIC = 0x65735546


def _filesystem_type(path: Path) -> int | None:
    """statfs(2)'s f_type (the first field, a C long), or None if it cannot be read."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buffer = ctypes.create_string_buffer(256)  # larger than struct statfs anywhere
        if libc.statfs(os.fsencode(path), buffer) != 0:
            return None
        return ctypes.c_ulong.from_buffer(buffer).value & 0xFFFFFFFF
    except (OSError, AttributeError):
        return None


def _syncfs(fd: int) -> None:
    assert _SYNCFS is not None
    if _SYNCFS(fd) != 0:
        code = ctypes.get_errno()
        if code == errno.ENOSPC:
            raise DiskFullError(errno.ENOSPC, "No space left on the device")
        raise OSError(code, os.strerror(code))


# errors meaning "the kernel cannot copy between these two files this way" (nothing was copied)
_NO_KERNEL_COPY = frozenset(
    code for code in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", None))
    if code is not None
)


def _kernel_copy(source_fd: int, out_fd: int, count: int) -> int | None:
    """Copy up to `count` bytes between the two files' positions in the kernel: copy_file_range (same
    filesystem; a reflink where the filesystem shares extents), else sendfile (across filesystems, e.g. a
    FAT card to the data disk). None if neither can copy between these files; OSError for real errors."""
    try:
        return os.copy_file_range(source_fd, out_fd, count)
    except OSError as err:
        if err.errno not in _NO_KERNEL_COPY:
            raise
    except AttributeError:  # not Linux
        pass
    try:
        return os.sendfile(out_fd, source_fd, None, count)
    except OSError as err:
        if err.errno not in _NO_KERNEL_COPY:
            raise
    except AttributeError:
        pass
    return None


_MAP_FLAGS = getattr(mmap, "MAP_SHARED", 0) | getattr(mmap, "MAP_POPULATE", 0)


def _hash_mapped(digest: hashlib._Hash, fd: int, offset: int, end: int) -> bool:
    """Hash bytes [offset, end) of a file straight from the page cache, through a read-only mapping: reading
    them back into a buffer first cost more CPU than the SHA-1 itself. False if the file can't be mapped
    (the caller reads it back instead)."""
    start = offset - offset % mmap.ALLOCATIONGRANULARITY
    try:
        mapped = mmap.mmap(fd, end - start, flags=_MAP_FLAGS, prot=mmap.PROT_READ, offset=start)
    except (OSError, ValueError, AttributeError):
        return False
    try:
        with memoryview(mapped) as view:
            digest.update(view[offset - start:])
    finally:
        mapped.close()
    return True


def _fsync_path(path: Path) -> None:
    """fsync a file or a folder by its path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_fsync_file = _fsync_dir = _fsync_path  # two names, so a test can tell which kind of sync was asked for


class StagingWriter:
    """Writes one incoming file to staging, hashing in the same pass. Blocking: call from a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._hash = hashlib.sha1()
        self._size = 0
        self._written_back = 0  # bytes before this offset have been handed to the disk (`_start_writeback`)
        # read and write: kernel copies read back what they stored, to hash it
        self._file = open(path, "xb+", buffering=0)  # noqa: SIM115 - closed in finish/abort

    @property
    def size(self) -> int:
        return self._size

    def write_blocking(self, data: bytes | memoryview) -> None:
        self._hash.update(data)
        try:
            view = memoryview(data)
            while view:
                written = self._file.write(view)
                view = view[written or 0 :]
        except OSError as err:
            if err.errno == errno.ENOSPC:
                raise DiskFullError(errno.ENOSPC, "No space left on the device") from err
            raise
        self._size += len(data)
        self._write_behind(WRITE_BEHIND_BYTES)

    def _write_behind(self, at_least: int) -> None:
        """Hand what was written since the last call to the disk once it is `at_least` bytes."""
        pending = self._size - self._written_back
        if pending >= max(at_least, 1):
            _start_writeback(self._file.fileno(), self._written_back, pending)
            self._written_back = self._size

    def copy_in_blocking(self, source_fd: int, count: int, buffer: bytearray) -> int | None:
        """Copy up to `count` bytes from `source_fd`'s position to the end of the staged file inside the
        kernel (copy_file_range, else sendfile: no trip through a user buffer, which costs several times
        more CPU than the copy itself), then hash those bytes as they were stored, read back from the page
        cache into `buffer`. Returns how many bytes (0 at the end of the source), or None, with nothing
        copied, if the kernel cannot copy between these two files (the caller copies through a buffer)."""
        out = self._file.fileno()
        try:
            copied = _kernel_copy(source_fd, out, count)
        except OSError as err:
            if err.errno == errno.ENOSPC:
                raise DiskFullError(errno.ENOSPC, "No space left on the device") from err
            raise
        if copied is None or not copied:
            return copied
        offset, end = self._size, self._size + copied
        if not _hash_mapped(self._hash, out, offset, end):
            self._hash_read_back(out, offset, end, buffer)
        self._size = end
        self._write_behind(WRITE_BEHIND_BYTES)
        return copied

    def _hash_read_back(self, fd: int, offset: int, end: int, buffer: bytearray) -> None:
        view = memoryview(buffer)
        while offset < end:
            got = os.preadv(fd, [view[: min(len(view), end - offset)]], offset)
            if got <= 0:
                raise OSError(errno.EIO, f"staged file {self.path} is shorter than what was copied into it")
            self._hash.update(view[:got])
            offset += got

    def finish_blocking(self) -> StagedFile:
        try:
            os.fsync(self._file.fileno())
        except OSError as err:
            if err.errno == errno.ENOSPC:
                raise DiskFullError(errno.ENOSPC, "No space left on the device") from err
            raise
        finally:
            self._file.close()
        return StagedFile(self.path, self._size, self._hash.digest())

    def abort_blocking(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)

    def finish_deferred_blocking(self) -> StagedFile:
        """Close the file without fsync: it is durable only after `MediaStore.sync_blocking()`; until then
        it must not be placed in the library."""
        try:
            self._write_behind(1)  # the rest: the group's sync then has little left to wait for
        finally:
            self._file.close()
        return StagedFile(self.path, self._size, self._hash.digest(), durable=False)


class MediaStore:
    """The data folder's file tree. Paths stored in the database are relative to `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / "upload-tmp"
        self._syncfs_ok: bool | None = None  # does syncfs make this data folder durable? (found on first use)

    def prepare_blocking(self) -> int:
        """Create the tree and empty staging (what a crash left there). Returns how many files were removed."""
        for folder in ("library", "thumbs", "encoded-video", "upload-tmp"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        import shutil

        removed = 0
        for leftover in self.staging.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            removed += 1
        if removed:
            log.info("removed %d unfinished upload(s) from staging", removed)
        return removed

    def new_staging_writer_blocking(self) -> StagingWriter:
        return StagingWriter(self.staging / f"{os.urandom(16).hex()}.part")  # as random as a uuid4

    def absolute(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"path escapes the data folder: {relative}")
        return path

    @staticmethod
    def original_relative(owner_id: str, asset_id: str, extension: str, taken: datetime) -> str:
        """`library/<owner>/<year>/<month>/<id>.<ext>`, by the date the file says it was taken (UTC) when it
        arrives: a card's photos land in a few folders (a folder per asset, as a hash-prefix layout has for
        its first tens of thousands, cost a directory inode and a mkdir per file), and the tree reads by
        date when the data folder is browsed over a share. Only new files use it: the stored path is what
        counts, so files placed under an earlier layout stay where they are."""
        month = taken.utctimetuple()  # in UTC if `taken` has a zone, else as it is
        return f"library/{owner_id}/{month.tm_year:04d}/{month.tm_mon:02d}/{asset_id}{extension}"

    def commit_blocking(self, staged: Path, relative: str, mtime: float | None = None) -> None:
        """Move a complete staged file to its library path: never overwrites, and durable once it returns."""
        final = self.absolute(relative)
        final.parent.mkdir(parents=True, exist_ok=True)
        if mtime is not None:
            os.utime(staged, (mtime, mtime))
        os.link(staged, final)  # fails if the target exists: originals are created exclusively
        staged.unlink()
        _fsync_dir(final.parent)

    def place_blocking(self, staged: Path, relative: str, mtime: float | None = None) -> Path:
        """`commit_blocking` without the directory fsync, for batches: the caller makes the new names
        durable with one `sync_blocking()` before anything refers to them. Returns the final path.

        `relative` is one of ours (`original_relative`), checked by its parts rather than resolved."""
        parts = relative.split("/")
        if relative.startswith("/") or any(part in ("", ".", "..") for part in parts) or parts[0] != "library":
            raise ValueError(f"not a library path: {relative}")
        final = self.root.joinpath(*parts)
        final.parent.mkdir(parents=True, exist_ok=True)
        if mtime is not None:
            os.utime(staged, (mtime, mtime))
        os.link(staged, final)  # fails if the target exists: originals are created exclusively
        staged.unlink()
        return final

    def sync_blocking(self, placed: Sequence[Path] = ()) -> None:
        """Make the files just placed (and their new names) durable, with everything else written to the
        data folder's filesystem: one `syncfs(2)` (one journal commit) instead of an fsync per file and per
        folder; it reports writeback errors (Linux 5.8+). Staging and the library are synced separately if
        they are on different filesystems. Where syncfs would not reach the disk (missing, or FUSE, whose
        syncfs most drivers ignore: mergerfs on a NAS), an fsync of each placed file and of its folders.
        """
        if not self._syncfs_reaches_disk():
            for path in placed:
                _fsync_file(path)
            folders = {folder for path in placed for folder in path.parents if folder.is_relative_to(self.root)}
            for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):  # deepest first
                _fsync_dir(folder)
            return
        devices: set[int] = set()
        for folder in (self.staging, self.root / "library"):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                device = os.fstat(fd).st_dev
                if device not in devices:
                    devices.add(device)
                    _syncfs(fd)
            finally:
                os.close(fd)

    def _syncfs_reaches_disk(self) -> bool:
        if self._syncfs_ok is None:
            self._syncfs_ok = _SYNCFS is not None and not any(
                _filesystem_type(folder) == FUSE_SUPER_MAGIC for folder in (self.staging, self.root / "library")
            )
        return self._syncfs_ok

    def remove_blocking(self, relative: str | None) -> None:
        if not relative:
            return
        try:
            self.absolute(relative).unlink(missing_ok=True)
        except (OSError, ValueError):
            log.warning("could not remove %s", relative, exc_info=True)

    def disk_usage(self) -> shutil._ntuple_diskusage:
        import shutil

        return shutil.disk_usage(self.root)
