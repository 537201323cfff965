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
import functools
import logging
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from appliance.importer.policy import SourceFile
from appliance.library.ingest import IngestRequest, IngestResult, IngestService
from appliance.storage.files import StagedFile

log = logging.getLogger(__name__)

Staged = tuple[StagedFile, StagedFile | None]
# How many bytes of the files after the ones being copied are asked from the source ahead of time: the
# card or disk reads them while the threads copy and hash, instead of each copy waiting for its reads.
READ_AHEAD = 32 * 1024 * 1024
# Each copier thread's buffer, reused for every file (no 1 MiB allocation per file): the staged bytes are
# read back and hashed this many at a time (larger pieces measured no better here).
BUFFER = 1024 * 1024


@dataclass(eq=False, slots=True)
class Copy:
    """One file (and its sidecar) being staged, then its outcome: the staged files or the copy's error."""

    file: SourceFile
    sidecar: SourceFile | None
    copied: int = 0  # bytes copied so far (progress)
    outcome: Staged | BaseException | None = None


class Copier:
    """Copier threads over `files` (in ingest order), at most `window` staged and not yet `done` with.
    Per-file state exists only for files in flight: a card of 100 000 files costs no more memory."""

    def __init__(self, ingest: IngestService, stop: threading.Event, *, threads: int = 2, window: int = 64,
                 ahead: int = READ_AHEAD) -> None:
        self.ingest = ingest
        self.stop = stop
        self.threads = threads
        self.window = window
        self.ahead = ahead
        self._files: Iterator[tuple[SourceFile, SourceFile | None]] = iter(())
        self._lock = threading.Lock()  # the file iterator and the progress counter
        self._slots = threading.Semaphore(max(1, window))
        self._closing = threading.Event()
        self._workers: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: dict[str, Copy] = {}  # copied (or failed), not taken yet; the loop's thread only
        self._waiting: dict[str, asyncio.Future[Copy]] = {}  # takers waiting for their copy
        self._closed = False
        self._broken: BaseException | None = None  # the file list itself failed: no copy will come
        self._copied = 0  # bytes copied of files not taken yet

    def start(self, files: Iterable[tuple[SourceFile, SourceFile | None]]) -> None:
        """Copy these files (in ingest order; the iterable is read by the threads, under a lock)."""
        self._loop = asyncio.get_running_loop()
        self._files = read_ahead(files, self.ahead)
        for number in range(max(1, self.threads)):
            worker = threading.Thread(target=self._work, name=f"import-copy-{number}", daemon=True)
            self._workers.append(worker)
            worker.start()

    @property
    def copied(self) -> int:
        """Bytes copied ahead of the ingest (for the progress figure)."""
        return self._copied

    async def take(self, source: SourceFile) -> Staged:
        """Wait for this file's copy: its staged files (the caller owns them now) or the copy's error.
        Call `done` afterwards, whatever happened, to let the threads copy on."""
        key = source.relpath
        copy = self._ready.pop(key, None)
        if copy is None:
            if self._broken is not None:
                raise self._broken
            assert self._loop is not None
            future: asyncio.Future[Copy] = self._loop.create_future()
            self._waiting[key] = future
            try:
                copy = await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():  # it arrived as the caller went away
                    self._ready[key] = future.result()  # `close` removes it
                raise
            finally:
                self._waiting.pop(key, None)
        with self._lock:
            self._copied -= copy.copied
        if isinstance(copy.outcome, BaseException):
            raise copy.outcome
        assert copy.outcome is not None
        return copy.outcome

    def done(self) -> None:
        """One taken file is finished with: one more may be staged."""
        self._slots.release()

    async def close(self) -> None:
        """Stop copying (the copy in flight finishes or stops between chunks), wait for the threads, and
        remove what was staged and never taken."""
        self._closing.set()
        for _ in self._workers:
            self._slots.release()  # wake threads waiting for a slot
        for worker in self._workers:
            await asyncio.to_thread(worker.join)
        await asyncio.sleep(0)  # the threads' last hand-overs run before this resumes (FIFO), but be sure
        self._closed = True
        leftovers = [staged for copy in self._ready.values() for staged in _staged_of(copy)]
        self._ready.clear()
        for future in self._waiting.values():
            future.cancel()
        if leftovers:
            await asyncio.to_thread(_remove_all, leftovers)

    def _work(self) -> None:
        assert self._loop is not None
        buffer = bytearray(BUFFER)  # this thread's, for every file it copies
        while True:
            self._slots.acquire()
            if self._closing.is_set():
                return
            try:
                with self._lock:
                    following = next(self._files, None)
            except BaseException as err:  # a bug in the list: fail the takers rather than leave them waiting
                self._loop.call_soon_threadsafe(self._break, err)
                return
            if following is None:
                return
            copy = Copy(*following)
            try:
                copy.outcome = self.ingest.stage_path_blocking(
                    copy.file.path, copy.sidecar.path if copy.sidecar else None, stop=self.stop,
                    progress=_Counter(self, copy), batch=True, buffer=buffer,
                )
            except BaseException as err:  # the taker gets the copy's error, whatever it is
                copy.outcome = err
            self._hand_over(copy)

    def _hand_over(self, copy: Copy) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._settle, copy)
        except RuntimeError:  # the loop is gone: nobody will take it
            _remove_all(_staged_of(copy))

    def _break(self, error: BaseException) -> None:
        self._broken = error
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)

    def _settle(self, copy: Copy) -> None:
        if self._closed:  # too late to be taken
            _remove_all(_staged_of(copy))
            return
        future = self._waiting.pop(copy.file.relpath, None)
        if future is not None and not future.done():
            future.set_result(copy)
        else:
            self._ready[copy.file.relpath] = copy


