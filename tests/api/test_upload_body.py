"""Where an upload's body is read from: a large one straight from the socket by the parsing thread, the rest
through aiohttp. Whichever way, the bytes stored are the bytes sent, and a refusal reaches the client."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from appliance.api import upload_body
from appliance.services import Services
from tests.api.conftest import Caller, jpeg_bytes

BOUNDARY = "shoeboxBodyTest"


def _multipart(data: bytes, filename: str = "clip.mp4") -> bytes:
    return (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"fileCreatedAt\"\r\n\r\n2024-01-01T00:00:00Z\r\n"
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"fileModifiedAt\"\r\n\r\n2024-01-01T00:00:00Z\r\n"
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"assetData\"; filename=\"{filename}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


async def _raw_post(client: TestClient, caller: Caller, pieces: list[bytes], *, chunked: bool = False,
                    length: int | None = None, half_close: bool = False) -> tuple[int, dict[str, str], dict]:
    """POST /api/assets over a plain socket, the body sent in `pieces` with a pause between them."""
    server = client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    body_length = sum(len(piece) for piece in pieces) if length is None else length
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: " + str(body_length).encode()
    writer.write(b"POST /api/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + caller.token.encode()
                 + b"\r\nContent-Type: multipart/form-data; boundary=" + BOUNDARY.encode() + b"\r\n"
                 + framing + b"\r\n\r\n")
    for piece in pieces:
        writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        await writer.drain()
        await asyncio.sleep(0.05)
    if chunked:
        writer.write(b"0\r\n\r\n")
    if half_close:
        writer.write_eof()
    await writer.drain()
    answer = await _read_answer(reader)
    writer.close()
    return answer


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], dict]:
    """Status, headers (lower-case names) and JSON body of one HTTP answer."""
    status = int((await reader.readline()).split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, json.loads(await reader.readexactly(int(headers["content-length"])))


async def _original(client: TestClient, caller: Caller, asset_id: str) -> bytes:
    response = await client.get(f"/api/assets/{asset_id}/original", headers=caller.headers)
    assert response.status == 200
    return await response.read()


def _staging_empty(services: Services) -> bool:
    return list((services.settings.data_dir / "upload-tmp").iterdir()) == []


async def test_a_large_upload_is_stored_whole_and_its_answer_closes_the_connection(
        client: TestClient, alice: Caller) -> None:
    data = random.Random(1).randbytes(3_000_000)
    form = FormData()
    form.add_field("fileCreatedAt", "2024-01-01T00:00:00Z")
    form.add_field("fileModifiedAt", "2024-01-01T00:00:00Z")
    form.add_field("assetData", data, filename="clip.mp4", content_type="application/octet-stream")
    response = await client.post("/api/assets", data=form, headers=alice.headers)
    assert response.status == 201 and response.headers["Connection"] == "close"
    created = await response.json()
    assert await _original(client, alice, created["id"]) == data  # the session opened a new connection


async def test_a_small_upload_keeps_the_connection_open(client: TestClient, alice: Caller) -> None:
    form = FormData()
    form.add_field("fileCreatedAt", "2024-01-01T00:00:00Z")
    form.add_field("fileModifiedAt", "2024-01-01T00:00:00Z")
    form.add_field("assetData", jpeg_bytes(3), filename="small.jpg", content_type="image/jpeg")
    response = await client.post("/api/assets", data=form, headers=alice.headers)
    assert response.status == 201 and response.headers.get("Connection", "").lower() != "close"


@pytest.mark.parametrize("first", [0, 1, 300, 700_000, -20, -1])
async def test_bytes_received_before_the_takeover_are_kept(client: TestClient, alice: Caller, first: int) -> None:
    """However much of the body arrived with the headers, the thread reading the socket starts after it."""
    data = random.Random(first).randbytes(2_500_000)
    body = _multipart(data)
    cut = first % len(body)
    status, headers, created = await _raw_post(client, alice, [body[:cut], body[cut:]])
    assert status == 201 and headers["connection"] == "close"
    assert await _original(client, alice, created["id"]) == data


async def test_a_body_trickling_in_small_pieces_is_stored_whole(client: TestClient, alice: Caller) -> None:
    data = random.Random(5).randbytes(1_500_000)
    body = _multipart(data)
    pieces = [body[i:i + 100_000] for i in range(0, len(body), 100_000)]
    status, _, created = await _raw_post(client, alice, pieces)
    assert status == 201
    assert await _original(client, alice, created["id"]) == data


async def test_a_chunked_large_upload_is_read_through_aiohttp(client: TestClient, alice: Caller) -> None:
    data = random.Random(6).randbytes(2_000_000)
    body = _multipart(data)
    status, headers, created = await _raw_post(client, alice, [body[:1_000_000], body[1_000_000:]], chunked=True)
    assert status == 201 and headers.get("connection", "").lower() != "close"
    assert await _original(client, alice, created["id"]) == data


async def test_a_refused_large_upload_is_answered_not_reset(client: TestClient, alice: Caller,
                                                           services: Services) -> None:
    """The file type is refused before its bytes: the rest is read and dropped so the answer arrives."""
    body = _multipart(random.Random(7).randbytes(4_000_000), filename="notes.txt")
    status, headers, answer = await _raw_post(client, alice, [body[:2_000_000], body[2_000_000:]])
    assert status == 400 and answer["message"] == "Unsupported file type notes.txt"
    assert headers["connection"] == "close"
    assert _staging_empty(services)


async def test_a_body_shorter_than_announced_is_400_and_leaves_nothing(client: TestClient, alice: Caller,
                                                                      services: Services) -> None:
    body = _multipart(random.Random(8).randbytes(2_000_000))
    status, _, answer = await _raw_post(client, alice, [body[:1_500_000]], length=len(body), half_close=True)
    assert status == 400 and answer["message"] == "Unexpected end of the multipart body"
    assert _staging_empty(services)
    assert (await client.get("/api/server/ping")).status == 200


async def test_the_threshold_decides_the_path(client: TestClient, alice: Caller,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the threshold the body goes through aiohttp and the connection stays open."""
    monkeypatch.setattr(upload_body, "DIRECT_MIN_BYTES", 10_000_000)
    data = random.Random(9).randbytes(2_000_000)
    status, headers, created = await _raw_post(client, alice, [_multipart(data)])
    assert status == 201 and headers.get("connection", "").lower() != "close"
    assert await _original(client, alice, created["id"]) == data


