"""Tags: hierarchical names, tagging assets, and tags on asset responses."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.api.browsing import get_json, photo, send_json
from tests.api.conftest import Caller
from tests.contract import assert_matches


async def test_upsert_creates_the_path_once(client: TestClient, alice: Caller) -> None:
    first = await send_json(client, "PUT", "/api/tags", alice, {"tags": ["Places/France/Lyon", "Places"]})
    again = await send_json(client, "PUT", "/api/tags", alice, {"tags": ["Places/France/Lyon"]})
    assert first[0]["id"] == again[0]["id"]
    everything = await get_json(client, "/api/tags", alice)
    for tag in everything:
        assert_matches("TagResponseDto", tag)
    by_value = {t["value"]: t for t in everything}
    assert set(by_value) == {"Places", "Places/France", "Places/France/Lyon"}
    assert by_value["Places/France/Lyon"]["name"] == "Lyon"
    assert by_value["Places/France/Lyon"]["parentId"] == by_value["Places/France"]["id"]
    assert "parentId" not in by_value["Places"]


async def test_create_update_delete_and_ownership(client: TestClient, alice: Caller, bob: Caller) -> None:
    parent = await send_json(client, "POST", "/api/tags", alice, {"name": "Pets"}, status=201)
    child = await send_json(client, "POST", "/api/tags", alice, {"name": "Cat", "parentId": parent["id"]},
                            status=201)
    assert child["value"] == "Pets/Cat"
    await send_json(client, "POST", "/api/tags", alice, {"name": "Pets"}, status=400)
    await get_json(client, f"/api/tags/{child['id']}", bob, status=400)
    assert await get_json(client, "/api/tags", bob) == []
    updated = await send_json(client, "PUT", f"/api/tags/{child['id']}", alice, {"color": "#ff0000"})
    assert updated["color"] == "#ff0000"
    await send_json(client, "DELETE", f"/api/tags/{parent['id']}", bob, status=400)
    await send_json(client, "DELETE", f"/api/tags/{parent['id']}", alice, status=204)
    assert await get_json(client, "/api/tags", alice) == []  # the child went with its parent


async def test_tagging_assets_shows_on_assets_and_in_search(client: TestClient, alice: Caller, bob: Caller) -> None:
    mine, other = await photo(client, alice), await photo(client, alice)
    bobs = await photo(client, bob)
    tag = (await send_json(client, "PUT", "/api/tags", alice, {"tags": ["Holiday"]}))[0]
    results = await send_json(client, "PUT", f"/api/tags/{tag['id']}/assets", alice, {"ids": [mine, mine, bobs]})
    assert results == [{"id": mine, "success": True}, {"id": mine, "success": False, "error": "duplicate"},
                       {"id": bobs, "success": False, "error": "no_permission"}]
    asset = await get_json(client, f"/api/assets/{mine}", alice)
    assert_matches("AssetResponseDto", asset)
    assert [t["value"] for t in asset["tags"]] == ["Holiday"]
    found = await send_json(client, "POST", "/api/search/metadata", alice, {"tagIds": [tag["id"]]})
    assert [a["id"] for a in found["assets"]["items"]] == [mine]
    counted = await send_json(client, "POST", "/api/search/statistics", alice, {"tagIds": [tag["id"]]})
    assert counted == {"total": 1}
    bulk = await send_json(client, "PUT", "/api/tags/assets", alice, {"tagIds": [tag["id"]], "assetIds": [mine, other]})
    assert bulk == {"count": 1}
    removed = await send_json(client, "DELETE", f"/api/tags/{tag['id']}/assets", alice, {"ids": [mine, bobs]})
    assert removed == [{"id": mine, "success": True}, {"id": bobs, "success": False, "error": "not_found"}]
    assert (await get_json(client, f"/api/assets/{mine}", alice))["tags"] == []