def read_ahead(files: Iterable[tuple[SourceFile, SourceFile | None]],
               budget: int) -> Iterator[tuple[SourceFile, SourceFile | None]]:
    """The files in order; as each is handed out, the source is asked (posix_fadvise WILLNEED: the kernel
    starts reading, nobody waits) for the files after it, up to `budget` bytes beyond it. Only a hint:
    a file that can't be opened or advised is simply read when its turn comes."""
    upcoming: deque[tuple[SourceFile, SourceFile | None]] = deque()
    source = iter(files)
    asked = 0  # bytes advised among `upcoming`
    exhausted = False
    while True:
        while not exhausted and asked < budget:
            following = next(source, None)
            if following is None:
                exhausted = True
                break
            upcoming.append(following)
            asked += sum(_advise_will_need(part) for part in following if part is not None)
        if not upcoming:
            return
        handed = upcoming.popleft()
        asked -= sum(part.size for part in handed if part is not None)
        yield handed


def _advise_will_need(file: SourceFile) -> int:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(file.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            os.posix_fadvise(fd, 0, file.size, os.POSIX_FADV_WILLNEED)
        finally:
            os.close(fd)
    return file.size


def _staged_of(copy: Copy) -> list[StagedFile]:
    if copy.outcome is None or isinstance(copy.outcome, BaseException):
        return []
    staged, sidecar = copy.outcome
    return [staged] if sidecar is None else [staged, sidecar]


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
        try:
            tasks = await self.ingest.ingest_many_started([(request, staged) for request, staged, _ in batch])
        except BaseException as err:  # the lookups failed: every file of the batch fails with it
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(err)
            return
        # each file's outcome as soon as it is committed (a batch may span two commit groups)
        for task, (_, _, future) in zip(tasks, batch, strict=True):
            task.add_done_callback(functools.partial(_pass_on, future))
        await asyncio.gather(*tasks, return_exceptions=True)


def _pass_on(future: asyncio.Future[IngestResult], task: asyncio.Task[IngestResult]) -> None:
    if future.done():
        return
    if task.cancelled():
        future.cancel()
    elif task.exception() is not None:
        future.set_exception(task.exception())  # type: ignore[arg-type]
    else:
        future.set_result(task.result())
