"""Files on disk: the staging area and the library tree.

An upload is written to `upload-tmp/`, fsynced, and renamed into `library/` only when it is complete, so
a half-written file is never visible in the library. Staging is emptied at every start.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
_IOV_MAX = 1024  # buffers one writev takes at most (Linux's UIO_MAXIOV)


class DiskFullError(OSError):
    pass


@dataclass
class StagedFile:
    path: Path
    size: int
    sha1: bytes


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StagingWriter:
    """Writes one incoming file to staging, hashing in the same pass. Blocking: call from a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._hash = hashlib.sha1()
        self._size = 0
        self._file = open(path, "xb", buffering=0)  # noqa: SIM115 - closed in finish/abort

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

    def write_many_blocking(self, chunks: Sequence[bytes | memoryview]) -> None:
        """Hash and write several buffers with one `writev`: no joining copy, one system call."""
        for chunk in chunks:
            self._hash.update(chunk)
        views = [memoryview(chunk) for chunk in chunks if len(chunk)]
        try:
            while views:
                written = os.writev(self._file.fileno(), views[:_IOV_MAX])
                self._size += written
                while views and written >= len(views[0]):
                    written -= len(views[0])
                    views.pop(0)
                if written:
                    views[0] = views[0][written:]
        except OSError as err:
            if err.errno == errno.ENOSPC:
                raise DiskFullError(errno.ENOSPC, "No space left on the device") from err
            raise

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


class MediaStore:
    """The data folder's file tree. Paths stored in the database are relative to `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / "upload-tmp"

    def prepare_blocking(self) -> int:
        """Create the tree and empty staging (what a crash left there). Returns how many files were removed."""
        for folder in ("library", "thumbs", "encoded-video", "upload-tmp"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
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
        return StagingWriter(self.staging / f"{uuid.uuid4().hex}.part")

    def absolute(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"path escapes the data folder: {relative}")
        return path

    @staticmethod
    def original_relative(owner_id: str, asset_id: str, extension: str) -> str:
        return f"library/{owner_id}/{asset_id[0:2]}/{asset_id[2:4]}/{asset_id}{extension}"

    def commit_blocking(self, staged: Path, relative: str, mtime: float | None = None) -> None:
        """Move a complete staged file to its library path: never overwrites, and durable once it returns."""
        final = self.absolute(relative)
        final.parent.mkdir(parents=True, exist_ok=True)
        if mtime is not None:
            os.utime(staged, (mtime, mtime))
        os.link(staged, final)  # fails if the target exists: originals are created exclusively
        staged.unlink()
        _fsync_dir(final.parent)

    def remove_blocking(self, relative: str | None) -> None:
        if not relative:
            return
        try:
            self.absolute(relative).unlink(missing_ok=True)
        except (OSError, ValueError):
            log.warning("could not remove %s", relative, exc_info=True)

    def disk_usage(self) -> shutil._ntuple_diskusage:
        return shutil.disk_usage(self.root)
