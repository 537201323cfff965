"""`shoebox import PATH [--user EMAIL] [--album NAME]`: import a folder or a mounted drive by hand.

It opens the data folder's database itself, so it works with the server running or not (SQLite WAL lets
both write, one short transaction at a time). Same policy and resumability as card auto-import: a second
run skips what the first brought; Ctrl-C ends the session `interrupted` and the next run resumes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn, TextIO

from appliance.clock import Clock, utc_now
from appliance.config import Settings
from appliance.errors import ShoeboxError
from appliance.importer.events import Event
from appliance.importer.head_start import HeadStart, command_settings
from appliance.importer.service import ImportService, ImportSource
from appliance.library.access import AccessService
from appliance.library.albums import AlbumService
from appliance.library.ingest import IngestService
from appliance.storage.albums import AlbumRepository
from appliance.storage.assets import AssetRepository
from appliance.storage.db import Database
from appliance.storage.files import MediaStore
from appliance.storage.imports import ImportRepository
from appliance.storage.users import UserRepository

EXIT_CODES = {"completed": 0, "failed": 1, "interrupted": 3}


class Progress:
    """A one-line progress bar on a terminal; plain lines, at most every few seconds, otherwise."""

    def __init__(self, out: TextIO, *, tty: bool | None = None, every: float = 2.0) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.every = every
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, event: Event) -> None:
        session = event.get("session")
        if not isinstance(session, dict) or event.get("type") != "progress":
            return
        now = time.monotonic()
        if not self.tty and now - self._last < self.every:
            return
        self._last = now
        done = session["imported"] + session["duplicates"] + session["failed"]
        total = max(session["found"], 1)
        rate = (session["bytes"] + event.get("copying", 0)) / max(now - self.started, 1e-6) / 1e6
        text = (f"{done}/{session['found']} files, {session['imported']} new, {session['duplicates']} already there,"
                f" {session['failed']} failed, {session['bytes'] / 1e6:.0f} MB ({rate:.1f} MB/s)")
        if self.tty:
            width = 24
            filled = int(width * done / total)
            self.out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}\x1b[K")
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def build_import_service(settings: Settings, *, clock: Clock = utc_now) -> ImportService:
    """The part of the server's Services bundle an import uses, built from the same settings the same way
    as `appliance.services.build_services` (kept equal by a test), without loading the rest of the server:
    that would be a third of a short import's time."""
    # one reader: the session reads one thing at a time, and each reader connection (its thread, its
    # PRAGMAs) costs 2-3 ms of CPU to open (median of 12), while the copying runs beside it
    db = Database(settings.database_path, readers=1)
    users, assets = UserRepository(db), AssetRepository(db)
    ingest = IngestService(
        db, assets, users, MediaStore(settings.data_dir), clock,
        max_upload_bytes=settings.max_upload_bytes, min_free_bytes=settings.min_free_bytes,
    )
    albums = AlbumService(db, AlbumRepository(db), users, AccessService(db), clock)
    return ImportService(
        ingest, albums, users, ImportRepository(db), clock,
        user_email=settings.import_user_email, album_template=settings.import_album_template,
    )


async def import_folder(args: argparse.Namespace, out: TextIO = sys.stdout, head_start: HeadStart | None = None,
                        *, process_ends: bool = False) -> int:
    """`head_start`: the copy process `start_copying` forked for this command line (see head_start.py).
    `process_ends`: the process ends (`exit_now`) as soon as this returns, so a session that ran to its end
    leaves its database connections open for the exit to drop (see `_import_folder`)."""
    try:
        return await _import_folder(args, out, head_start, process_ends)
    finally:
        if head_start is not None:
            await head_start.close()  # after an early error, what it staged is removed


async def _import_folder(args: argparse.Namespace, out: TextIO, head_start: HeadStart | None,
                         process_ends: bool = False) -> int:
    settings = command_settings(args)
    path = Path(args.path)
    if not await asyncio.to_thread(path.is_dir):
        print(f"shoebox import: {path} is not a folder", file=sys.stderr)
        return 2
    imports = build_import_service(settings)
    db = imports.ingest.db
    # Not ingest.recover(): a running server may have uploads in staging right now.
    for folder in ("library", "thumbs", "encoded-video", "upload-tmp"):
        (settings.data_dir / folder).mkdir(parents=True, exist_ok=True)
    await db.open()
    stop = head_start.stop if head_start is not None else threading.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    progress = Progress(out)
    imports.events.listeners.append(progress)
    ran = False
    try:
        record = await imports.run(
            ImportSource.folder(path), user_email=getattr(args, "user", None), album=getattr(args, "album", None),
            stop=stop, head_start=head_start,
        )
        ran = True
    except ShoeboxError as err:
        print(f"shoebox import: {err.message}", file=sys.stderr)
        return 2
    finally:
        progress.close()
        if not (ran and process_ends):
            await db.close()
        # else the exit drops the connections, as SQLite is built to survive: every transaction is committed
        # and on the disk already (synchronous=FULL). Closing would add only a checkpoint, folding the WAL
        # into the database file: 13-17 ms, a third of a short import's tail, which the server's connections
        # (or the next import's) do in their time. A server running beside the import keeps the WAL anyway.
    album = f" into album {record.album_name!r}" if record.album_id else ""
    note = f"; {record.error}" if record.error else ""
    print(f"{record.state}: {record.found} found, {record.imported} imported{album}, {record.duplicates} already in "
          f"the library, {record.failed} failed ({record.bytes / 1e6:.1f} MB){note}", file=out)
    return EXIT_CODES.get(record.state, 1)


def run_import(args: argparse.Namespace, head_start: HeadStart | None = None, *, process_ends: bool = False) -> int:
    """`process_ends`: the caller ends the process with `exit_now` right after this returns."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(import_folder(args, head_start=head_start, process_ends=process_ends))


def exit_now(code: int) -> NoReturn:
    """End the `shoebox import` process without tearing the interpreter down (freeing every module and
    object took tens of milliseconds, a good part of a small import): every transaction is committed, every
    file written is closed and synced, the copy process has ended; only the output is left to flush."""
    import logging
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
