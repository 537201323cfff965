"""Copying a file from disk (a card, a folder) into staging, hashed as it is stored: the first half of
ingesting it. `IngestService` does the second half (the checks, the commit).

Kept apart from `ingest.py`, and light on imports, so `shoebox import` can start copying before the rest
of Shoebox (asyncio, the database, the services: most of a small import's start-up) has been imported.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Callable
from pathlib import Path

from appliance.errors import BadRequest, InsufficientStorage
from appliance.storage.files import DiskFullError, MediaStore, StagedFile

COPY_CHUNK = 1024 * 1024
KERNEL_CHUNK = 4 * 1024 * 1024  # bytes copied by the kernel between stop checks


class ImportStopped(Exception):
    """A copy from disk was asked to stop (the card is being removed, the import cancelled)."""


class Stager:
    """Copies files into the data folder's staging area (blocking: call it from a thread)."""

    def __init__(self, store: MediaStore, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes

    def stage_path_blocking(
        self, source: Path, sidecar: Path | None = None, *, stop: threading.Event | None = None,
        progress: Callable[[int], None] | None = None, batch: bool = False, buffer: bytearray | None = None,
    ) -> tuple[StagedFile, StagedFile | None]:
        """The staged file and its sidecar's. `buffer`: the calling thread's own, reused from file to file.
        `batch`: no fsync per file (the group commit syncs once). Nothing is left in staging if it raises."""
        staged = self.copy_blocking(source, stop, progress, not batch, buffer)
        if sidecar is None:
            return staged, None
        try:
            return staged, self.copy_blocking(sidecar, stop, None, not batch, buffer)
        except BaseException:
            staged.path.unlink(missing_ok=True)
            raise

    def copy_blocking(
        self, source: Path, stop: threading.Event | None = None, progress: Callable[[int], None] | None = None,
        durable: bool = True, buffer: bytearray | None = None,
    ) -> StagedFile:
        """One file into staging: copied by the kernel where it can, hashed as stored; `stop` ends it between
        chunks with `ImportStopped`; `progress` gets each chunk's size."""
        writer = self.store.new_staging_writer_blocking()
        try:
            # one reusable buffer, read straight into: no allocation per chunk, flat memory
            buffer = bytearray(COPY_CHUNK) if buffer is None else buffer
            view = memoryview(buffer)
            with open(source, "rb", buffering=0) as handle:
                with contextlib.suppress(OSError, AttributeError):
                    os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
                # a real file is copied by the kernel and hashed as stored; anything else through the buffer
                kernel = isinstance(handle, io.FileIO)
                while True:
                    if stop is not None and stop.is_set():
                        raise ImportStopped(f"stopped while copying {source}")
                    count = writer.copy_in_blocking(handle.fileno(), KERNEL_CHUNK, buffer) if kernel else None
                    if count is None:
                        kernel = False
                        count = handle.readinto(buffer)
                        if count:
                            writer.write_blocking(view[:count])
                    if not count:
                        break
                    if writer.size > self.max_bytes:
                        raise BadRequest("File too large")
                    if progress is not None:
                        progress(count)
            return writer.finish_blocking() if durable else writer.finish_deferred_blocking()
        except DiskFullError as err:
            writer.abort_blocking()
            raise InsufficientStorage("Not enough free disk space to store the file") from err
        except BaseException:
            writer.abort_blocking()
            raise
