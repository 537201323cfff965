"""A streaming parser for `multipart/form-data` upload bodies, built for throughput. Blocking: run it in a
thread.

It reads the body into one reusable buffer (`BodySource.read_into`, which for a large upload is the
socket itself, see `upload_body.py`) and hands a file part's bytes on as views into that buffer: no copy
between the socket and the disk but the kernel's. Only the last `len(delimiter) - 1` bytes of the buffer,
which could be the start of a delimiter that the next read completes, are held back. The body is read as
sent (no Content-Transfer-Encoding decoding, which RFC 7578 deprecates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from multidict import CIMultiDict

from appliance.errors import BadRequest

HEADERS_LIMIT = 16 * 1024  # bytes of headers one part may have
BUFFER_SIZE = 1024 * 1024  # one read from the body at most; a file part is written in pieces of about this
FULL_ENOUGH = BUFFER_SIZE // 2  # a file part's bytes are handed on once this many are buffered


class BodySource(Protocol):
    def read_into(self, view: memoryview) -> int:
        """Fill the start of `view` with the body's next bytes; 0 once the body has ended."""


@dataclass
class Part:
    name: str
    filename: str | None
    headers: CIMultiDict[str]


class MultipartError(BadRequest):
    """The body is not the multipart/form-data it says it is."""


class MultipartParser:
    """Reads one body part after another: `next_part()`, then `read_field()` or `stream_file()`."""

    def __init__(self, source: BodySource, boundary: str, buffer_size: int = BUFFER_SIZE) -> None:
        if not boundary or len(boundary) > 200:
            raise MultipartError("Invalid multipart boundary")
        self._source = source
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        self._buffer = bytearray(max(buffer_size, 2 * HEADERS_LIMIT))
        self._view = memoryview(self._buffer)
        # the CRLF before the first delimiter belongs to it, so a body that starts with it still matches
        self._buffer[:2] = b"\r\n"
        self._start, self._end = 0, 2  # the unparsed bytes are buffer[start:end]
        self._in_part = False
        self._done = False
        self._source_ended = False

    # --- reading ---------------------------------------------------------------------------------
    def _read_more(self) -> bool:
        """Append what the source has next after the unparsed bytes (moved to the front if the buffer's
        tail is short); False once the body has ended."""
        if self._source_ended:
            return False
        if self._end == len(self._buffer) or (self._start and len(self._buffer) - self._end < FULL_ENOUGH):
            unparsed = self._end - self._start
            self._buffer[:unparsed] = self._view[self._start:self._end]
            self._start, self._end = 0, unparsed
        if self._end == len(self._buffer):
            raise MultipartError("Multipart part headers are too large")
        count = self._source.read_into(self._view[self._end:])
        if count == 0:
            self._source_ended = True
            return False
        self._end += count
        return True

    def _need_more(self) -> None:
        if not self._read_more():
            raise MultipartError("Unexpected end of the multipart body")

    def _find(self, what: bytes, limit: int | None = None, message: str = "") -> int:
        """Index in the buffer of the next `what` among the unparsed bytes, reading as needed."""
        searched = self._start
        while (index := self._buffer.find(what, searched, self._end)) < 0:
            if limit is not None and self._end - self._start > limit:
                raise MultipartError(message)
            searched = max(self._start, self._end - len(what) + 1)
            offset = self._start
            self._need_more()
            searched -= offset - self._start  # the bytes may have moved to the front
        return index

    # --- parts -----------------------------------------------------------------------------------
    def next_part(self) -> Part | None:
        """Skip to the next part's headers and parse them; None after the closing delimiter."""
        if self._done:
            return None
        if self._in_part:  # the caller did not read the previous part: skip it
            self._pass_body(lambda chunk: None)
        delimiter = self._delimiter
        while (index := self._buffer.find(delimiter, self._start, self._end)) < 0:
            self._start = max(self._start, self._end - len(delimiter))  # the preamble is dropped
            self._need_more()
        self._start = index + len(delimiter)
        while self._end - self._start < 2:
            self._need_more()
        if self._buffer[self._start:self._start + 2] == b"--":
            self._done = True
            self._start = self._end
            while self._read_more():  # the epilogue, so the whole body has been read
                self._start = self._end
            return None
        line_end = self._find(b"\r\n", HEADERS_LIMIT, "Malformed multipart delimiter")
        if bytes(self._view[self._start:line_end]).strip(b" \t"):  # transport padding only
            raise MultipartError("Malformed multipart delimiter")
        self._start = line_end  # keep the CRLF: an empty header block is "\r\n\r\n" then
        end = self._find(b"\r\n\r\n", HEADERS_LIMIT, "Multipart part headers are too large")
        raw = bytes(self._view[self._start + 2:end])
        self._start = end + 4
        self._in_part = True
        return _parse_headers(raw)

    def read_field(self, name: str, limit: int) -> bytes:
        """The whole body of a small part; BadRequest past `limit` bytes."""
        pieces: list[bytes] = []
        total = 0

        def keep(chunk: memoryview) -> None:
            nonlocal total
            total += len(chunk)
            if total > limit:
                raise BadRequest(f"Field {name} is too large")
            pieces.append(bytes(chunk))

        self._pass_body(keep)
        return b"".join(pieces)

    def stream_file(self, write: Callable[[memoryview], None]) -> None:
        """Feed the current part's body to `write` in views of the buffer, valid only during the call."""
        self._pass_body(write)

    def _pass_body(self, emit: Callable[[memoryview], None]) -> None:
        delimiter = self._delimiter
        held = len(delimiter) - 1  # bytes at the buffer's end that may start a delimiter
        searched = self._start
        while True:
            index = self._buffer.find(delimiter, searched, self._end)
            if index >= 0:
                if index > self._start:
                    emit(self._view[self._start:index])
                self._start = index
                self._in_part = False
                return
            safe = self._end - held
            if safe - self._start >= FULL_ENOUGH or (self._end == len(self._buffer) and safe > self._start):
                emit(self._view[self._start:safe])
                self._start = safe
            searched = max(self._start, self._end - held)
            offset = self._start
            self._need_more()
            searched -= offset - self._start


def _parse_headers(raw: bytes) -> Part:
    headers: CIMultiDict[str] = CIMultiDict()
    for line in raw.split(b"\r\n"):
        if not line:
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name.strip():
            raise MultipartError("Malformed multipart part header")
        headers.add(name.strip().decode("latin-1"), value.strip().decode("utf-8", errors="replace"))
    _, params = parse_content_disposition(headers.get("Content-Disposition"))
    return Part(
        name=content_disposition_filename(params, "name") or "",
        filename=content_disposition_filename(params, "filename"),
        headers=headers,
    )


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a `multipart/form-data; boundary=...` header."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    raise MultipartError("Missing multipart boundary")
