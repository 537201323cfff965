"""Phone backup as the mobile app does it: base64 checksums, device ids, live photos, iCloud metadata, quota."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from aiohttp.test_utils import TestClient

from tests.api.conftest import Caller, jpeg_bytes, upload
from tests.contract import assert_matches


def sha1_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()


async def app_upload(client: TestClient, caller: Caller, data: bytes, name: str, **fields: str) -> tuple[int, Any]:
    return await upload(client, caller, data, name, headers={**caller.headers, "x-immich-checksum": sha1_b64(data)},
                        fields={"deviceAssetId": f"local-{name}", "deviceId": "phone-1", **fields})


async def test_a_live_photo_uploads_video_first_and_links_the_still_to_it(client: TestClient, alice: Caller) -> None:
    status, video = await app_upload(client, alice, b"\x00\x00\x00\x18ftypqt  " + b"\x00" * 64, "IMG_1.MOV")
    assert status == 201, video
    status, still = await app_upload(client, alice, jpeg_bytes(1), "IMG_1.HEIC.jpg", livePhotoVideoId=video["id"])
    assert status == 201, still
    response = await client.get(f"/api/assets/{still['id']}", headers=alice.headers)
    body = await response.json()
    assert body["livePhotoVideoId"] == video["id"]
    assert body["checksum"] == sha1_b64(jpeg_bytes(1))
    hidden = await (await client.get(f"/api/assets/{video['id']}", headers=alice.headers)).json()
    assert hidden["visibility"] == "hidden"


async def test_assets_exist_answers_by_device_asset_id(client: TestClient, alice: Caller) -> None:
    await app_upload(client, alice, jpeg_bytes(2), "a.jpg")
    response = await client.post("/api/assets/exist", json={"deviceId": "phone-1",
                                                           "deviceAssetIds": ["local-a.jpg", "local-b.jpg"]},
                                 headers=alice.headers)
    assert (await response.json()) == {"existingIds": ["local-a.jpg"]}


async def test_quota_refusal_carries_the_exact_message_the_app_matches(
    client: TestClient, admin: Caller, alice: Caller
) -> None:
    response = await client.put(f"/api/admin/users/{alice.id}", json={"quotaSizeInBytes": 10}, headers=admin.headers)
    assert response.status == 200, await response.text()
    status, body = await app_upload(client, alice, jpeg_bytes(3), "big.jpg")
    assert status == 400
    assert body["message"] == "Quota has been exceeded!"


async def test_icloud_ids_go_in_with_the_upload_and_through_the_metadata_routes(
    client: TestClient, alice: Caller, bob: Caller
) -> None:
    metadata = json.dumps([{"key": "mobile-app", "value": {"iCloudId": "abc-1"}}])
    status, created = await app_upload(client, alice, jpeg_bytes(4), "c.jpg", metadata=metadata)
    assert status == 201
    asset = created["id"]
    items = await (await client.get(f"/api/assets/{asset}/metadata", headers=alice.headers)).json()
    assert [(i["key"], i["value"]) for i in items] == [("mobile-app", {"iCloudId": "abc-1"})]
    for item in items:
        assert_matches("AssetMetadataResponseDto", item)

    response = await client.put("/api/assets/metadata", json={"items": [
        {"assetId": asset, "key": "mobile-app", "value": {"iCloudId": "abc-2"}}]}, headers=alice.headers)
    assert response.status == 200, await response.text()
    for item in await response.json():
        assert_matches("AssetMetadataBulkResponseDto", item)
    one = await (await client.get(f"/api/assets/{asset}/metadata/mobile-app", headers=alice.headers)).json()
    assert one["value"] == {"iCloudId": "abc-2"}

    response = await client.put(f"/api/assets/{asset}/metadata", json={"items": [{"key": "x", "value": {}}]},
                                headers=bob.headers)
    assert response.status == 400  # not bob's

    response = await client.delete(f"/api/assets/{asset}/metadata/mobile-app", headers=alice.headers)
    assert response.status == 204
    assert (await (await client.get(f"/api/assets/{asset}/metadata", headers=alice.headers)).json()) == []
