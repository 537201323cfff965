"""Shared links: an album or some photos opened to whoever holds the key, and nothing more."""

from __future__ import annotations

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from appliance.services import Services
from tests.api.browsing import get_json, make_album, photo, send_json
from tests.api.conftest import Caller, jpeg_bytes
from tests.contract import assert_matches


async def _link(client: TestClient, owner: Caller, status: int = 201, **body: object) -> dict[str, object]:
    result: dict[str, object] = await send_json(client, "POST", "/api/shared-links", owner, body, status=status)
    return result


async def test_album_link_opens_the_album_and_its_photos_only(client: TestClient, alice: Caller) -> None:
    inside = await photo(client, alice)
    outside = await photo(client, alice)
    album = await make_album(client, alice, [inside])
    link = await _link(client, alice, type="ALBUM", albumId=album)
    assert_matches("SharedLinkResponseDto", link)
    key = str(link["key"])
    assert len(key) >= 60 and link["allowDownload"] is True and link["showMetadata"] is True
    mine = await get_json(client, "/api/shared-links/me", key=key)
    assert_matches("SharedLinkResponseDto", mine)
    assert mine["album"]["id"] == album and mine["id"] == link["id"]
    assert (await get_json(client, f"/api/albums/{album}", key=key))["assets"][0]["id"] == inside
    assert (await client.get(f"/api/assets/{inside}/original", params={"key": key})).status == 200
    assert (await client.get(f"/api/assets/{outside}/original", params={"key": key})).status == 400
    assert (await get_json(client, f"/api/assets/{inside}", key=key))["id"] == inside
    await get_json(client, f"/api/assets/{outside}", status=400, key=key)
    buckets = await get_json(client, "/api/timeline/buckets", key=key)
    assert sum(b["count"] for b in buckets) == 1
    # a key opens only shared-link routes
    assert (await client.get("/api/albums", params={"key": key})).status == 403
    await get_json(client, "/api/shared-links/me", status=401, key="not-a-key")


async def test_individual_link_and_its_asset_list(client: TestClient, alice: Caller, bob: Caller) -> None:
    a, b = await photo(client, alice), await photo(client, alice)
    bobs = await photo(client, bob)
    await _link(client, alice, status=400, type="INDIVIDUAL", assetIds=[bobs])
    await _link(client, alice, status=400, type="INDIVIDUAL", assetIds=[])
    link = await _link(client, alice, type="INDIVIDUAL", assetIds=[a])
    assert [x["id"] for x in link["assets"]] == [a]  # type: ignore[index]
    added = await send_json(client, "PUT", f"/api/shared-links/{link['id']}/assets", alice,
                            {"assetIds": [a, b, bobs]})
    assert added == [
        {"assetId": a, "success": False, "error": "duplicate"},
        {"assetId": b, "success": True},
        {"assetId": bobs, "success": False, "error": "no_permission"},
    ]
    mine = await get_json(client, "/api/shared-links/me", key=link["key"])
    assert {x["id"] for x in mine["assets"]} == {a, b}
    removed = await send_json(client, "DELETE", f"/api/shared-links/{link['id']}/assets", alice,
                              {"assetIds": [b, bobs]})
    assert removed == [{"assetId": b, "success": True}, {"assetId": bobs, "success": False, "error": "not_found"}]
    assert (await client.get(f"/api/assets/{b}/thumbnail", params={"key": link["key"]})).status == 400


async def test_owner_manages_links_and_strangers_cannot(client: TestClient, alice: Caller, bob: Caller) -> None:
    album = await make_album(client, alice, [await photo(client, alice)])
    link = await _link(client, alice, type="ALBUM", albumId=album, description="For grandma", slug="grandma")
    await _link(client, bob, status=400, type="ALBUM", albumId=album)
    assert [x["id"] for x in await get_json(client, "/api/shared-links", alice)] == [link["id"]]
    assert [x["id"] for x in await get_json(client, "/api/shared-links", alice, albumId=album)] == [link["id"]]
    assert await get_json(client, "/api/shared-links", bob) == []
    await get_json(client, f"/api/shared-links/{link['id']}", bob, status=400)
    await send_json(client, "PATCH", f"/api/shared-links/{link['id']}", bob, {"description": "x"}, status=400)
    changed = await send_json(client, "PATCH", f"/api/shared-links/{link['id']}", alice,
                              {"description": "Grandma", "allowDownload": False})
    assert (changed["description"], changed["allowDownload"]) == ("Grandma", False)
    assert (await get_json(client, "/api/shared-links/me", slug="grandma"))["id"] == link["id"]
    await _link(client, alice, status=400, type="ALBUM", albumId=album, slug="grandma")
    album_json = await get_json(client, f"/api/albums/{album}", alice)
    assert album_json["hasSharedLink"] is True and album_json["shared"] is True
    await send_json(client, "DELETE", f"/api/shared-links/{link['id']}", bob, status=400)
    await send_json(client, "DELETE", f"/api/shared-links/{link['id']}", alice, status=204)
    await get_json(client, "/api/shared-links/me", status=401, key=link["key"])


