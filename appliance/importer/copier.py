"""Copying ahead of the commits: a couple of threads stage an import's files into the library's staging
area one after another, in the order the session will ingest them, while the event loop ingests and
commits what is already staged.

The threads never wait for the loop between files (handing each file over through the loop cost a third
of the copying time), and at most `window` files are staged and not yet ingested, so memory and staging
space stay bounded. Copying is the ingest path's own (`IngestService.stage_path_blocking`: the kernel
copies, the stored bytes are hashed); the loop then passes each staged file to `IngestService.ingest`,
the same step an upload takes. Whatever happens, `close` leaves nothing behind in staging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from appliance.importer.policy import SourceFile
from appliance.library.ingest import IngestService
from appliance.storage.files import StagedFile

log = logging.getLogger(__name__)

Staged = tuple[StagedFile, StagedFile | None]


@dataclass(eq=False)
class Copy:
    """One file (and its sidecar) to stage; `future` gets the staged files or the copy's error."""

    file: SourceFile
    sidecar: SourceFile | None
    future: asyncio.Future[Staged]
    copied: int = 0  # bytes copied so far (progress)
    taken: bool = False  # handed to the caller, who owns the staged files from then on


@dataclass(eq=False)
class Copier:
    ingest: IngestService
    stop: threading.Event
    threads: int = 2
    window: int = 64
    copies: dict[str, Copy] = field(default_factory=dict)
    _order: list[Copy] = field(default_factory=list)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _slots: threading.Semaphore | None = None
    _closing: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _copied: int = 0  # bytes copied of files not yet taken

    def start(self, files: Iterable[tuple[SourceFile, SourceFile | None]]) -> None:
        """Queue these files (in ingest order) and start copying them."""
        self._loop = asyncio.get_running_loop()
        for source, sidecar in files:
            copy = Copy(source, sidecar, self._loop.create_future())
            self.copies[source.relpath] = copy
            self._order.append(copy)
        self._slots = threading.Semaphore(max(1, self.window))
        for number in range(min(max(1, self.threads), len(self._order))):
            worker = threading.Thread(target=self._work, name=f"import-copy-{number}", daemon=True)
            self._workers.append(worker)
            worker.start()

    @property
    def copied(self) -> int:
        """Bytes copied ahead of the ingest (for the progress figure)."""
        return self._copied

    async def take(self, source: SourceFile) -> Staged:
        """Wait for this file's copy: its staged files (the caller owns them now) or the copy's error.
        Call `done` once the staged files were ingested (or failed), to let the threads copy on."""
        copy = self.copies[source.relpath]
        staged = await copy.future
        copy.taken = True
        with self._lock:
            self._copied -= copy.copied
        return staged

    def done(self) -> None:
        """One taken file is finished with: one more may be staged."""
        if self._slots is not None:
            self._slots.release()

    async def close(self) -> None:
        """Stop copying (the copy in flight finishes or stops between chunks), wait for the threads, and
        remove what was staged and never taken."""
        self._closing.set()
        if self._slots is not None:
            for _ in self._workers:
                self._slots.release()  # wake threads waiting for a slot
        for worker in self._workers:
            await asyncio.to_thread(worker.join)
        await asyncio.sleep(0)  # the threads' last hand-overs run before this resumes (FIFO), but be sure
        leftovers: list[StagedFile] = []
        for copy in self._order:
            future = copy.future
            if not future.done():
                future.cancel()
            elif not future.cancelled() and future.exception() is None and not copy.taken:
                staged, sidecar = future.result()
                leftovers += [staged] if sidecar is None else [staged, sidecar]
        if leftovers:
            await asyncio.to_thread(_remove_all, leftovers)

    def _work(self) -> None:
        assert self._slots is not None and self._loop is not None
        while True:
            self._slots.acquire()
            if self._closing.is_set():
                return
            with self._lock:
                if self._next >= len(self._order):
                    return
                copy = self._order[self._next]
                self._next += 1
            try:
                staged = self.ingest.stage_path_blocking(
                    copy.file.path, copy.sidecar.path if copy.sidecar else None, stop=self.stop,
                    progress=self._progress(copy), batch=True,
                )
            except BaseException as err:  # the caller gets the copy's error, whatever it is
                self._hand_over(copy, None, err)
            else:
                self._hand_over(copy, staged, None)

    def _progress(self, copy: Copy) -> _Counter:
        return _Counter(self, copy)

    def _hand_over(self, copy: Copy, staged: Staged | None, error: BaseException | None) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._settle, copy, staged, error)
        except RuntimeError:  # the loop is gone: nobody will take it
            if staged is not None:
                _remove_all([s for s in staged if s is not None])

    @staticmethod
    def _settle(copy: Copy, staged: Staged | None, error: BaseException | None) -> None:
        if copy.future.done():  # cancelled: `close` could not see this result, so remove it here
            if staged is not None:
                _remove_all([s for s in staged if s is not None])
            return
        if error is not None:
            copy.future.set_exception(error)
        else:
            assert staged is not None
            copy.future.set_result(staged)


class _Counter:
    """The progress callback of one copy (called from its thread with each chunk's size)."""

    __slots__ = ("copier", "copy")

    def __init__(self, copier: Copier, copy: Copy) -> None:
        self.copier = copier
        self.copy = copy

    def __call__(self, size: int) -> None:
        with self.copier._lock:
            self.copy.copied += size
            self.copier._copied += size


def _remove_all(staged: list[StagedFile]) -> None:
    for item in staged:
        with contextlib.suppress(OSError):
            item.path.unlink(missing_ok=True)
