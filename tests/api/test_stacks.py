"""Stacks: several photos shown as one, with the stack on each asset."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.api.browsing import get_json, photo, send_json
from tests.api.conftest import Caller
from tests.contract import assert_matches


async def test_stack_crud_and_asset_stack_field(client: TestClient, alice: Caller, bob: Caller) -> None:
    a, b, c = [await photo(client, alice) for _ in range(3)]
    await send_json(client, "POST", "/api/stacks", alice, {"assetIds": [a]}, status=400)
    await send_json(client, "POST", "/api/stacks", bob, {"assetIds": [a, b]}, status=400)
    stack = await send_json(client, "POST", "/api/stacks", alice, {"assetIds": [a, b, c]}, status=201)
    assert_matches("StackResponseDto", stack)
    assert stack["primaryAssetId"] == a and {x["id"] for x in stack["assets"]} == {a, b, c}
    asset = await get_json(client, f"/api/assets/{b}", alice)
    assert_matches("AssetResponseDto", asset)
    assert asset["stack"] == {"id": stack["id"], "primaryAssetId": a, "assetCount": 3}
    assert [s["id"] for s in await get_json(client, "/api/stacks", alice, primaryAssetId=a)] == [stack["id"]]
    await get_json(client, f"/api/stacks/{stack['id']}", bob, status=400)
    updated = await send_json(client, "PUT", f"/api/stacks/{stack['id']}", alice, {"primaryAssetId": c})
    assert updated["primaryAssetId"] == c and updated["assets"][0]["id"] == c
    await send_json(client, "DELETE", f"/api/stacks/{stack['id']}/assets/{c}", alice, status=400)  # primary
    await send_json(client, "DELETE", f"/api/stacks/{stack['id']}/assets/{a}", alice, status=204)
    assert (await get_json(client, f"/api/assets/{a}", alice))["stack"] is None
    await send_json(client, "DELETE", "/api/stacks", alice, {"ids": [stack["id"]]}, status=204)
    assert (await get_json(client, f"/api/assets/{b}", alice))["stack"] is None
    assert await get_json(client, "/api/stacks", alice) == []
