"""The streaming multipart reader behind uploads: parts come out whole however the network splits them."""

from __future__ import annotations

import random

import pytest

from appliance.api.multipart import MultipartError, MultipartParser, boundary_of
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


class ChunkedBody:
    """A body arriving in the pieces the network happened to cut it into."""

    def __init__(self, body: bytes, cuts: list[int]) -> None:
        bounds = [0, *sorted({cut for cut in cuts if 0 < cut < len(body)}), len(body)]
        self.pieces = [body[start:end] for start, end in zip(bounds, bounds[1:], strict=False) if end > start]

    def read_into(self, view: memoryview) -> int:
        if not self.pieces:
            return 0
        piece = self.pieces[0]
        count = min(len(view), len(piece))
        view[:count] = piece[:count]
        if count < len(piece):
            self.pieces[0] = piece[count:]
        else:
            self.pieces.pop(0)
        return count


def _stream(body: bytes, cuts: list[int], buffer_size: int = 64 * 1024) -> MultipartParser:
    return MultipartParser(ChunkedBody(body, cuts), BOUNDARY, buffer_size)


def _read_all(parser: MultipartParser) -> list[tuple[str, str | None, bytes]]:
    found = []
    while (part := parser.next_part()) is not None:
        if part.filename:
            pieces: list[bytes] = []
            parser.stream_file(lambda chunk, pieces=pieces: pieces.append(bytes(chunk)))  # type: ignore[misc]
            found.append((part.name, part.filename, b"".join(pieces)))
        else:
            found.append((part.name, None, parser.read_field(part.name, 1 << 20)))
    return found


PARTS = [
    ("fileCreatedAt", None, b"2024-01-01T00:00:00.000Z"),
    ("assetData", "IMG_0001.jpg", random.Random(1).randbytes(300_000)),
    ("note", None, b"line one\r\n--not-the-boundary\r\n--" + BOUNDARY[:-1].encode()),
    ("sidecarData", "IMG_0001.xmp", b"\r\n--" + BOUNDARY[:-3].encode() + b"\r\n"),
]


def test_parts_come_out_whole_in_one_piece() -> None:
    assert _read_all(_stream(_body(PARTS), [])) == PARTS


def test_parts_come_out_whole_whatever_the_chunking() -> None:
    body = _body(PARTS, preamble=b"ignored preamble\r\n", epilogue=b"ignored epilogue")
    rng = random.Random(7)
    for _ in range(40):
        cuts = [rng.randrange(len(body)) for _ in range(rng.choice([3, 30, 300]))]
        assert _read_all(_stream(body, cuts)) == PARTS


def test_a_delimiter_split_at_every_offset_is_still_found() -> None:
    body = _body([("assetData", "a.jpg", bytes(range(256)) * 400)])
    end = body.index(b"\r\n--" + BOUNDARY.encode() + b"--")
    for offset in range(-5, len(BOUNDARY) + 8):
        cuts = [100, 70_000, end + offset]
        assert _read_all(_stream(body, cuts)) == [("assetData", "a.jpg", bytes(range(256)) * 400)]


def test_one_byte_chunks() -> None:
    parts = [("a", None, b"x" * 300), ("assetData", "b.jpg", b"\r\n-\r\n--" * 50)]
    body = _body(parts)
    assert _read_all(_stream(body, list(range(len(body))))) == parts


def test_empty_parts_and_padding_after_the_delimiter() -> None:
    body = (f"--{BOUNDARY} \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"b\"; filename=\"x.jpg\"\r\n\r\n\r\n"
            f"--{BOUNDARY}--").encode()
    assert _read_all(_stream(body, [])) == [("a", None, b""), ("b", "x.jpg", b"")]


def test_unread_parts_are_skipped() -> None:
    stream = _stream(_body(PARTS), [5, 500, 5000])
    names = []
    while (part := stream.next_part()) is not None:
        names.append(part.name)
    assert names == [name for name, _, _ in PARTS]


def test_a_body_cut_short_is_an_error() -> None:
    body = _body(PARTS)
    for end in (0, 10, len(body) // 2, len(body) - len(BOUNDARY) - 4):
        with pytest.raises(MultipartError):
            _read_all(_stream(body[:end], []))


def test_a_field_over_the_limit_is_refused() -> None:
    stream = _stream(_body([("metadata", None, b"x" * 5000)]), [100])
    part = stream.next_part()
    assert part is not None
    with pytest.raises(BadRequest, match="Field metadata is too large"):
        stream.read_field(part.name, 4096)


def test_malformed_headers_are_refused() -> None:
    body = f"--{BOUNDARY}\r\nno colon here\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(MultipartError):
        _read_all(_stream(body, []))


@pytest.mark.parametrize(("header", "boundary"), [
    ("multipart/form-data; boundary=abc", "abc"),
    ('multipart/form-data; charset=utf-8; BOUNDARY="a b:c"', "a b:c"),
])
def test_boundary_is_read_from_the_content_type(header: str, boundary: str) -> None:
    assert boundary_of(header) == boundary


def test_a_content_type_without_boundary_is_refused() -> None:
    with pytest.raises(MultipartError):
        boundary_of("multipart/form-data")


@pytest.mark.parametrize("buffer_size", [32 * 1024, 1024 * 1024])
def test_a_file_many_times_the_buffer_comes_out_whole(buffer_size: int) -> None:
    data = random.Random(3).randbytes(3_000_000) + b"\r\n--" + BOUNDARY[:-1].encode() + b"tail"
    parts = [("fileCreatedAt", None, b"2024"), ("assetData", "big.mp4", data), ("after", None, b"x")]
    body = _body(parts)
    rng = random.Random(11)
    for cuts in ([], [rng.randrange(len(body)) for _ in range(200)], list(range(0, len(body), 65_536))):
        assert _read_all(_stream(body, cuts, buffer_size)) == parts


def test_headers_over_the_limit_are_refused() -> None:
    body = f"--{BOUNDARY}\r\nX-Long: {'a' * 40_000}\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(MultipartError, match="too large"):
        _read_all(_stream(body, [1000, 20_000]))
