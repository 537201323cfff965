"""Copying ahead of the commits: a couple of threads stage an import's files into the library's staging
area one after another, in the order the session will ingest them, while the event loop ingests and
commits what is already staged.

The threads never wait for the loop between files (handing each file over through the loop cost a third
of the copying time), and at most `window` files are staged and not yet ingested, so memory and staging
space stay bounded. Copying is the ingest path's own (`Stager.stage_path_blocking`: the kernel copies,
the stored bytes are hashed); the loop then passes each staged file to `IngestService.ingest`, the same
step an upload takes. Whatever happens, `close` leaves nothing behind in staging.

Two halves: `CopyThreads` copy and hand each finished copy to a `deliver` callback; `CopyQueue`, on the
event loop, holds the copies until the session takes them in its order. `Copier` joins them in one
process (the server's auto-import). `shoebox import` runs the threads in a process of its own, started
before the rest of Shoebox is even imported, and feeds a `CopyQueue` from its pipe (`copy_process.py`).
This module imports no asyncio at load time, for that process's sake (nor dataclasses: see policy.py).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from appliance.importer.policy import SourceFile
from appliance.library.staging import Stager
from appliance.storage.files import StagedFile

if TYPE_CHECKING:
    import asyncio

Staged = tuple[StagedFile, StagedFile | None]
THREADS = 2  # copier threads: copying and hashing are in the kernel and OpenSSL, which need no GIL
# Staged and not yet ingested, at most: this many files and this many bytes (a single bigger file may go
# alone). Room to run ahead while the session starts up or a group's sync runs, with staging bounded.
WINDOW = 256
WINDOW_BYTES = 512 * 1024 * 1024
# How many bytes of the files after the ones being copied are asked from the source ahead of time: the
# card or disk reads them while the threads copy and hash, instead of each copy waiting for its reads.
READ_AHEAD = 32 * 1024 * 1024
# Each copier thread's buffer, reused for every file (no 1 MiB allocation per file): the staged bytes are
# read back and hashed this many at a time (larger pieces measured no better here).
BUFFER = 1024 * 1024


class Copy:
    """One file (and its sidecar) being staged, then its outcome: the staged files or the copy's error."""

    __slots__ = ("file", "sidecar", "copied", "outcome", "reserved")

    def __init__(self, file: SourceFile, sidecar: SourceFile | None, copied: int = 0,
                 outcome: Staged | BaseException | None = None, reserved: int = 0) -> None:
        self.file = file
        self.sidecar = sidecar
        self.copied = copied  # bytes copied (progress)
        self.outcome = outcome
        self.reserved = reserved  # bytes of the window it holds until released (its source sizes)


