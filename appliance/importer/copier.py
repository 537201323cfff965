"""Copying ahead of the commits: a couple of threads stage an import's files into the library's staging
area one after another, in the order the session will ingest them, while the event loop ingests and
commits what is already staged.

The threads never wait for the loop between files (handing each file over through the loop cost a third
of the copying time), and at most `window` files are staged and not yet ingested, so memory and staging
space stay bounded. Copying is the ingest path's own (`Stager.stage_path_blocking`: the kernel copies,
the stored bytes are hashed); the loop then passes each staged file to `IngestService.ingest`, the same
step an upload takes. Whatever happens, `close` leaves nothing behind in staging.

The threads can start before there is an event loop (`shoebox import` starts copying while the rest of
Shoebox is still being imported: see `importer/head_start.py`), so this module imports no asyncio at
load time; copies finished before `attach` wait for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from appliance.importer.policy import SourceFile
from appliance.library.staging import Stager
from appliance.storage.files import StagedFile

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger(__name__)

Staged = tuple[StagedFile, StagedFile | None]
THREADS = 2  # copier threads: copying and hashing are in the kernel and OpenSSL, which need no GIL
WINDOW = 64  # files staged and not yet ingested, at most
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

    def __init__(self, stager: Stager, stop: threading.Event, *, threads: int = THREADS, window: int = WINDOW,
                 ahead: int = READ_AHEAD) -> None:
        self.stager = stager
        self.stop = stop
        self.threads = threads
        self.window = window
        self.ahead = ahead
        self._files: Iterator[tuple[SourceFile, SourceFile | None]] = iter(())
        # the file iterator, the progress counter, `_started`, `_unwanted`, `_loop` and `_early`
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(max(1, window))
        self._closing = threading.Event()
        self._workers: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._early: list[Copy] = []  # finished before `attach`
        self._started: set[str] = set()  # handed to a thread, not settled yet
        self._unwanted: set[str] = set()  # of those, the ones `discard`ed: dropped when they settle
        self._ready: dict[str, Copy] = {}  # copied (or failed), not taken yet; the loop's thread only
        self._waiting: dict[str, asyncio.Future[Copy]] = {}  # takers waiting for their copy
        self._closed = False
        self._broken: BaseException | None = None  # the file list itself failed: no copy will come
        self._copied = 0  # bytes copied of files not taken yet

    def start(self, files: Iterable[tuple[SourceFile, SourceFile | None]]) -> None:
        """Copy these files (in ingest order; the iterable is read by the threads, under a lock). Any
        thread may call it, with or without an event loop; the loop that takes the copies `attach`es."""
        with self._lock:
            if self._closing.is_set():
                return
            self._files = read_ahead(files, self.ahead)
            for number in range(max(1, self.threads)):
                worker = threading.Thread(target=self._work, name=f"import-copy-{number}", daemon=True)
                self._workers.append(worker)
                worker.start()

    def attach(self) -> None:
        """From now on the running loop takes the copies (call it on that loop; `take` does)."""
        import asyncio

        if self._loop is not None:
            return
        with self._lock:
            self._loop = asyncio.get_running_loop()
            early, self._early = self._early, []
        for copy in early:
            self._settle(copy)

    @property
    def copied(self) -> int:
        """Bytes copied ahead of the ingest (for the progress figure)."""
        return self._copied

    async def take(self, source: SourceFile) -> Staged:
        """Wait for this file's copy: its staged files (the caller owns them now) or the copy's error.
        Call `done` afterwards, whatever happened, to let the threads copy on."""
        self.attach()
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

    def discard(self, source: SourceFile) -> None:
        """A file the session will not take after all: the database says this source brought it before,
        which the threads did not know yet when they started copying it. Its copy is dropped, now or when
        it arrives, and its place in the window freed. Call it on the loop's thread."""
        key = source.relpath
        copy = self._ready.pop(key, None)
        if copy is not None:
            self._drop(copy)
            return
        with self._lock:
            if key in self._started:
                self._unwanted.add(key)

    def _drop(self, copy: Copy) -> None:
        _remove_all(_staged_of(copy))
        with self._lock:
            self._copied -= copy.copied
        self._slots.release()

    async def close(self) -> None:
        """Stop copying (the copy in flight finishes or stops between chunks), wait for the threads, and
        remove what was staged and never taken."""
        import asyncio

        with self._lock:
            self._closing.set()
            workers = list(self._workers)
        for _ in workers:
            self._slots.release()  # wake threads waiting for a slot
        for worker in workers:
            await asyncio.to_thread(worker.join)
        await asyncio.sleep(0)  # the threads' last hand-overs run before this resumes (FIFO), but be sure
        self._closed = True
        with self._lock:
            early, self._early = self._early, []
        leftovers = [staged for copy in [*self._ready.values(), *early] for staged in _staged_of(copy)]
        self._ready.clear()
        for future in self._waiting.values():
            future.cancel()
        if leftovers:
            await asyncio.to_thread(_remove_all, leftovers)

    def _work(self) -> None:
        buffer = bytearray(BUFFER)  # this thread's, for every file it copies
        while True:
            self._slots.acquire()
            if self._closing.is_set():
                return
            try:
                with self._lock:
                    following = next(self._files, None)
                    if following is not None:
                        self._started.add(following[0].relpath)
            except BaseException as err:  # a bug in the list: fail the takers rather than leave them waiting
                self._call_loop(self._break, err)
                return
            if following is None:
                return
            copy = Copy(*following)
            try:
                copy.outcome = self.stager.stage_path_blocking(
                    copy.file.path, copy.sidecar.path if copy.sidecar else None, stop=self.stop,
                    progress=_Counter(self, copy), batch=True, buffer=buffer,
                )
            except BaseException as err:  # the taker gets the copy's error, whatever it is
                copy.outcome = err
            self._hand_over(copy)

    def _hand_over(self, copy: Copy) -> None:
        with self._lock:
            if self._loop is None:  # not attached yet: `attach` settles it
                self._early.append(copy)
                return
            loop = self._loop
        try:
            loop.call_soon_threadsafe(self._settle, copy)
        except RuntimeError:  # the loop is gone: nobody will take it
            _remove_all(_staged_of(copy))

    def _call_loop(self, callback: Callable[[BaseException], None], error: BaseException) -> None:
        with self._lock:
            loop = self._loop
        if loop is None:
            self._broken = error  # `take` raises it
        else:
            loop.call_soon_threadsafe(callback, error)

    def _break(self, error: BaseException) -> None:
        self._broken = error
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)

    def _settle(self, copy: Copy) -> None:
        key = copy.file.relpath
        with self._lock:
            self._started.discard(key)
            unwanted = key in self._unwanted
            self._unwanted.discard(key)
        if unwanted:
            self._drop(copy)
            return
        if self._closed:  # too late to be taken
            _remove_all(_staged_of(copy))
            return
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(copy)
        else:
            self._ready[key] = copy


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
