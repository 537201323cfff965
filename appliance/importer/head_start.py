"""`shoebox import`'s head start: the walk of the source and the copying run in a process of their own,
forked as soon as the command line is read, while this process imports the rest of Shoebox (asyncio, the
database, the services) and opens the database.

Why a process: the copier threads hash and copy outside the GIL, but between those calls they need it,
and so does the event loop committing what they copied; in one process they queue for it at every step
(measured: two copier threads in two processes copy and hash a card ~25% faster than in one busy one).
And the copying starts before the heavy imports, on the other core.

The child only stages files, exactly as a session's own `CopyThreads` do, and reports each copy (its
staged files, or its error) over a pipe; the session (`ImportService.run`) takes them through a
`CopyQueue` and decides everything else: the owner, what this source brought before (sent to the child,
which skips those from then on; copies it made before are dropped by the queue), the commits. When the
session closes the copier, the child stops between chunks, reports or removes what it finished, and
exits; if this process dies, the child sees its pipe close and does the same. This module imports only
what copying needs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import signal
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from appliance.config import Settings, load_settings
from appliance.importer.copier import (
    THREADS,
    WINDOW,
    WINDOW_BYTES,
    Copy,
    CopyQueue,
    CopyThreads,
    Staged,
    remove_all,
    staged_files,
    staged_of,
)
from appliance.importer.policy import ImportItem, Limits, ScanResult, SourceFile, files_to_copy, scan_blocking
from appliance.library.staging import Stager
from appliance.storage.files import MediaStore

if TYPE_CHECKING:
    import asyncio

    from appliance.storage.imports import KnownFile

_LENGTH = struct.Struct("!I")


class Stamp(NamedTuple):
    """What the child needs of a `KnownFile` (whose module it need not import)."""

    size: int
    mtime_ns: int


def command_settings(args: argparse.Namespace) -> Settings:
    """The settings `shoebox import` runs with (its --data-dir and --config, the environment, the file)."""
    return load_settings({"data_dir": getattr(args, "data_dir", None), "config": getattr(args, "config", None)})


def start_copying(args: argparse.Namespace) -> HeadStart | None:
    """Fork the walk and the copying for `shoebox import`'s command line (call it before any thread is
    started), or None if its path is not a folder or its settings can't be read (the command then says
    why, as without a head start)."""
    try:
        settings = command_settings(args)
        root = Path(args.path)
        if not root.is_dir():
            return None
    except Exception:
        return None
    return HeadStart.fork(root, settings.data_dir, settings.max_upload_bytes)


class HeadStart:
    """This process's handle on the copy process: its walk (`scan_blocking`) and its copies (`copier`)."""

    def __init__(self, pid: int, commands: int, reports: int, window: int = WINDOW) -> None:
        self.pid = pid
        self.stop = threading.Event()  # the session's stop (Ctrl-C): the child stops when the copier closes
        self.commands_fd = commands  # our end of the pipe to the child
        self.reports_fd = reports  # our end of the pipe from the child
        self._files: dict[str, SourceFile] = {}
        self.copier = RemoteCopier(self, window)

    @classmethod
    def fork(cls, root: Path, data_dir: Path, max_bytes: int, *, limits: Limits | None = None,
             threads: int = THREADS, window: int = WINDOW) -> HeadStart:
        commands_read, commands_write = os.pipe()
        reports_read, reports_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(commands_write)
            os.close(reports_read)
            code = 1
            try:
                _copy_process(root, data_dir, max_bytes, limits or Limits(), threads, window, commands_read,
                              reports_write)
                code = 0
            except BaseException:  # a bug: say where, then end as below (the parent sees the pipe close)
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)  # never back into the parent's code, and no interpreter teardown
        os.close(commands_read)
        os.close(reports_write)
        return cls(pid, commands_write, reports_read, window)

    def scan_blocking(self) -> ScanResult:
        """What the walk found (waits for it), or its error."""
        message = _receive(self.reports_fd)
        if message is None:
            raise RuntimeError("the import's copy process ended before its walk did")
        kind, value = message
        if kind == "walk failed":
            raise value
        scan: ScanResult = value
        for item in scan.items:  # the files copies are reported by (a live photo's video is one too)
            part: ImportItem | None = item
            while part is not None:
                self._files[part.file.relpath] = part.file
                part = part.live_video
        return scan

    def tell_known(self, known: dict[str, KnownFile]) -> None:
        """What this source brought before: the child skips those files from now on."""
        self.copier.send(("known", {path: Stamp(entry.size, entry.mtime_ns) for path, entry in known.items()}))

    async def close(self) -> None:
        """Stop the copy process, wait for it, and remove what it staged and nobody took (idempotent)."""
        await self.copier.close()

    def source_file(self, relpath: str) -> SourceFile:
        return self._files[relpath]


