"""Uploading, reading, changing and deleting assets, the way clients do it."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from appliance.services import Services
from tests.api.conftest import Caller, jpeg_bytes, upload
from tests.contract import assert_matches


async def test_upload_creates_then_same_bytes_are_a_duplicate_200(client: TestClient, alice: Caller) -> None:
    data = jpeg_bytes(1)
    status, first = await upload(client, alice, data)
    assert status == 201 and first["status"] == "created"
    assert_matches("AssetMediaResponseDto", first)
    status, second = await upload(client, alice, data, "renamed.jpg")
    assert (status, second) == (200, {"id": first["id"], "status": "duplicate"})


async def test_checksum_header_answers_duplicate_before_storing(client: TestClient, alice: Caller,
                                                                services: Services) -> None:
    data = jpeg_bytes(2)
    _, first = await upload(client, alice, data)
    for checksum in (hashlib.sha1(data).hexdigest(), base64.b64encode(hashlib.sha1(data).digest()).decode()):
        status, body = await upload(client, alice, data, headers={**alice.headers, "x-immich-checksum": checksum})
        assert (status, body) == (200, {"id": first["id"], "status": "duplicate"})
    assert list((services.settings.data_dir / "upload-tmp").iterdir()) == []


async def test_the_same_photo_belongs_to_each_user_separately(client: TestClient, alice: Caller, bob: Caller) -> None:
    data = jpeg_bytes(3)
    assert (await upload(client, alice, data))[0] == 201
    assert (await upload(client, bob, data))[0] == 201


async def test_uploaded_asset_reads_back_complete(client: TestClient, alice: Caller) -> None:
    data = jpeg_bytes(4)
    _, created = await upload(client, alice, data, "IMG_0001.JPG", fields={"isFavorite": "true"})
    response = await client.get(f"/api/assets/{created['id']}", headers=alice.headers)
    asset = await response.json()
    assert_matches("AssetResponseDto", asset)
    assert asset["originalFileName"] == "IMG_0001.JPG" and asset["originalMimeType"] == "image/jpeg"
    assert asset["type"] == "IMAGE" and asset["isFavorite"] is True and asset["visibility"] == "timeline"
    assert asset["checksum"] == base64.b64encode(hashlib.sha1(data).digest()).decode()
    assert asset["fileCreatedAt"] == "2024-05-01T10:00:00.000Z"
    assert asset["exifInfo"]["fileSizeInByte"] == len(data)
    assert asset["people"] == [] and asset["ownerId"] == alice.id


async def test_original_is_byte_identical_with_ranges_and_cache_headers(client: TestClient, alice: Caller) -> None:
    data = jpeg_bytes(5, (400, 300))
    _, created = await upload(client, alice, data)
    response = await client.get(f"/api/assets/{created['id']}/original", headers=alice.headers)
    assert response.status == 200 and await response.read() == data
    assert response.headers["Cache-Control"] == "private, max-age=86400, no-transform"
    assert response.headers["Content-Type"] == "image/jpeg" and "ETag" in response.headers
    partial = await client.get(f"/api/assets/{created['id']}/original",
                               headers={**alice.headers, "Range": "bytes=10-19"})
    assert partial.status == 206 and await partial.read() == data[10:20]


async def test_sidecar_is_kept_beside_the_original(client: TestClient, alice: Caller, services: Services) -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>'
    status, created = await upload(client, alice, jpeg_bytes(6), sidecar=xmp)
    assert status == 201
    row = await services.db.fetchone("SELECT sidecar_path FROM assets WHERE id = ?", (created["id"],))
    assert row is not None and (services.settings.data_dir / row[0]).read_bytes() == xmp


async def test_bulk_upload_check_matches_hex_and_base64_per_owner(client: TestClient, alice: Caller,
                                                                  bob: Caller) -> None:
    data = jpeg_bytes(7)
    _, created = await upload(client, alice, data)
    digest = hashlib.sha1(data).digest()
    items = [{"id": "/a.jpg", "checksum": digest.hex()},
             {"id": "/b.jpg", "checksum": base64.b64encode(digest).decode()},
             {"id": "/c.jpg", "checksum": hashlib.sha1(b"other").hexdigest()}]
    response = await client.post("/api/assets/bulk-upload-check", headers=alice.headers, json={"assets": items})
    assert response.status == 200
    results = (await response.json())["results"]
    assert results == [
        {"id": "/a.jpg", "action": "reject", "reason": "duplicate", "assetId": created["id"], "isTrashed": False},
        {"id": "/b.jpg", "action": "reject", "reason": "duplicate", "assetId": created["id"], "isTrashed": False},
        {"id": "/c.jpg", "action": "accept"},
    ]
    theirs = await client.post("/api/assets/bulk-upload-check", headers=bob.headers, json={"assets": items[:1]})
    assert (await theirs.json())["results"] == [{"id": "/a.jpg", "action": "accept"}]


async def test_exist_reports_device_asset_ids(client: TestClient, alice: Caller) -> None:
    await upload(client, alice, jpeg_bytes(8), "x.jpg")
    response = await client.post("/api/assets/exist", headers=alice.headers,
                                 json={"deviceId": "pytest", "deviceAssetIds": ["test-x.jpg", "nope"]})
    assert await response.json() == {"existingIds": ["test-x.jpg"]}


async def test_statistics_count_images_and_videos(client: TestClient, alice: Caller) -> None:
    await upload(client, alice, jpeg_bytes(9))
    await upload(client, alice, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "clip.mp4")
    stats = await (await client.get("/api/assets/statistics", headers=alice.headers)).json()
    assert_matches("AssetStatsResponseDto", stats)
    assert stats == {"images": 1, "videos": 1, "total": 2}


async def test_update_and_bulk_update(client: TestClient, alice: Caller) -> None:
    _, a = await upload(client, alice, jpeg_bytes(10))
    _, b = await upload(client, alice, jpeg_bytes(11))
    one = await client.put(f"/api/assets/{a['id']}", headers=alice.headers,
                           json={"isFavorite": True, "description": "sunset", "rating": 4})
    body = await one.json()
    assert body["isFavorite"] is True and body["exifInfo"]["description"] == "sunset"
    assert body["exifInfo"]["rating"] == 4
    bulk = await client.put("/api/assets", headers=alice.headers,
                            json={"ids": [a["id"], b["id"]], "visibility": "archive"})
    assert bulk.status == 204
    for asset_id in (a["id"], b["id"]):
        asset = await (await client.get(f"/api/assets/{asset_id}", headers=alice.headers)).json()
        assert asset["isArchived"] is True and asset["visibility"] == "archive"


async def test_trash_restore_and_force_delete(client: TestClient, alice: Caller, services: Services) -> None:
    _, a = await upload(client, alice, jpeg_bytes(12))
    _, b = await upload(client, alice, jpeg_bytes(13))
    assert (await client.delete("/api/assets", headers=alice.headers, json={"ids": [a["id"]]})).status == 204
    trashed = await (await client.get(f"/api/assets/{a['id']}", headers=alice.headers)).json()
    assert trashed["isTrashed"] is True
    restored = await client.post("/api/trash/restore/assets", headers=alice.headers, json={"ids": [a["id"]]})
    assert await restored.json() == {"count": 1}
    path = services.settings.data_dir / (await services.db.fetchval(
        "SELECT original_path FROM assets WHERE id = ?", (b["id"],)))
    assert path.is_file()
    forced = await client.delete("/api/assets", headers=alice.headers, json={"ids": [b["id"]], "force": True})
    assert forced.status == 204
    assert (await client.get(f"/api/assets/{b['id']}", headers=alice.headers)).status == 400
    assert not path.exists()
    await client.delete("/api/assets", headers=alice.headers, json={"ids": [a["id"]]})
    emptied = await client.post("/api/trash/empty", headers=alice.headers)
    assert await emptied.json() == {"count": 1}
    usage = await (await client.get("/api/users/me", headers=alice.headers)).json()
    assert usage["quotaUsageInBytes"] == 0


async def test_quota_exceeded_message_is_exact(client: TestClient, admin: Caller, alice: Caller) -> None:
    await client.put(f"/api/admin/users/{alice.id}", headers=admin.headers, json={"quotaSizeInBytes": 100})
    status, body = await upload(client, alice, jpeg_bytes(14))
    assert status == 400 and body["message"] == "Quota has been exceeded!"


async def test_live_photo_still_links_its_video(client: TestClient, alice: Caller) -> None:
    _, video = await upload(client, alice, b"\x00\x00\x00\x18ftypqt  " + b"\x01" * 64, "IMG_1.MOV")
    status, still = await upload(client, alice, jpeg_bytes(15), "IMG_1.HEIC",
                                 fields={"livePhotoVideoId": video["id"]})
    assert status == 201
    asset = await (await client.get(f"/api/assets/{still['id']}", headers=alice.headers)).json()
    assert asset["livePhotoVideoId"] == video["id"]
    hidden = await (await client.get(f"/api/assets/{video['id']}", headers=alice.headers)).json()
    assert hidden["visibility"] == "hidden"


async def test_thumbnail_is_404_until_generated_and_fullsize_redirects(client: TestClient, alice: Caller) -> None:
    _, created = await upload(client, alice, jpeg_bytes(16))
    missing = await client.get(f"/api/assets/{created['id']}/thumbnail", headers=alice.headers)
    assert missing.status == 404
    full = await client.get(f"/api/assets/{created['id']}/thumbnail", params={"size": "fullsize", "c": "x"},
                            headers=alice.headers, allow_redirects=False)
    assert full.status == 302 and full.headers["Location"] == "original?c=x"


async def test_playback_of_a_photo_is_404(client: TestClient, alice: Caller) -> None:
    _, created = await upload(client, alice, jpeg_bytes(17))
    response = await client.get(f"/api/assets/{created['id']}/video/playback", headers=alice.headers)
    assert response.status == 404


async def test_search_metadata_pages_with_string_next_page(client: TestClient, alice: Caller) -> None:
    for seed in range(20, 25):
        await upload(client, alice, jpeg_bytes(seed), f"p{seed}.jpg")
    first = await (await client.post("/api/search/metadata", headers=alice.headers,
                                     json={"size": 2, "page": 1})).json()
    assert_matches("SearchResponseDto", first)
    # Immich's `total` is this page's length (search.service.ts mapResponse); /search/statistics counts all
    assert first["assets"]["count"] == 2 and first["assets"]["nextPage"] == "2" and first["assets"]["total"] == 2
    last = await (await client.post("/api/search/metadata", headers=alice.headers,
                                    json={"size": 2, "page": 3})).json()
    assert last["assets"]["count"] == 1 and last["assets"]["nextPage"] is None
    named = await (await client.post("/api/search/metadata", headers=alice.headers,
                                     json={"originalFileName": "p22"})).json()
    assert [a["originalFileName"] for a in named["assets"]["items"]] == ["p22.jpg"]
    favs = await (await client.post("/api/search/metadata", headers=alice.headers, json={"isFavorite": True})).json()
    assert favs["assets"]["total"] == 0


async def test_nothing_is_left_in_staging_after_uploads(client: TestClient, alice: Caller, services: Services) -> None:
    await upload(client, alice, jpeg_bytes(30))
    await upload(client, alice, b"not an image", "notes.txt")
    staging: Path = services.settings.data_dir / "upload-tmp"
    assert list(staging.iterdir()) == []


async def _raw_upload(client: TestClient, caller: Caller, body: bytes, boundary: str) -> tuple[int, dict[str, Any]]:
    response = await client.post("/api/assets", data=body, headers={
        **caller.headers, "Content-Type": f'multipart/form-data; boundary="{boundary}"'})
    return response.status, await response.json()


async def test_raw_multipart_as_node_sends_it_keeps_utf8_names_and_late_fields(client: TestClient,
                                                                              alice: Caller) -> None:
    """A UTF-8 filename in the part header, the file before the date fields, a preamble and an epilogue."""
    boundary = "----formdata-undici-0123456789"
    data = jpeg_bytes(77)
    body = (b"preamble\r\n"
            + f'--{boundary}\r\nContent-Disposition: form-data; name="assetData"; filename="Ürlaub 日本.jpg"\r\n'
              "Content-Type: image/jpeg\r\n\r\n".encode()
            + data + b"\r\n"
            + "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                      for name, value in [("deviceAssetId", "raw-1"), ("deviceId", "cli"),
                                          ("fileCreatedAt", "2024-05-01T10:00:00.000Z"),
                                          ("fileModifiedAt", "2024-05-01T10:00:00.000Z")]).encode()
            + f"--{boundary}--\r\nepilogue".encode())
    status, created = await _raw_upload(client, alice, body, boundary)
    assert status == 201, created
    asset = await (await client.get(f"/api/assets/{created['id']}", headers=alice.headers)).json()
    assert asset["originalFileName"] == "Ürlaub 日本.jpg"
    assert asset["fileCreatedAt"].startswith("2024-05-01T10:00:00")
    original = await client.get(f"/api/assets/{created['id']}/original", headers=alice.headers)
    assert await original.read() == data


async def test_a_malformed_multipart_body_is_400_and_leaves_nothing(client: TestClient, alice: Caller,
                                                                   services: Services) -> None:
    boundary = "xyz"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="assetData"; filename="a.jpg"\r\n\r\n'.encode()
            + jpeg_bytes(78))  # never closed
    status, error = await _raw_upload(client, alice, body, boundary)
    assert status == 400 and error["message"] == "Unexpected end of the multipart body"
    assert list((services.settings.data_dir / "upload-tmp").iterdir()) == []
    assert (await client.get("/api/server/ping")).status == 200
