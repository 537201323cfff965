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
