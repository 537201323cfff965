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
from appliance.library.ingest import IngestRequest, IngestResult, IngestService
from appliance.storage.files import StagedFile

log = logging.getLogger(__name__)

Staged = tuple[StagedFile, StagedFile | None]
# Each copier thread's buffer, reused for every file (no 1 MiB allocation per file): the staged bytes are
# read back and hashed this many at a time (larger pieces measured no better here).
BUFFER = 1024 * 1024


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
        buffer = bytearray(BUFFER)  # this thread's, for every file it copies
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
                    progress=self._progress(copy), batch=True, buffer=buffer,
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


class IngestBatcher:
    """Hands staged files to `IngestService.ingest_many` a few at a time: the files the workers bring within
    `delay` (or `size` of them, whichever first) share one duplicate lookup and one quota lookup instead of
    two trips to the database each. A file waits at most `delay` longer, well below a group commit."""

    def __init__(self, ingest: IngestService, *, size: int = 32, delay: float = 0.01) -> None:
        self.ingest = ingest
        self.size = size
        self.delay = delay
        self._pending: list[tuple[IngestRequest, StagedFile, asyncio.Future[IngestResult]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def ingest_one(self, request: IngestRequest, staged: StagedFile) -> IngestResult:
        """Like `IngestService.ingest`: the staged file is consumed, the result or error is this file's.
        Once handed over, the file is ingested even if the caller goes away (as `ingest` shields commits)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        self._pending.append((request, staged, future))
        if len(self._pending) >= self.size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.delay, self._flush)
        return await asyncio.shield(future)

    async def drain(self) -> None:
        """Wait for every batch handed over (at the end of a session)."""
        if self._pending:
            self._flush()
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[IngestRequest, StagedFile, asyncio.Future[IngestResult]]]) -> None:
        outcomes: list[IngestResult | BaseException]
        try:
            outcomes = await self.ingest.ingest_many([(request, staged) for request, staged, _ in batch])
        except BaseException as err:  # the lookups failed: every file of the batch fails with it
            outcomes = [err] * len(batch)
        for (_, _, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
