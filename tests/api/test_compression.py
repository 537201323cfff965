"""Large JSON answers travel gzipped when the client accepts it (as Immich's server does); the JSON inside is
the same bytes either way."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from appliance.api.compression import accepts_gzip
from tests.api.browsing import photo
from tests.api.conftest import Caller


async def _search(client: TestClient, caller: Caller, encoding: str) -> tuple[str | None, str, bytes]:
    response = await client.post("/api/search/metadata", json={"size": 50},
                                 headers={**caller.headers, "Accept-Encoding": encoding})
    assert response.status == 200
    return response.headers.get("Content-Encoding"), response.headers.get("Vary", ""), await response.read()


async def test_large_json_is_gzipped_only_for_clients_that_accept_it(client: TestClient, alice: Caller) -> None:
    for day in range(1, 4):
        await photo(client, alice, f"2024-05-0{day}T10:00:00.000Z")
    encoding, vary, packed = await _search(client, alice, "gzip, deflate")
    assert (encoding, vary) == ("gzip", "Accept-Encoding")
    plain_encoding, _, plain = await _search(client, alice, "identity")
    assert plain_encoding is None
    assert packed == plain and len(plain) > 1024
    assert (await _search(client, alice, "gzip;q=0, identity"))[0] is None


async def test_small_json_goes_as_it_is(client: TestClient) -> None:
    response = await client.get("/api/server/ping", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers
    assert await response.read() == b'{"res":"pong"}'


def test_accept_encoding_parsing() -> None:
    assert accepts_gzip("gzip")
    assert accepts_gzip("br, GZIP;q=0.5")
    assert accepts_gzip("*")
    assert not accepts_gzip("")
    assert not accepts_gzip("deflate, br")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("gzip;q=0.0")
