"""Memories: "on this day" made by the daily job, read by frames and apps, edited by their owner."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient

from appliance.services import Services
from tests.api.browsing import get_json, photo, send_json
from tests.api.conftest import Caller
from tests.contract import assert_matches


async def test_generated_on_this_day_memories(client: TestClient, alice: Caller, bob: Caller,
                                              services: Services) -> None:
    old = [await photo(client, alice, f"{y}-11-27T12:00:00.000Z") for y in (2019, 2019, 2021)]
    await photo(client, alice, "2021-11-28T12:00:00.000Z")  # another day
    await photo(client, alice, "2026-11-27T08:00:00.000Z")  # this year is not a memory
    assert await services.browse.memories.generate(date(2026, 11, 27)) == 2
    assert await services.browse.memories.generate(date(2026, 11, 27)) == 0  # idempotent
    memories = await get_json(client, "/api/memories", alice, **{"for": "2026-11-27T09:00:00.000Z"})
    for memory in memories:
        assert_matches("MemoryResponseDto", memory)
    assert [m["data"]["year"] for m in memories] == [2021, 2019]
    assert {a["id"] for m in memories for a in m["assets"]} == set(old)
    assert await get_json(client, "/api/memories", alice, **{"for": "2026-11-29T09:00:00.000Z"}) == []
    assert await get_json(client, "/api/memories", bob) == []
    stats = await get_json(client, "/api/memories/statistics", alice, **{"for": "2026-11-27T09:00:00.000Z"})
    assert stats == {"total": 2}


async def test_memory_crud_and_assets(client: TestClient, alice: Caller, bob: Caller) -> None:
    a, b = await photo(client, alice), await photo(client, alice)
    bobs = await photo(client, bob)
    memory = await send_json(client, "POST", "/api/memories", alice, {
        "type": "on_this_day", "data": {"year": 2020}, "memoryAt": "2020-05-01T00:00:00.000Z", "assetIds": [a],
    }, status=201)
    assert_matches("MemoryResponseDto", memory)
    added = await send_json(client, "PUT", f"/api/memories/{memory['id']}/assets", alice, {"ids": [a, b, bobs]})
    assert [r["success"] for r in added] == [False, True, False]
    saved = await send_json(client, "PUT", f"/api/memories/{memory['id']}", alice, {"isSaved": True})
    assert saved["isSaved"] is True and len(saved["assets"]) == 2
    await get_json(client, f"/api/memories/{memory['id']}", bob, status=400)
    removed = await send_json(client, "DELETE", f"/api/memories/{memory['id']}/assets", alice, {"ids": [a]})
    assert removed == [{"id": a, "success": True}]
    assert [m["id"] for m in await get_json(client, "/api/memories", alice, isSaved="true")] == [memory["id"]]
    await send_json(client, "DELETE", f"/api/memories/{memory['id']}", bob, status=400)
    await send_json(client, "DELETE", f"/api/memories/{memory['id']}", alice, status=204)
    assert await get_json(client, "/api/memories", alice) == []
