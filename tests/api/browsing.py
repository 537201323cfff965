"""Helpers for the browsing tests: photos with chosen dates, places and flags, made through the real
upload path (EXIF is written straight into the database, as the metadata job would)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from appliance.services import Services
from tests.api.conftest import Caller, jpeg_bytes, upload

_seed = [1000]


async def photo(
    client: TestClient, caller: Caller, when: str = "2024-05-01T10:00:00.000Z", *, filename: str | None = None,
    favorite: bool = False, visibility: str = "timeline", data: bytes | None = None,
) -> str:
    _seed[0] += 1
    fields = {"fileCreatedAt": when, "fileModifiedAt": when}
    if favorite:
        fields["isFavorite"] = "true"
    if visibility != "timeline":
        fields["visibility"] = visibility
    status, body = await upload(client, caller, data or jpeg_bytes(_seed[0]),
                                filename or f"img{_seed[0]}.jpg", fields=fields)
    assert status == 201, body
    return str(body["id"])


async def set_exif(services: Services, asset_id: str, **values: Any) -> None:
    async with services.db.transaction() as conn:
        await services.assets.assets.update_exif(conn, asset_id, {**values, "update_id": "x"})


async def make_album(client: TestClient, owner: Caller, ids: list[str], members: list[dict[str, str]] | None = None,
                     name: str = "Trip") -> str:
    response = await client.post("/api/albums", json={"albumName": name, "assetIds": ids,
                                                      "albumUsers": members or []}, headers=owner.headers)
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


async def get_json(client: TestClient, path: str, caller: Caller | None = None, *, status: int = 200,
                   **params: Any) -> Any:
    response = await client.get(path, params=params, headers=caller.headers if caller else {})
    assert response.status == status, await response.text()
    return await response.json()


async def send_json(client: TestClient, method: str, path: str, caller: Caller | None, payload: Any = None, *,
                    status: int = 200, params: dict[str, str] | None = None) -> Any:
    response = await client.request(method, path, json=payload, params=params,
                                     headers=caller.headers if caller else {})
    assert response.status == status, await response.text()
    if response.status == 204:
        return None
    return await response.json()
