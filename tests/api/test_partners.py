"""Partners: one user opens their whole library to another."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.api.browsing import get_json, photo, send_json
from tests.api.conftest import Caller
from tests.contract import assert_matches


async def test_partner_lifecycle(client: TestClient, alice: Caller, bob: Caller) -> None:
    created = await send_json(client, "POST", "/api/partners", alice, {"sharedWithId": bob.id}, status=201)
    assert_matches("PartnerResponseDto", created)
    assert (created["id"], created["inTimeline"]) == (bob.id, False)
    await send_json(client, "POST", "/api/partners", alice, {"sharedWithId": bob.id}, status=400)
    await send_json(client, "POST", "/api/partners", alice, {"sharedWithId": alice.id}, status=400)
    assert [p["id"] for p in await get_json(client, "/api/partners", alice, direction="shared-by")] == [bob.id]
    assert [p["id"] for p in await get_json(client, "/api/partners", bob, direction="shared-with")] == [alice.id]
    assert await get_json(client, "/api/partners", bob, direction="shared-by") == []
    await get_json(client, "/api/partners", bob, status=400)  # direction is required
    updated = await send_json(client, "PUT", f"/api/partners/{alice.id}", bob, {"inTimeline": True})
    assert updated["inTimeline"] is True and updated["id"] == alice.id
    await send_json(client, "PUT", f"/api/partners/{bob.id}", alice, {"inTimeline": True}, status=400)
    await send_json(client, "DELETE", f"/api/partners/{bob.id}", alice, status=204)
    await send_json(client, "DELETE", f"/api/partners/{bob.id}", alice, status=400)


async def test_partner_can_read_but_not_change(client: TestClient, alice: Caller, bob: Caller,
                                               make_user: object) -> None:
    carol = await make_user("Carol")  # type: ignore[operator]
    asset = await photo(client, alice)
    locked = await photo(client, alice, visibility="locked")
    await get_json(client, f"/api/assets/{asset}", bob, status=400)
    await send_json(client, "POST", "/api/partners", alice, {"sharedWithId": bob.id}, status=201)
    assert (await get_json(client, f"/api/assets/{asset}", bob))["id"] == asset
    await get_json(client, f"/api/assets/{locked}", bob, status=400)
    await get_json(client, f"/api/assets/{asset}", carol, status=400)
    await send_json(client, "PUT", f"/api/assets/{asset}", bob, {"isFavorite": True}, status=400)
    await send_json(client, "DELETE", "/api/assets", bob, {"ids": [asset]}, status=400)
    # with inTimeline, search includes the partner's photos
    await send_json(client, "PUT", f"/api/partners/{alice.id}", bob, {"inTimeline": True})
    found = await send_json(client, "POST", "/api/search/metadata", bob, {})
    assert [a["id"] for a in found["assets"]["items"]] == [asset]


async def test_search_pages_through_my_photos_and_my_partners_merged_by_date(
    client: TestClient, alice: Caller, bob: Caller
) -> None:
    mine = [await photo(client, bob, f"2020-0{m}-01T10:00:00.000Z") for m in (1, 3, 5, 7)]
    theirs = [await photo(client, alice, f"2020-0{m}-01T10:00:00.000Z") for m in (2, 4, 6)]
    await send_json(client, "POST", "/api/partners", alice, {"sharedWithId": bob.id}, status=201)
    await send_json(client, "PUT", f"/api/partners/{alice.id}", bob, {"inTimeline": True})
    newest_first = [mine[3], theirs[2], mine[2], theirs[1], mine[1], theirs[0], mine[0]]
    for order, expected in (("desc", newest_first), ("asc", newest_first[::-1])):
        seen: list[str] = []
        page: str | None = "1"
        while page:
            found = await send_json(client, "POST", "/api/search/metadata", bob,
                                    {"size": 3, "page": int(page), "order": order})
            seen += [a["id"] for a in found["assets"]["items"]]
            page = found["assets"]["nextPage"]
        assert seen == expected
    only_favourites = await send_json(client, "POST", "/api/search/metadata", bob, {"isFavorite": False, "size": 2})
    assert [a["id"] for a in only_favourites["assets"]["items"]] == newest_first[:2]
