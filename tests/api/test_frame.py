"""The frame feed: playlists from a chosen source and images rendered to the screen and cached."""

from __future__ import annotations

import io

from aiohttp.test_utils import TestClient
from PIL import Image

from appliance.services import Services
from tests.api.browsing import get_json, make_album, photo, send_json
from tests.api.conftest import Caller, jpeg_bytes


async def test_playlist_sources(client: TestClient, alice: Caller, bob: Caller) -> None:
    fav = await photo(client, alice, favorite=True)
    plain = await photo(client, alice)
    await photo(client, bob)
    album = await make_album(client, alice, [plain])
    everything = await get_json(client, "/api/appliance/frame/playlist", alice)
    assert {i["id"] for i in everything["items"]} == {fav, plain} and everything["count"] == 2
    favourites = await get_json(client, "/api/appliance/frame/playlist", alice, source="favorites")
    assert [i["id"] for i in favourites["items"]] == [fav]
    in_album = await get_json(client, "/api/appliance/frame/playlist", alice, source="album", albumId=album)
    assert [i["id"] for i in in_album["items"]] == [plain]
    await get_json(client, "/api/appliance/frame/playlist", bob, status=400, source="album", albumId=album)
    assert (await get_json(client, "/api/appliance/frame/playlist", alice, source="person"))["items"] == []
    await get_json(client, "/api/appliance/frame/playlist", alice, status=400, source="nonsense")


async def test_memories_source(client: TestClient, alice: Caller, services: Services) -> None:
    from datetime import date

    old = await photo(client, alice, "2015-11-27T10:00:00.000Z")
    await photo(client, alice, "2015-11-28T10:00:00.000Z")
    today = services.clock().date()
    await services.browse.memories.generate(date(today.year, 11, 27))
    found = await get_json(client, "/api/appliance/frame/playlist", alice, source="memories")
    expected = [old] if (today.month, today.day) == (11, 27) else []
    assert [i["id"] for i in found["items"]] == expected


async def test_shared_link_key_limits_the_frame_to_the_link(client: TestClient, alice: Caller) -> None:
    inside = await photo(client, alice, data=jpeg_bytes(11, (800, 600)))
    outside = await photo(client, alice)
    album = await make_album(client, alice, [inside])
    link = await send_json(client, "POST", "/api/shared-links", alice, {"type": "ALBUM", "albumId": album},
                           status=201)
    playlist = await get_json(client, "/api/appliance/frame/playlist", key=link["key"], width="320", height="240")
    assert [i["id"] for i in playlist["items"]] == [inside]
    url = playlist["items"][0]["url"]
    assert f"key={link['key']}" in url
    response = await client.get(url)
    assert response.status == 200 and response.content_type == "image/jpeg"
    image = Image.open(io.BytesIO(await response.read()))
    assert image.size == (320, 240)
    denied = await client.get(f"/api/appliance/frame/image/{outside}", params={"key": link["key"]})
    assert denied.status == 400


async def test_images_fit_the_screen_and_are_cached(client: TestClient, alice: Caller, services: Services) -> None:
    asset = await photo(client, alice, data=jpeg_bytes(12, (1000, 500)))
    response = await client.get(f"/api/appliance/frame/image/{asset}", params={"width": "400", "height": "400"},
                                headers=alice.headers)
    assert response.status == 200
    assert Image.open(io.BytesIO(await response.read())).size == (400, 200)  # fits, keeps its shape
    cached = list((services.settings.data_dir / "cache" / "frame").rglob("*.jpg"))
    assert [p.name for p in cached] == [f"{asset}-400x400.jpg"]
    stamp = cached[0].stat().st_mtime_ns
    again = await client.get(f"/api/appliance/frame/image/{asset}", params={"width": "400", "height": "400"},
                             headers=alice.headers)
    assert again.status == 200 and cached[0].stat().st_mtime_ns == stamp
    small = await client.get(f"/api/appliance/frame/image/{asset}", params={"width": "4000", "height": "10"},
                             headers=alice.headers)
    assert small.status == 400


async def test_frame_page_is_plain_html(client: TestClient) -> None:
    response = await client.get("/frame")
    assert response.status == 200 and response.content_type == "text/html"
    text = await response.text()
    assert "/api/appliance/frame/playlist" in text and "=>" not in text  # ES5: old browsers
