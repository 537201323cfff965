"""Albums: making them, filling them, sharing them with the family."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.api.conftest import Caller, jpeg_bytes, upload
from tests.contract import assert_matches


async def _assets(client: TestClient, caller: Caller, count: int, seed: int) -> list[str]:
    ids = []
    for n in range(count):
        _, body = await upload(client, caller, jpeg_bytes(seed + n), f"{seed + n}.jpg")
        ids.append(body["id"])
    return ids


async def test_create_fill_and_read_an_album(client: TestClient, alice: Caller) -> None:
    ids = await _assets(client, alice, 3, 100)
    created = await client.post("/api/albums", headers=alice.headers,
                                json={"albumName": "Holiday", "description": "Alps", "assetIds": ids[:1]})
    assert created.status == 201
    album = await created.json()
    assert_matches("AlbumResponseDto", album)
    assert album["assetCount"] == 1 and album["albumThumbnailAssetId"] == ids[0]
    assert album["albumUsers"][0]["role"] == "owner" and album["albumUsers"][0]["user"]["id"] == alice.id
    added = await client.put(f"/api/albums/{album['id']}/assets", headers=alice.headers, json={"ids": ids})
    assert added.status == 200
    assert await added.json() == [{"id": ids[0], "success": False, "error": "duplicate"},
                                  {"id": ids[1], "success": True}, {"id": ids[2], "success": True}]
    full = await (await client.get(f"/api/albums/{album['id']}", headers=alice.headers)).json()
    assert full["assetCount"] == 3 and {a["id"] for a in full["assets"]} == set(ids)
    lean = await (await client.get(f"/api/albums/{album['id']}", params={"withoutAssets": "true"},
                                   headers=alice.headers)).json()
    assert "assets" not in lean
    listed = await (await client.get("/api/albums", headers=alice.headers)).json()
    assert [a["albumName"] for a in listed] == ["Holiday"]
    containing = await (await client.get("/api/albums", params={"assetId": ids[2]}, headers=alice.headers)).json()
    assert [a["id"] for a in containing] == [album["id"]]


async def test_rename_reorder_remove_and_delete(client: TestClient, alice: Caller) -> None:
    ids = await _assets(client, alice, 2, 110)
    album = await (await client.post("/api/albums", headers=alice.headers,
                                      json={"albumName": "Old", "assetIds": ids})).json()
    patched = await client.patch(f"/api/albums/{album['id']}", headers=alice.headers,
                                 json={"albumName": "New", "order": "asc", "albumThumbnailAssetId": ids[1]})
    body = await patched.json()
    assert (body["albumName"], body["order"], body["albumThumbnailAssetId"]) == ("New", "asc", ids[1])
    removed = await client.delete(f"/api/albums/{album['id']}/assets", headers=alice.headers, json={"ids": ids[1:]})
    assert await removed.json() == [{"id": ids[1], "success": True}]
    after = await (await client.get(f"/api/albums/{album['id']}", headers=alice.headers)).json()
    assert after["assetCount"] == 1 and after["albumThumbnailAssetId"] == ids[0]
    assert (await client.delete(f"/api/albums/{album['id']}", headers=alice.headers)).status == 204
    assert (await client.get(f"/api/albums/{album['id']}", headers=alice.headers)).status == 400


async def test_sharing_with_roles(client: TestClient, alice: Caller, bob: Caller) -> None:
    ids = await _assets(client, alice, 1, 120)
    bobs = await _assets(client, bob, 1, 130)
    album = await (await client.post("/api/albums", headers=alice.headers, json={
        "albumName": "Family", "assetIds": ids, "albumUsers": [{"userId": bob.id, "role": "viewer"}]})).json()
    assert album["shared"] is True and {u["role"] for u in album["albumUsers"]} == {"owner", "viewer"}
    # a viewer sees the album and its photos but cannot add
    assert (await client.get(f"/api/albums/{album['id']}", headers=bob.headers)).status == 200
    assert (await client.get(f"/api/assets/{ids[0]}/original", headers=bob.headers)).status == 200
    assert (await client.put(f"/api/albums/{album['id']}/assets", headers=bob.headers,
                             json={"ids": bobs})).status == 400
    # promoted to editor, he can add his own photo; still no renaming
    assert (await client.put(f"/api/albums/{album['id']}/user/{bob.id}", headers=alice.headers,
                             json={"role": "editor"})).status == 204
    added = await client.put(f"/api/albums/{album['id']}/assets", headers=bob.headers, json={"ids": bobs})
    assert (await added.json())[0]["success"] is True
    assert (await client.patch(f"/api/albums/{album['id']}", headers=bob.headers,
                               json={"albumName": "Mine"})).status == 400
    # alice sees bob's photo through the album
    assert (await client.get(f"/api/assets/{bobs[0]}", headers=alice.headers)).status == 200
    shared = await (await client.get("/api/albums", params={"isShared": "true"}, headers=bob.headers)).json()
    assert [a["id"] for a in shared] == [album["id"]]
    stats = await (await client.get("/api/albums/statistics", headers=alice.headers)).json()
    assert stats == {"owned": 1, "shared": 1, "notShared": 0}
    # bob leaves
    assert (await client.delete(f"/api/albums/{album['id']}/user/me", headers=bob.headers)).status == 204
    assert (await client.get(f"/api/albums/{album['id']}", headers=bob.headers)).status == 400


async def test_add_many_assets_to_many_albums(client: TestClient, alice: Caller) -> None:
    ids = await _assets(client, alice, 2, 140)
    one = await (await client.post("/api/albums", headers=alice.headers, json={"albumName": "1"})).json()
    two = await (await client.post("/api/albums", headers=alice.headers, json={"albumName": "2"})).json()
    response = await client.put("/api/albums/assets", headers=alice.headers,
                                json={"albumIds": [one["id"], two["id"]], "assetIds": ids})
    assert await response.json() == {"success": True}
    for album in (one, two):
        body = await (await client.get(f"/api/albums/{album['id']}", headers=alice.headers)).json()
        assert body["assetCount"] == 2
