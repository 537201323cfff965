"""`shoebox import`'s head start: the walk of the source and the copier threads start as soon as the
command line is read, while the rest of Shoebox (asyncio, the database, the services) is imported and the
database opened. On a small board that start-up is a good part of a card's import; here the copying and
hashing run beside it on the other cores.

The threads copy into staging only, exactly as a session's own copier does; the session (`ImportService.run`)
takes them over and decides everything else: the owner, what this source brought before (the copier
skips those as soon as the database has said so, and drops any it copied before), the commits. This module
imports only what copying needs.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.config import Settings, load_settings
from appliance.importer.copier import THREADS, WINDOW, Copier
from appliance.importer.policy import Limits, ScanResult, files_to_copy, scan_blocking
from appliance.library.staging import Stager
from appliance.storage.files import MediaStore

if TYPE_CHECKING:
    from appliance.storage.imports import KnownFile


class HeadStart:
    """The walk of `root`, then a copier over what it found, started in a thread of their own."""

    def __init__(self, root: Path, data_dir: Path, max_bytes: int, *, limits: Limits | None = None,
                 threads: int = THREADS, window: int = WINDOW) -> None:
        self.root = root
        self.stop = threading.Event()  # the session's: set by Ctrl-C once the session runs
        self.known: dict[str, KnownFile] = {}  # by relpath: filled by the session from the database
        store = MediaStore(data_dir)
        self.copier = Copier(Stager(store, max_bytes), self.stop, threads=threads, window=window)
        self._limits = limits or Limits()
        self._staging = store.staging
        self._scan: ScanResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._walk_then_copy, name="import-walk", daemon=True)

    def start(self) -> HeadStart:
        self._thread.start()
        return self

    def scan_blocking(self) -> ScanResult:
        """What the walk found (waits for it), or its error."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._scan is not None
        return self._scan

    async def close(self) -> None:
        """Stop the copier threads and remove what they staged and nobody took (idempotent)."""
        import asyncio

        await asyncio.to_thread(self._thread.join)
        await self.copier.close()

    def _walk_then_copy(self) -> None:
        try:
            self._staging.mkdir(parents=True, exist_ok=True)
            self._scan = scan_blocking(self.root, self._limits)
        except BaseException as err:  # the session reports it, as it would its own walk's
            self._error = err
            return
        self.copier.start(files_to_copy(self._scan.items, self.known))


def command_settings(args: argparse.Namespace) -> Settings:
    """The settings `shoebox import` runs with (its --data-dir and --config, the environment, the file)."""
    return load_settings({"data_dir": getattr(args, "data_dir", None), "config": getattr(args, "config", None)})


def start_copying(args: argparse.Namespace) -> HeadStart | None:
    """Start the walk and the copying for `shoebox import`'s command line, or None if its path is not a
    folder or its settings can't be read (the command then says why, as without a head start)."""
    try:
        settings = command_settings(args)
        root = Path(args.path)
        if not root.is_dir():
            return None
    except Exception:
        return None
    return HeadStart(root, settings.data_dir, settings.max_upload_bytes).start()