class CopyThreads:
    """Threads staging `files` one after another in their order, each finished copy handed to `deliver`
    (from the thread that made it); at most `window` files and `window_bytes` bytes copied or being
    copied and not yet `release`d. Per-file state exists only for files in flight: a card of 100 000 files
    costs no more memory."""

    def __init__(self, stager: Stager, stop: threading.Event, deliver: Callable[[Copy], None],
                 broken: Callable[[BaseException], None], *, threads: int = THREADS, window: int = WINDOW,
                 window_bytes: int = WINDOW_BYTES, ahead: int = READ_AHEAD,
                 short_of_room: Callable[[], None] | None = None) -> None:
        self.stager = stager
        self.stop = stop
        self.deliver = deliver
        self.broken = broken  # the file list itself failed: no more copies will come
        # called (from a copying thread, holding no lock) when a copy must wait for room in the window: a
        # taker that hands room back in batches then hands back what it holds at once
        self.short_of_room = short_of_room
        self.threads = threads
        self.ahead = ahead
        self._files: Iterator[tuple[SourceFile, SourceFile | None]] = iter(())
        self._lock = threading.Lock()  # the file iterator and the worker list
        self._room = threading.Condition()  # the window: the two counts below
        self._window, self._window_bytes = max(1, window), window_bytes
        self._held, self._held_bytes = 0, 0
        self._closing = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self, files: Iterable[tuple[SourceFile, SourceFile | None]]) -> None:
        """Copy these files (in ingest order; the iterable is read by the threads, under a lock)."""
        with self._lock:
            if self._closing.is_set():
                return
            self._files = read_ahead(files, self.ahead)
            for number in range(max(1, self.threads)):
                worker = threading.Thread(target=self._work, name=f"import-copy-{number}", daemon=True)
                self._workers.append(worker)
                worker.start()

    def release(self, reserved: int, files: int = 1) -> None:
        """Delivered copies (`files` of them, holding `reserved` bytes of the window) are finished with."""
        with self._room:
            self._held -= files
            self._held_bytes -= reserved
            self._room.notify_all()

    def stop_blocking(self) -> None:
        """Stop (the copy in flight finishes or stops between chunks) and wait for the threads."""
        with self._lock:
            self._closing.set()
            workers = list(self._workers)
        with self._room:
            self._room.notify_all()  # wake threads waiting for room
        for worker in workers:
            worker.join()

    def _work(self) -> None:
        buffer = bytearray(BUFFER)  # this thread's, for every file it copies
        while not self._closing.is_set():
            try:
                with self._lock:
                    following = next(self._files, None)
            except BaseException as err:  # a bug in the list: fail the takers rather than leave them waiting
                self.broken(err)
                return
            if following is None:
                return
            copy = Copy(*following)
            copy.reserved = sum(part.size for part in following if part is not None)
            if not self._wait_for_room(copy.reserved):
                return
            try:
                copy.outcome = self.stager.stage_path_blocking(
                    copy.file.path, copy.sidecar.path if copy.sidecar else None, stop=self.stop,
                    batch=True, buffer=buffer,
                )
                copy.copied = sum(staged.size for staged in staged_of(copy))
            except BaseException as err:  # the taker gets the copy's error, whatever it is
                copy.outcome = err
            self.deliver(copy)

    def _wait_for_room(self, size: int) -> bool:
        """Hold `size` bytes and a file of the window once there is room (False: closing instead). Each
        time it finds no room, it says so (`short_of_room`) before it waits."""
        said = False
        while True:
            with self._room:
                if self._closing.is_set():
                    return False
                if not self._held or (self._held < self._window and self._held_bytes + size <= self._window_bytes):
                    self._held += 1
                    self._held_bytes += size
                    return True
                if said or self.short_of_room is None:
                    self._room.wait()
                    said = False
                    continue
            said = True
            self.short_of_room()


class CopyQueue:
    """The event loop's side: copies `arrive` (on the loop's thread) in any order, and the session `take`s
    them in its own. `release(reserved)` gives a copy's room in the window back to the producer (once it
    is taken and `done` with, or dropped)."""

    def __init__(self, release: Callable[[int], None]) -> None:
        self._release = release
        self._ready: dict[str, Copy] = {}  # arrived, not taken yet
        self._taken: dict[str, int] = {}  # taken, not done with yet: the room each holds
        self._waiting: dict[str, asyncio.Future[Copy]] = {}  # takers waiting for their copy
        self._unwanted: set[str] = set()  # discarded before they arrived: dropped when they do
        self._closed = False
        self._broken: BaseException | None = None  # no more copies will come, for this reason

    @property
    def copied(self) -> int:
        """Bytes copied ahead of the ingest (for the progress figure)."""
        return sum(copy.copied for copy in self._ready.values())

    def arrive(self, copy: Copy) -> None:
        key = copy.file.relpath
        if key in self._unwanted:
            self._unwanted.discard(key)
            self._drop(copy)
            return
        if self._closed:  # too late to be taken
            remove_all(staged_of(copy))
            return
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(copy)
        else:
            self._ready[key] = copy

    def fail(self, error: BaseException) -> None:
        """No more copies will come: the takers still waiting get `error`."""
        if self._broken is None:
            self._broken = error
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)

    async def take(self, source: SourceFile) -> Staged:
        """Wait for this file's copy: its staged files (the caller owns them now) or the copy's error.
        Call `done` afterwards, whatever happened, to let the copying go on."""
        import asyncio

        key = source.relpath
        copy = self._ready.pop(key, None)
        if copy is None:
            if self._broken is not None:
                raise self._broken
            future: asyncio.Future[Copy] = asyncio.get_running_loop().create_future()
            self._waiting[key] = future
            try:
                copy = await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():  # it arrived as the caller went away
                    self._ready[key] = future.result()  # `close` removes it
                raise
            finally:
                self._waiting.pop(key, None)
        self._taken[key] = copy.reserved
        if isinstance(copy.outcome, BaseException):
            raise copy.outcome
        assert copy.outcome is not None
        return copy.outcome

    def done(self, source: SourceFile) -> None:
        """A taken file is finished with (whatever happened): its room goes back to the copying."""
        reserved = self._taken.pop(source.relpath, None)
        if reserved is not None:
            self._release(reserved)

    def discard(self, source: SourceFile) -> None:
        """A file the session will not take after all (the database says this source brought it before,
        which the copying did not know yet when it started): its copy is dropped, now or when it
        arrives, and its place freed."""
        copy = self._ready.pop(source.relpath, None)
        if copy is not None:
            self._drop(copy)
        else:
            self._unwanted.add(source.relpath)

    async def close(self) -> None:
        """After the producer stopped: remove what arrived and was never taken; later arrivals are removed
        as they come."""
        import asyncio

        self._closed = True
        leftovers = [staged for copy in self._ready.values() for staged in staged_of(copy)]
        self._ready.clear()
        for future in self._waiting.values():
            future.cancel()
        if leftovers:
            await asyncio.to_thread(remove_all, leftovers)

    def _drop(self, copy: Copy) -> None:
        remove_all(staged_of(copy))
        self._release(copy.reserved)


