"""Albums shared with users by role, their statistics, order and cover; the shared/isShared/isOwned filters."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.api.browsing import get_json, make_album, photo, send_json
from tests.api.conftest import Caller
from tests.contract import assert_matches


async def test_roles_decide_who_adds_and_removes(client: TestClient, alice: Caller, bob: Caller,
                                                 make_user: object) -> None:
    carol = await make_user("Carol")  # type: ignore[operator]
    dave = await make_user("Dave")  # type: ignore[operator]
    mine = await photo(client, alice)
    album = await make_album(client, alice, [mine], [{"userId": bob.id, "role": "editor"},
                                                     {"userId": carol.id, "role": "viewer"}])
    body = await get_json(client, f"/api/albums/{album}", bob)
    assert_matches("AlbumResponseDto", body)
    assert body["albumUsers"][0]["role"] == "owner" and body["albumUsers"][0]["user"]["id"] == alice.id
    assert {(u["user"]["id"], u["role"]) for u in body["albumUsers"]} == {
        (alice.id, "owner"), (bob.id, "editor"), (carol.id, "viewer")
    }
    bobs, carols = await photo(client, bob), await photo(client, carol)
    # editor adds their own photo; viewer cannot add; stranger cannot see
    assert (await send_json(client, "PUT", f"/api/albums/{album}/assets", bob, {"ids": [bobs]}))[0]["success"]
    await send_json(client, "PUT", f"/api/albums/{album}/assets", carol, {"ids": [carols]}, status=400)
    await get_json(client, f"/api/albums/{album}", dave, status=400)
    # members see every photo in it, whoever owns it; the viewer can open bob's photo, not change it
    assert (await get_json(client, f"/api/assets/{bobs}", carol))["id"] == bobs
    await send_json(client, "PUT", f"/api/assets/{bobs}", carol, {"isFavorite": True}, status=400)
    await get_json(client, f"/api/assets/{bobs}", dave, status=400)
    # editor may remove what they added, not the owner's photo
    removed = await send_json(client, "DELETE", f"/api/albums/{album}/assets", bob, {"ids": [bobs, mine]})
    assert [r["success"] for r in removed] == [True, False]
    await send_json(client, "DELETE", f"/api/albums/{album}/assets", carol, {"ids": [mine]}, status=400)
    # only the owner changes roles and the album; a member may leave
    await send_json(client, "PUT", f"/api/albums/{album}/user/{carol.id}", bob, {"role": "editor"}, status=400)
    await send_json(client, "PUT", f"/api/albums/{album}/user/{carol.id}", alice, {"role": "editor"}, status=204)
    await send_json(client, "PATCH", f"/api/albums/{album}", bob, {"albumName": "x"}, status=400)
    await send_json(client, "DELETE", f"/api/albums/{album}/user/me", carol, status=204)
    await get_json(client, f"/api/albums/{album}", carol, status=400)
    await send_json(client, "DELETE", f"/api/albums/{album}", bob, status=400)


async def test_listing_filters_and_statistics(client: TestClient, alice: Caller, bob: Caller) -> None:
    private = await make_album(client, alice, [], name="Private")
    shared = await make_album(client, alice, [], [{"userId": bob.id, "role": "viewer"}], name="Shared")
    bobs = await make_album(client, bob, [], [{"userId": alice.id, "role": "editor"}], name="Bob's")

    async def names(**params: str) -> set[str]:
        return {a["albumName"] for a in await get_json(client, "/api/albums", alice, **params)}

    assert await names() == {"Private", "Shared", "Bob's"}
    assert await names(shared="true") == await names(isShared="true") == {"Shared", "Bob's"}
    assert await names(shared="false") == {"Private"}
    assert await names(isOwned="true") == {"Private", "Shared"}
    assert await names(isOwned="false") == {"Bob's"}
    stats = await get_json(client, "/api/albums/statistics", alice)
    assert_matches("AlbumStatisticsResponseDto", stats)
    assert stats == {"owned": 2, "shared": 2, "notShared": 1}
    assert private and shared and bobs


async def test_order_cover_and_counts(client: TestClient, alice: Caller) -> None:
    old = await photo(client, alice, "2020-01-01T00:00:00.000Z")
    new = await photo(client, alice, "2021-01-01T00:00:00.000Z")
    album = await make_album(client, alice, [old, new])
    body = await get_json(client, f"/api/albums/{album}", alice)
    assert body["albumThumbnailAssetId"] == old and body["assetCount"] == 2 and body["order"] == "desc"
    assert body["startDate"].startswith("2020") and body["endDate"].startswith("2021")
    changed = await send_json(client, "PATCH", f"/api/albums/{album}", alice,
                              {"albumThumbnailAssetId": new, "order": "asc"})
    assert changed["albumThumbnailAssetId"] == new and changed["order"] == "asc"
    outsider = await photo(client, alice)
    await send_json(client, "PATCH", f"/api/albums/{album}", alice, {"albumThumbnailAssetId": outsider}, status=400)
    # trashing a photo takes it out of the count; search by album agrees
    await send_json(client, "DELETE", "/api/assets", alice, {"ids": [old]}, status=204)
    assert (await get_json(client, f"/api/albums/{album}", alice))["assetCount"] == 1
    found = await send_json(client, "POST", "/api/search/metadata", alice, {"albumIds": [album]})
    assert [a["id"] for a in found["assets"]["items"]] == [new]
