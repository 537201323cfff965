"""Where an upload's body is read from, so that the multipart parser can run in a thread of its own.

A large body with a Content-Length is read straight from the connection's socket by that thread
(`SocketBody`): the event loop stops reading the connection (the bytes it had already received are handed
over first), the thread `recv_into`s one reusable buffer, and hashing and writing happen on that buffer.
Through aiohttp, every megabyte was received into a fresh object, copied again by the HTTP parser and
handed from the event loop to a writer thread; that one thread, which runs every request, capped uploads
at well under what the disk and the network do. The cost: aiohttp's HTTP parser never sees the bytes, so
it cannot read another request from that connection, and the answer closes it (`Connection: close`;
clients open a new one for their next upload).

Everything else (chunked or compressed bodies, small ones, transports without a socket) is read through
aiohttp as usual (`StreamBody`), by the same parser in the same thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from aiohttp import hdrs, web

from appliance.api.multipart import BodySource, MultipartError

DIRECT_MIN_BYTES = 1024 * 1024  # bodies at least this big are read from the socket by the parsing thread
IDLE_TIMEOUT = 300.0  # seconds a client may send nothing in the middle of a body
LINGER_SECONDS = 10.0  # how long a refused body is still read, so the client sees the answer (as aiohttp)
UPLOAD_THREADS = 32  # bodies being read at once; more wait their turn, their bytes waiting in the kernel

T = TypeVar("T")
CLOSE_CONNECTION = web.RequestKey("shoebox.close_connection", bool)
_executor: concurrent.futures.ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _upload_executor() -> concurrent.futures.ThreadPoolExecutor:
    """Uploads get threads of their own: a slow client holds its thread for the whole body, and must not
    hold one of the default pool's, which file reads and thumbnails need."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="upload")
        return _executor


class SocketBody:
    """The rest of a Content-Length body, read from the connection's socket (a duplicate descriptor)."""

    def __init__(self, received: bytes, sock: socket.socket, remaining: int) -> None:
        self._received = memoryview(received)
        self._sock = sock
        self._remaining = remaining
        self._sock.settimeout(IDLE_TIMEOUT)

    def read_into(self, view: memoryview) -> int:
        if self._received:
            count = min(len(view), len(self._received))
            view[:count] = self._received[:count]
            self._received = self._received[count:]
            return count
        if self._remaining <= 0:
            return 0
        try:
            count = self._sock.recv_into(view, min(len(view), self._remaining))
        except TimeoutError as err:
            raise MultipartError("The upload stalled: no data for too long") from err
        except OSError as err:
            raise MultipartError(f"The upload was interrupted: {err.strerror or err}") from err
        self._remaining -= count
        if count == 0:
            self._remaining = 0  # the client went away; the parser says what is missing
        return count

    def drain(self, deadline: float) -> None:
        """Read and drop the rest of the body (until `deadline`), so the client can read our answer."""
        scratch = bytearray(256 * 1024)
        with contextlib.suppress(OSError, MultipartError):
            while self._remaining > 0 and time.monotonic() < deadline:
                self._received = memoryview(b"")
                if self.read_into(memoryview(scratch)) == 0:
                    return

    def abort(self) -> None:
        """Wake the reading thread: the handler was cancelled (client gone, server stopping)."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._sock.close()


class StreamBody:
    """A body read through aiohttp on the event loop, for the parsing thread."""

    def __init__(self, request: web.Request, loop: asyncio.AbstractEventLoop) -> None:
        self._content = request.content
        self._loop = loop
        self._pending: bytes = b""
        self._future: concurrent.futures.Future[bytes] | None = None
        self._aborted = False

    def read_into(self, view: memoryview) -> int:
        if not self._pending:
            if self._aborted:
                raise MultipartError("The upload was interrupted")
            self._future = future = asyncio.run_coroutine_threadsafe(self._content.readany(), self._loop)
            try:
                self._pending = future.result(IDLE_TIMEOUT)
            except concurrent.futures.TimeoutError as err:
                future.cancel()
                raise MultipartError("The upload stalled: no data for too long") from err
            except concurrent.futures.CancelledError as err:
                raise MultipartError("The upload was interrupted") from err
            finally:
                self._future = None
            if not self._pending:
                return 0
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def drain(self, deadline: float) -> None:
        """Nothing to do: aiohttp reads what is left of the body after the answer (its lingering close)."""

    def abort(self) -> None:
        self._aborted = True
        future = self._future
        if future is not None:
            future.cancel()

    def close(self) -> None:
        pass


def _direct_socket(request: web.Request) -> socket.socket | None:
    """The connection's socket, if this body can be read from it directly."""
    length = request.content_length
    if length is None or length < DIRECT_MIN_BYTES:
        return None
    if hdrs.TRANSFER_ENCODING in request.headers:
        return None
    if request.headers.get(hdrs.CONTENT_ENCODING, "identity").lower() != "identity":
        return None
    transport = request.transport
    if transport is None or transport.get_extra_info("sslcontext") is not None:
        return None
    sock = transport.get_extra_info("socket")
    if sock is None or sock.type != socket.SOCK_STREAM:
        return None
    return socket.socket(sock.family, sock.type, sock.proto, fileno=socket.dup(sock.fileno()))


def _take_over(request: web.Request, sock: socket.socket) -> SocketBody:
    """Stop the event loop reading this connection and hand what it has of the body to a `SocketBody`."""
    content = request.content
    received: list[bytes] = []
    while chunk := content.read_nowait(-1):  # may refill from bytes aiohttp's parser held back
        received.append(chunk)
    transport = request.transport
    assert transport is not None
    transport.pause_reading()
    assert request.content_length is not None
    return SocketBody(b"".join(received), sock, request.content_length - content.total_bytes)


async def read_body_in_thread(request: web.Request, parse: Callable[[BodySource], T]) -> T:
    """Run `parse(source)` in an upload thread, the body coming from the socket when that is possible.

    After a direct read the connection is closed once answered, whatever the outcome. If `parse` fails,
    the rest of the body is read and dropped first (for up to `LINGER_SECONDS`), so the client sees the
    answer rather than a reset. If the handler is cancelled, the thread is woken and waited for, so that
    whatever it staged is cleaned up.
    """
    loop = asyncio.get_running_loop()
    sock = _direct_socket(request)
    source: SocketBody | StreamBody = _take_over(request, sock) if sock is not None else StreamBody(request, loop)

    def work() -> T:
        try:
            return parse(source)
        except BaseException:
            source.drain(time.monotonic() + LINGER_SECONDS)
            raise
        finally:
            source.close()

    future = loop.run_in_executor(_upload_executor(), work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        source.abort()
        with contextlib.suppress(BaseException):
            await future
        raise
    finally:
        if sock is not None:
            _close_after_answer(request)


def _close_after_answer(request: web.Request) -> None:
    """aiohttp's parser still waits for the body we read ourselves: end it, and answer with
    `Connection: close` so no further request is read from this connection."""
    request.content.feed_eof()
    request[CLOSE_CONNECTION] = True


async def close_connection_when_asked(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: the answer to a body read from the socket closes the connection, whether
    the handler or the error middleware wrote it."""
    if request.get(CLOSE_CONNECTION):
        response.force_close()
        response.headers[hdrs.CONNECTION] = "close"  # the hook runs after aiohttp chose the headers