class CopySource(Protocol):
    """What a session takes its copies from: a `Copier` here, or `shoebox import`'s copy process."""

    @property
    def copied(self) -> int: ...

    def attach(self) -> None: ...

    async def take(self, source: SourceFile) -> Staged: ...

    def done(self, source: SourceFile) -> None: ...

    def discard(self, source: SourceFile) -> None: ...

    async def close(self) -> None: ...


class Copier:
    """Copier threads and their queue in this process (the server's imports), started on the loop."""

    def __init__(self, stager: Stager, stop: threading.Event, *, threads: int = THREADS, window: int = WINDOW,
                 ahead: int = READ_AHEAD) -> None:
        self._threads = CopyThreads(stager, stop, self._deliver, self._broken, threads=threads, window=window,
                                    ahead=ahead)
        self._queue = CopyQueue(self._threads.release)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def copied(self) -> int:
        return self._queue.copied

    def start(self, files: Iterable[tuple[SourceFile, SourceFile | None]]) -> None:
        """Copy these files, in this order (call it on the loop that takes them)."""
        import asyncio

        self._loop = asyncio.get_running_loop()
        self._threads.start(files)

    def attach(self) -> None:
        """Nothing to do: the copies arrive on the loop `start` ran on."""

    async def take(self, source: SourceFile) -> Staged:
        return await self._queue.take(source)

    def done(self, source: SourceFile) -> None:
        self._queue.done(source)

    def discard(self, source: SourceFile) -> None:
        self._queue.discard(source)

    async def close(self) -> None:
        """Stop copying, wait for the threads, and remove what was staged and never taken."""
        import asyncio

        await asyncio.to_thread(self._threads.stop_blocking)
        await asyncio.sleep(0)  # the threads' last hand-overs run before this resumes (FIFO), but be sure
        await self._queue.close()

    def _deliver(self, copy: Copy) -> None:
        try:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._queue.arrive, copy)
        except RuntimeError:  # the loop is gone: nobody will take it
            remove_all(staged_of(copy))

    def _broken(self, error: BaseException) -> None:
        with contextlib.suppress(RuntimeError):
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._queue.fail, error)


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


def staged_of(copy: Copy) -> list[StagedFile]:
    return staged_files(copy.outcome)


def staged_files(outcome: Staged | BaseException | None) -> list[StagedFile]:
    """The files a copy's outcome left in staging (none if it failed)."""
    if outcome is None or isinstance(outcome, BaseException):
        return []
    staged, sidecar = outcome
    return [staged] if sidecar is None else [staged, sidecar]


def remove_all(staged: list[StagedFile]) -> None:
    for item in staged:
        with contextlib.suppress(OSError):
            item.path.unlink(missing_ok=True)
