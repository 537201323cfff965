"""The streaming multipart reader behind uploads: parts come out whole however the network splits them."""

from __future__ import annotations

import asyncio
import random
from unittest import mock

import pytest
from aiohttp import StreamReader

from appliance.api.multipart import MultipartError, MultipartStream, boundary_of
from appliance.errors import BadRequest

BOUNDARY = "----shoebox7MA4YWxkTrZu0gW"


def _body(parts: list[tuple[str, str | None, bytes]], preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    out = [preamble]
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode())
        if filename:
            out.append(b"Content-Type: application/octet-stream\r\n")
        out.append(b"\r\n" + data + b"\r\n")
    out.append(f"--{BOUNDARY}--\r\n".encode() + epilogue)
    return b"".join(out)


async def _stream(body: bytes, cuts: list[int]) -> StreamReader:
    protocol = mock.Mock(_reading_paused=False)
    reader = StreamReader(protocol, 2**16, loop=asyncio.get_running_loop())
    start = 0
    for cut in sorted(set(cuts)) + [len(body)]:
        if cut > start:
            reader.feed_data(body[start:cut])
            start = cut
    reader.feed_eof()
    return reader


async def _read_all(reader: StreamReader) -> list[tuple[str, str | None, bytes]]:
    stream = MultipartStream(reader, BOUNDARY)
    found = []
    while (part := await stream.next_part()) is not None:
        if part.filename:
            pieces: list[bytes] = []

            async def keep(chunk: bytes | memoryview, pieces: list[bytes] = pieces) -> None:
                pieces.append(bytes(chunk))

            await stream.stream_file(keep)
            found.append((part.name, part.filename, b"".join(pieces)))
        else:
            found.append((part.name, None, await stream.read_field(part.name, 1 << 20)))
    return found


PARTS = [
    ("fileCreatedAt", None, b"2024-01-01T00:00:00.000Z"),
    ("assetData", "IMG_0001.jpg", random.Random(1).randbytes(300_000)),
    ("note", None, b"line one\r\n--not-the-boundary\r\n--" + BOUNDARY[:-1].encode()),
    ("sidecarData", "IMG_0001.xmp", b"\r\n--" + BOUNDARY[:-3].encode() + b"\r\n"),
]


async def test_parts_come_out_whole_in_one_piece() -> None:
    assert await _read_all(await _stream(_body(PARTS), [])) == PARTS


async def test_parts_come_out_whole_whatever_the_chunking() -> None:
    body = _body(PARTS, preamble=b"ignored preamble\r\n", epilogue=b"ignored epilogue")
    rng = random.Random(7)
    for _ in range(40):
        cuts = [rng.randrange(len(body)) for _ in range(rng.choice([3, 30, 300]))]
        assert await _read_all(await _stream(body, cuts)) == PARTS


async def test_a_delimiter_split_at_every_offset_is_still_found() -> None:
    body = _body([("assetData", "a.jpg", bytes(range(256)) * 400)])
    end = body.index(b"\r\n--" + BOUNDARY.encode() + b"--")
    for offset in range(-5, len(BOUNDARY) + 8):
        cuts = [100, 70_000, end + offset]
        assert await _read_all(await _stream(body, cuts)) == [("assetData", "a.jpg", bytes(range(256)) * 400)]


async def test_one_byte_chunks() -> None:
    parts = [("a", None, b"x" * 300), ("assetData", "b.jpg", b"\r\n-\r\n--" * 50)]
    body = _body(parts)
    assert await _read_all(await _stream(body, list(range(len(body))))) == parts


async def test_empty_parts_and_padding_after_the_delimiter() -> None:
    body = (f"--{BOUNDARY} \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"b\"; filename=\"x.jpg\"\r\n\r\n\r\n"
            f"--{BOUNDARY}--").encode()
    assert await _read_all(await _stream(body, [])) == [("a", None, b""), ("b", "x.jpg", b"")]


async def test_unread_parts_are_skipped() -> None:
    stream = MultipartStream(await _stream(_body(PARTS), [5, 500, 5000]), BOUNDARY)
    names = []
    while (part := await stream.next_part()) is not None:
        names.append(part.name)
    assert names == [name for name, _, _ in PARTS]


async def test_a_body_cut_short_is_an_error() -> None:
    body = _body(PARTS)
    for end in (0, 10, len(body) // 2, len(body) - len(BOUNDARY) - 4):
        with pytest.raises(MultipartError):
            await _read_all(await _stream(body[:end], []))


async def test_a_field_over_the_limit_is_refused() -> None:
    stream = MultipartStream(await _stream(_body([("metadata", None, b"x" * 5000)]), [100]), BOUNDARY)
    part = await stream.next_part()
    assert part is not None
    with pytest.raises(BadRequest, match="Field metadata is too large"):
        await stream.read_field(part.name, 4096)


async def test_malformed_headers_are_refused() -> None:
    body = f"--{BOUNDARY}\r\nno colon here\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(MultipartError):
        await _read_all(await _stream(body, []))


@pytest.mark.parametrize(("header", "boundary"), [
    ("multipart/form-data; boundary=abc", "abc"),
    ('multipart/form-data; charset=utf-8; BOUNDARY="a b:c"', "a b:c"),
])
def test_boundary_is_read_from_the_content_type(header: str, boundary: str) -> None:
    assert boundary_of(header) == boundary


def test_a_content_type_without_boundary_is_refused() -> None:
    with pytest.raises(MultipartError):
        boundary_of("multipart/form-data")
