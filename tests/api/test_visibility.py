"""Favourites, archive and the locked folder as the timeline, search and statistics see them."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.api.browsing import get_json, photo, send_json
from tests.api.conftest import Caller


async def test_archive_favourite_and_locked_are_kept_apart(client: TestClient, alice: Caller) -> None:
    plain = await photo(client, alice, "2024-01-01T00:00:00.000Z")
    fav = await photo(client, alice, "2024-01-02T00:00:00.000Z", favorite=True)
    archived = await photo(client, alice, "2024-01-03T00:00:00.000Z", visibility="archive")
    locked = await photo(client, alice, "2024-01-04T00:00:00.000Z", visibility="locked")

    async def bucket(**params: str) -> set[str]:
        return set((await get_json(client, "/api/timeline/bucket", alice, timeBucket="2024-01-01", **params))["id"])

    assert await bucket(visibility="timeline") == {plain, fav}
    assert await bucket(visibility="archive") == {archived}
    assert await bucket(visibility="locked") == {locked}
    assert await bucket(isFavorite="true") == {fav}
    assert await bucket() == {plain, fav, archived}  # no visibility: timeline and archive, never locked
    found = await send_json(client, "POST", "/api/search/metadata", alice, {})
    assert {a["id"] for a in found["assets"]["items"]} == {plain, fav, archived}
    stats = await get_json(client, "/api/assets/statistics", alice, visibility="archive")
    assert stats == {"images": 1, "videos": 0, "total": 1}
    await send_json(client, "PUT", "/api/assets", alice, {"ids": [plain], "visibility": "archive"}, status=204)
    assert await bucket(visibility="archive") == {archived, plain}
    assert (await get_json(client, f"/api/assets/{plain}", alice))["isArchived"] is True
