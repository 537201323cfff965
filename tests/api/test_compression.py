"""Large JSON answers travel gzipped when the client accepts it (as Immich's server does); the JSON inside is
the same bytes either way."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from appliance.api.compression import accepts_gzip
from appliance.services import Services
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


async def test_a_month_of_a_million_assets_travels_gzipped_too(client: TestClient, alice: Caller) -> None:
    """~900 KB of JSON (a big month at 1M assets) is gzipped as Immich would, ISA-L making it cheap."""
    from appliance.api import compression

    assert compression.MAX_BYTES >= 1024 * 1024, "isal is a dependency (pyproject.toml)"
    body = b'{"id":[' + b",".join(b'"%036d"' % i for i in range(24_000)) + b"]}"
    assert len(body) > 900 * 1024
    packed = compression.gzip_bytes(body)
    import gzip

    assert gzip.decompress(packed) == body and len(packed) < len(body) // 4


async def test_a_month_kept_in_memory_keeps_its_gzip_until_it_changes(
    client: TestClient, alice: Caller, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Months are kept gzipped (TimelineService) and sent as kept to clients that take gzip: compressed once."""
    from appliance import gz
    from tests.api.browsing import send_json

    packed_calls = [0]
    real_gzip = gz.gzip_bytes

    def counted(data: bytes) -> bytes:
        packed_calls[0] += 1
        return real_gzip(data)

    ids = [await photo(client, alice, f"2024-05-0{day}T10:00:00.000Z") for day in range(1, 8)]

    async def month(encoding: str) -> tuple[str | None, bytes]:
        response = await client.get("/api/timeline/bucket", params={"timeBucket": "2024-05-01"},
                                    headers={**alice.headers, "Accept-Encoding": encoding})
        assert response.status == 200
        return response.headers.get("Content-Encoding"), await response.read()

    import appliance.api.compression as compression
    import appliance.library.timeline as timeline

    for module in (compression, timeline):
        monkeypatch.setattr(module, "gzip_bytes", counted)
    encoding, first = await month("gzip")
    assert encoding == "gzip" and packed_calls[0] == 1
    assert await month("gzip") == ("gzip", first) and packed_calls[0] == 1  # kept gzipped, sent as kept
    kept = [body for _, body in services.browse.timeline.cache._items.values()]
    assert kept and all(body.packed is not None and body.raw is None for body in kept)
    assert (await month("identity"))[1] == first  # the client's gunzip gives the JSON
    await send_json(client, "PUT", f"/api/assets/{ids[0]}", alice, {"isFavorite": True})
    encoding, changed = await month("gzip")
    assert encoding == "gzip" and changed != first and (await month("identity"))[1] == changed
    assert b'"isFavorite":[false,false,false,false,false,false,true]' in changed