class RemoteCopier:
    """The copier interface `ImportService` uses (`attach`, `take`, `done`, `discard`, `close`, `copied`),
    over the copy process's pipe.

    The room that finished files free in the child's window is handed back an eighth of the window at a
    time, not file by file: each message wakes the child's reading thread, and on this kind of machine a
    wake-up of a thread on the other core costs tens of microseconds on each side. A child short of room
    says so, and then gets what is free at once, and each file freed after until it has what it needs."""

    def __init__(self, head_start: HeadStart, window: int = WINDOW) -> None:
        self._head_start = head_start
        self._queue = CopyQueue(self._release)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffer = bytearray()
        self._closed = False
        self._hand_back_files, self._hand_back_bytes = max(1, window // 8), WINDOW_BYTES // 8
        self._freed_files = self._freed_bytes = 0  # freed here, not yet handed back to the child
        self._child_short = False  # the child said it waits for room, and has not been given any since

    @property
    def copied(self) -> int:
        return self._queue.copied

    def attach(self) -> None:
        """From now on the running loop reads the child's reports (after `scan_blocking`)."""
        import asyncio

        if self._loop is not None or self._closed:
            return
        self._loop = asyncio.get_running_loop()
        os.set_blocking(self._head_start.reports_fd, False)
        self._loop.add_reader(self._head_start.reports_fd, self._readable)

    async def take(self, source: SourceFile) -> Staged:
        self.attach()
        return await self._queue.take(source)

    def done(self, source: SourceFile) -> None:
        self._queue.done(source)

    def discard(self, source: SourceFile) -> None:
        self._queue.discard(source)

    def _release(self, reserved: int) -> None:
        self._freed_files += 1
        self._freed_bytes += reserved
        if (self._child_short or self._freed_files >= self._hand_back_files
                or self._freed_bytes >= self._hand_back_bytes):
            self._hand_back()

    def _hand_back(self) -> None:
        if self._freed_files:
            self.send(("done", self._freed_files, self._freed_bytes))
            self._freed_files = self._freed_bytes = 0
            self._child_short = False

    def send(self, message: object) -> None:
        """A command to the child; a child that is gone needs none."""
        if self._closed:
            return
        with contextlib.suppress(OSError):
            _send(self._head_start.commands_fd, message)

    async def close(self) -> None:
        import asyncio

        if self._closed:
            return
        self.send(("close",))
        self._closed = True
        if self._loop is not None:
            self._loop.remove_reader(self._head_start.reports_fd)
        os.set_blocking(self._head_start.reports_fd, True)
        # what the child still reports until it exits was never taken: removed
        await asyncio.to_thread(self._drain_blocking)
        await self._queue.close()
        with contextlib.suppress(OSError):
            os.close(self._head_start.commands_fd)

    def _drain_blocking(self) -> None:
        reports = self._head_start.reports_fd
        pending = self._messages()  # read but not handled yet
        while (message := _receive(reports)) is not None:
            pending.append(message)
        for message in pending:
            if message[0] == "copy":
                remove_all(staged_files(message[3]))
        os.close(reports)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._head_start.pid, 0)

    def _readable(self) -> None:
        error: OSError | None = None
        try:
            data = os.read(self._head_start.reports_fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError as err:
            data, error = b"", err
        if not data:  # the child is gone: no more copies will come
            assert self._loop is not None
            self._loop.remove_reader(self._head_start.reports_fd)
            self._queue.fail(error or RuntimeError("the import's copy process ended"))
            return
        self._buffer += data
        for message in self._messages():
            if message[0] == "copy":
                _, relpath, copied, outcome, reserved = message
                self._queue.arrive(Copy(self._head_start.source_file(relpath), None, copied, outcome, reserved))
            elif message[0] == "short of room":
                self._child_short = True
                self._hand_back()
            elif message[0] == "broken":
                self._queue.fail(message[1])

    def _messages(self) -> list[tuple[Any, ...]]:
        """The whole messages in what was read so far."""
        messages = []
        while len(self._buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer)
            if len(self._buffer) < _LENGTH.size + length:
                break
            messages.append(pickle.loads(self._buffer[_LENGTH.size:_LENGTH.size + length]))
            del self._buffer[:_LENGTH.size + length]
        return messages


def _copy_process(root: Path, data_dir: Path, max_bytes: int, limits: Limits, threads: int, window: int,
                  commands: int, reports: int) -> None:
    """The child: walk, then copy, reporting each copy; until told to close, or its parent is gone."""
    import gc

    # the modules loaded before the fork live as long as this process: frozen first, so the first collection
    # after `enable` does not walk them all (`shoebox import` disabled the collector for the loading; that
    # first collection was 3-8 ms before the walk could start)
    gc.freeze()
    gc.enable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it closes us
    stop = threading.Event()
    sending = threading.RLock()  # one message at a time; held while the copying starts (see below)
    known: dict[str, Any] = {}
    gone = threading.Event()  # the parent stopped listening: what is copied now is removed, not reported

    def broken(error: BaseException) -> None:
        report(("broken", error))

    def report(message: object) -> bool:
        if gone.is_set():
            return False
        try:
            with sending:
                _send(reports, message)
            return True
        except OSError:
            gone.set()
            return False

    def ask_for_room() -> None:
        report(("short of room",))

    def deliver(copy: Copy) -> None:
        if not report(("copy", copy.file.relpath, copy.copied, copy.outcome, copy.reserved)):
            remove_all(staged_of(copy))

    try:
        scan = scan_blocking(root, limits)
    except BaseException as err:
        report(("walk failed", err))
        return
    store = MediaStore(data_dir)
    store.staging.mkdir(parents=True, exist_ok=True)
    workers = CopyThreads(Stager(store, max_bytes), stop, deliver, broken, threads=threads, window=window,
                          short_of_room=ask_for_room)
    with sending:  # the copying starts while the walk is sent; copies are reported after it, as the session expects
        workers.start(files_to_copy(scan.items, known))
        walk_sent = report(("walk", scan))
    while walk_sent and (command := _receive(commands)) is not None and command[0] != "close":
        if command[0] == "done":
            workers.release(command[2], command[1])
        elif command[0] == "known":
            known.update(command[1])
    gone.set()  # from here on, finished copies are removed
    stop.set()
    workers.stop_blocking()


def _send(fd: int, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd: int) -> Any:
    """The next message from a blocking pipe, or None at its end."""
    head = _read_exactly(fd, _LENGTH.size)
    if head is None:
        return None
    body = _read_exactly(fd, _LENGTH.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