async def test_download_and_metadata_switches(client: TestClient, alice: Caller, services: Services) -> None:
    asset = await photo(client, alice, filename="secret-name.jpg")
    link = await _link(client, alice, type="INDIVIDUAL", assetIds=[asset], allowDownload=False, showMetadata=False)
    assert (link["allowDownload"], link["showMetadata"]) == (False, False)
    assert (await client.get(f"/api/assets/{asset}/original", params={"key": link["key"]})).status == 400
    mine = await get_json(client, "/api/shared-links/me", key=link["key"])
    assert mine["assets"][0]["originalFileName"] != "secret-name.jpg"
    assert "exifInfo" not in mine["assets"][0]
    # showMetadata false forces allowDownload false, as in Immich
    forced = await _link(client, alice, type="INDIVIDUAL", assetIds=[asset], showMetadata=False, allowDownload=True)
    assert forced["allowDownload"] is False


async def test_expired_link_is_refused(client: TestClient, alice: Caller) -> None:
    asset = await photo(client, alice)
    link = await _link(client, alice, type="INDIVIDUAL", assetIds=[asset], expiresAt="2001-01-01T00:00:00.000Z")
    response = await client.get("/api/shared-links/me", params={"key": link["key"]})
    assert response.status == 401
    assert (await response.json())["message"] == "Invalid share key"


async def test_password_link_needs_login_cookie(client: TestClient, alice: Caller) -> None:
    asset = await photo(client, alice)
    link = await _link(client, alice, type="INDIVIDUAL", assetIds=[asset], password="hunter2")
    key = link["key"]
    response = await client.get("/api/shared-links/me", params={"key": key})
    assert response.status == 401 and (await response.json())["message"] == "Password required"
    wrong = await client.post("/api/shared-links/login", params={"key": key}, json={"password": "nope"})
    assert wrong.status == 401
    right = await client.post("/api/shared-links/login", params={"key": key}, json={"password": "hunter2"})
    assert right.status == 201
    assert_matches("SharedLinkResponseDto", await right.json())
    token = right.cookies["immich_shared_link_token"].value
    client.session.cookie_jar.clear()  # each request below says what it presents
    response = await client.get("/api/shared-links/me", params={"key": key},
                                cookies={"immich_shared_link_token": token})
    assert response.status == 200
    # the photos themselves stay closed without the token, and open with it
    assert (await client.get(f"/api/assets/{asset}", params={"key": key})).status == 400
    opened = await client.get(f"/api/assets/{asset}", params={"key": key}, cookies={"immich_shared_link_token": token})
    assert opened.status == 200
    no_password = await _link(client, alice, type="INDIVIDUAL", assetIds=[asset])
    response = await client.post("/api/shared-links/login", params={"key": no_password["key"]},
                                 json={"password": "x"})
    assert response.status == 400


async def test_upload_through_an_album_link(client: TestClient, alice: Caller) -> None:
    album = await make_album(client, alice, [])
    closed = await _link(client, alice, type="ALBUM", albumId=album, allowUpload=False)
    open_link = await _link(client, alice, type="ALBUM", albumId=album, allowUpload=True)

    def form(seed: int) -> FormData:
        data = FormData()
        for name, value in (("deviceAssetId", f"guest-{seed}"), ("deviceId", "web"),
                            ("fileCreatedAt", "2024-01-01T00:00:00.000Z"),
                            ("fileModifiedAt", "2024-01-01T00:00:00.000Z")):
            data.add_field(name, value)
        data.add_field("assetData", jpeg_bytes(seed), filename="guest.jpg", content_type="image/jpeg")
        return data

    assert (await client.post("/api/assets", data=form(7001), params={"key": closed["key"]})).status == 403
    response = await client.post("/api/assets", data=form(7002), params={"key": open_link["key"]})
    assert response.status == 201, await response.text()
    asset_id = (await response.json())["id"]
    album_json = await get_json(client, f"/api/albums/{album}", alice)
    assert [a["id"] for a in album_json["assets"]] == [asset_id]
    assert album_json["assets"][0]["ownerId"] == alice.id