async def test_a_client_that_waits_for_100_continue_gets_it_then_sends(client: TestClient, alice: Caller) -> None:
    """curl asks before sending a body over 1 MB; the takeover happens after aiohttp's interim answer."""
    data = random.Random(10).randbytes(2_000_000)
    body = _multipart(data)
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(b"POST /api/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice.token.encode()
                 + b"\r\nContent-Type: multipart/form-data; boundary=" + BOUNDARY.encode()
                 + b"\r\nExpect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.1 100")
    assert await reader.readline() == b"\r\n"
    writer.write(body)
    await writer.drain()
    status, _, created = await _read_answer(reader)
    writer.close()
    assert status == 201
    assert await _original(client, alice, created["id"]) == data


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_client_that_stalls_mid_body_gets_400_and_leaves_nothing(
        client: TestClient, alice: Caller, services: Services, monkeypatch: pytest.MonkeyPatch, chunked: bool) -> None:
    """A phone that sleeps in the middle of an upload does not hold an upload thread for ever."""
    monkeypatch.setattr(upload_body, "IDLE_TIMEOUT", 0.5)
    body = _multipart(random.Random(11).randbytes(2_000_000))
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: " + str(len(body)).encode()
    sent = body[:1_200_000]
    writer.write(b"POST /api/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice.token.encode()
                 + b"\r\nContent-Type: multipart/form-data; boundary=" + BOUNDARY.encode() + b"\r\n" + framing
                 + b"\r\n\r\n" + (b"%x\r\n%s\r\n" % (len(sent), sent) if chunked else sent))
    await writer.drain()
    status, _, answer = await asyncio.wait_for(_read_answer(reader), 20)
    writer.close()
    assert status == 400 and answer["message"] == "The upload stalled: no data for too long"
    assert _staging_empty(services)
