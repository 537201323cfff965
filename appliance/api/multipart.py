"""A streaming reader for `multipart/form-data` upload bodies, built for throughput.

aiohttp's `BodyPartReader` copies every network chunk at least twice to look for the boundary (it glues
the previous chunk to the next one). This reader hands the chunks the HTTP parser already made straight
on, as zero-copy views: only the last `len(delimiter) - 1` bytes of a chunk, which could be the start of a
delimiter split over two chunks, are held back until the next chunk shows what they are. The body is
read as sent (no Content-Transfer-Encoding decoding, which RFC 7578 deprecates and aiohttp's `read_chunk`
did not do either).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import StreamReader
from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from multidict import CIMultiDict

from appliance.errors import BadRequest

HEADERS_LIMIT = 16 * 1024  # bytes of headers one part may have
Chunk = bytes | memoryview


@dataclass
class Part:
    name: str
    filename: str | None
    headers: CIMultiDict[str]


class MultipartError(BadRequest):
    """The body is not the multipart/form-data it says it is."""


class MultipartStream:
    """Reads one body part after another: `next_part()`, then `read_field()` or `stream_file()`."""

    def __init__(self, content: StreamReader, boundary: str) -> None:
        if not boundary or len(boundary) > 200:
            raise MultipartError("Invalid multipart boundary")
        self._content = content
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        # the CRLF before the first delimiter belongs to it, so a body that starts with it still matches
        self._buffer = b"\r\n"
        self._in_part = False
        self._done = False

    async def _more(self) -> bytes:
        chunk = await self._content.readany()
        if not chunk:
            raise MultipartError("Unexpected end of the multipart body")
        return chunk

    async def next_part(self) -> Part | None:
        """Skip to the next part's headers and parse them; None after the closing delimiter."""
        if self._done:
            return None
        if self._in_part:  # the caller did not read the previous part: skip it
            await self._pass_body(lambda chunk: None)
        delimiter = self._delimiter
        while (index := self._buffer.find(delimiter)) < 0:
            self._buffer = self._buffer[-len(delimiter):] + await self._more()  # the preamble is dropped
        self._buffer = self._buffer[index + len(delimiter):]
        while len(self._buffer) < 2:
            self._buffer += await self._more()
        if self._buffer[:2] == b"--":
            self._done = True
            self._buffer = b""
            while await self._content.readany():  # the epilogue, so the connection can be reused
                pass
            return None
        while (line_end := self._buffer.find(b"\r\n")) < 0:  # transport padding up to the line's end
            if len(self._buffer) > HEADERS_LIMIT:
                raise MultipartError("Malformed multipart delimiter")
            self._buffer += await self._more()
        if self._buffer[:line_end].strip(b" \t"):
            raise MultipartError("Malformed multipart delimiter")
        self._buffer = self._buffer[line_end:]  # keep the CRLF: an empty header block is "\r\n\r\n" then
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if len(self._buffer) > HEADERS_LIMIT:
                raise MultipartError("Multipart part headers are too large")
            self._buffer += await self._more()
        raw, self._buffer = self._buffer[2:end], self._buffer[end + 4:]
        self._in_part = True
        return _parse_headers(raw)

    async def read_field(self, name: str, limit: int) -> bytes:
        """The whole body of a small part; BadRequest past `limit` bytes."""
        pieces: list[Chunk] = []
        total = 0

        def keep(chunk: Chunk) -> None:
            nonlocal total
            total += len(chunk)
            if total > limit:
                raise BadRequest(f"Field {name} is too large")
            pieces.append(chunk)

        await self._pass_body(keep)
        return b"".join(pieces)

    async def stream_file(self, write: Callable[[Chunk], Awaitable[None]]) -> None:
        """Feed the current part's body to `write`, chunk by chunk, without copying it."""
        await self._pass_body(write)

    async def _pass_body(self, emit: Callable[[Chunk], Awaitable[None] | None]) -> None:
        delimiter = self._delimiter
        held = len(delimiter) - 1  # bytes at a chunk's end that may start a delimiter
        data, self._buffer = self._buffer, b""
        while True:
            index = data.find(delimiter)
            if index >= 0:
                if index:
                    await _call(emit, memoryview(data)[:index])
                self._buffer = data[index:]
                self._in_part = False
                return
            if len(data) > held:
                await _call(emit, memoryview(data)[: len(data) - held])
                data = data[len(data) - held:]
            chunk = await self._more()
            if len(chunk) < 4 * len(delimiter):
                data += chunk
                continue
            # does a delimiter straddle the two? only the held bytes plus the chunk's head can tell
            junction = data + chunk[:held]
            index = junction.find(delimiter)
            if index >= 0:
                data += chunk
                continue  # found again (and emitted up to it) at the top
            if data:
                await _call(emit, data)
            data = chunk


async def _call(emit: Callable[[Chunk], Awaitable[None] | None], chunk: Chunk) -> None:
    result = emit(chunk)
    if result is not None:
        await result


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
