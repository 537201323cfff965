"""Bad input gets a clear 4xx in Immich's error shape, nothing is written, and the server keeps serving."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from appliance.app import create_app
from appliance.config import Settings
from appliance.services import Services, build_services
from tests.api.conftest import Caller, jpeg_bytes, upload

ERROR_KEYS = {"message", "error", "statusCode", "correlationId"}


async def _asset_count(services: Services) -> int:
    return int(await services.db.fetchval("SELECT count(*) FROM assets"))


def _staging_empty(services: Services) -> bool:
    return list((services.settings.data_dir / "upload-tmp").iterdir()) == []


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("notes.txt", b"hello", "Unsupported file type notes.txt"),
        ("archive.zip", b"PK\x03\x04", "Unsupported file type archive.zip"),
        ("empty.jpg", b"", "File is empty"),
        ("..", b"x", "Invalid filename '..'"),
    ],
)
async def test_unacceptable_files_are_refused(client: TestClient, alice: Caller, services: Services,
                                              filename: str, data: bytes, message: str) -> None:
    status, body = await upload(client, alice, data, filename)
    assert status == 400 and set(body) == ERROR_KEYS and body["message"] == message
    assert await _asset_count(services) == 0 and _staging_empty(services)


async def test_path_and_control_characters_are_stripped_from_names(client: TestClient, alice: Caller) -> None:
    status, created = await upload(client, alice, jpeg_bytes(1), "x.jpg",
                                   fields={"filename": "../../etc/evil\x07name.jpg"})
    assert status == 201
    asset = await (await client.get(f"/api/assets/{created['id']}", headers=alice.headers)).json()
    assert asset["originalFileName"] == "evilname.jpg"
    assert ".." not in asset["originalPath"]


@pytest.mark.parametrize("missing", ["fileCreatedAt", "fileModifiedAt", "assetData"])
async def test_missing_required_fields_are_400(client: TestClient, alice: Caller, services: Services,
                                               missing: str) -> None:
    form = FormData()
    if missing != "fileCreatedAt":
        form.add_field("fileCreatedAt", "2024-01-01T00:00:00.000Z")
    if missing != "fileModifiedAt":
        form.add_field("fileModifiedAt", "2024-01-01T00:00:00.000Z")
    if missing != "assetData":
        form.add_field("assetData", jpeg_bytes(2), filename="a.jpg")
    else:
        form.add_field("deviceId", "x")
    response = await client.post("/api/assets", data=form, headers=alice.headers)
    assert response.status == 400
    assert set(await response.json()) == ERROR_KEYS
    assert await _asset_count(services) == 0 and _staging_empty(services)


async def test_wrong_date_and_visibility_values_are_400(client: TestClient, alice: Caller) -> None:
    for fields in ({"fileCreatedAt": "yesterday"}, {"visibility": "secret"}, {"livePhotoVideoId": "nope"}):
        form = FormData()
        form.add_field("fileCreatedAt", fields.get("fileCreatedAt", "2024-01-01T00:00:00Z"))
        form.add_field("fileModifiedAt", "2024-01-01T00:00:00Z")
        for key, value in fields.items():
            if key != "fileCreatedAt":
                form.add_field(key, value)
        form.add_field("assetData", jpeg_bytes(3), filename="a.jpg")
        response = await client.post("/api/assets", data=form, headers=alice.headers)
        assert response.status == 400, fields


async def test_json_bodies_are_validated(client: TestClient, alice: Caller) -> None:
    cases = [
        ("post", "/api/assets/bulk-upload-check", {"assets": "nope"}),
        ("post", "/api/assets/bulk-upload-check", {"assets": [{"id": "a", "checksum": "zz"}]}),
        ("put", "/api/assets", {"ids": ["not-a-uuid"], "isFavorite": True}),
        ("delete", "/api/assets", {"ids": 5}),
        ("post", "/api/albums", {"albumName": 12.5j if False else None}),
        ("post", "/api/search/metadata", {"size": 0}),
        ("post", "/api/search/metadata", {"takenAfter": "not a date"}),
    ]
    for method, path, payload in cases:
        response = await getattr(client, method)(path, json=payload, headers=alice.headers)
        assert response.status == 400, (path, payload, await response.text())
        assert set(await response.json()) == ERROR_KEYS
    broken = await client.post("/api/albums", data=b"{not json", headers={**alice.headers,
                                                                           "Content-Type": "application/json"})
    assert broken.status == 400


async def test_unknown_ids_look_like_foreign_ones(client: TestClient, alice: Caller) -> None:
    unknown = "11111111-1111-4111-8111-111111111111"
    for method, path in (("get", f"/api/assets/{unknown}"), ("get", f"/api/albums/{unknown}"),
                         ("get", f"/api/assets/{unknown}/original")):
        response = await getattr(client, method)(path, headers=alice.headers)
        assert response.status == 400
    assert (await client.get("/api/assets/not-a-uuid", headers=alice.headers)).status == 400


async def test_json_body_over_the_limit_is_refused(client: TestClient, alice: Caller) -> None:
    payload = {"assets": [{"id": "x" * 100, "checksum": "0" * 40}] * 120_000}
    response = await client.post("/api/assets/bulk-upload-check", json=payload, headers=alice.headers)
    assert response.status in (400, 413)
    assert (await client.get("/api/server/ping")).status == 200


async def test_upload_over_the_size_limit_is_refused_and_cleaned(tmp_path: Path, aiohttp_client: Callable) -> None:
    services = build_services(Settings(data_dir=tmp_path / "data", max_upload_bytes=1000))
    client = await aiohttp_client(create_app(services))
    await client.post("/api/auth/admin-sign-up", json={"email": "a@x.com", "name": "A", "password": "pw"})
    login = await (await client.post("/api/auth/login", json={"email": "a@x.com", "password": "pw"})).json()
    caller = Caller(login["userId"], "a@x.com", login["accessToken"])
    status, body = await upload(client, caller, jpeg_bytes(4, (200, 200)))
    assert status in (400, 413) and body["message"] == "File too large"
    assert await _asset_count(services) == 0 and _staging_empty(services)


async def test_client_that_disconnects_mid_upload_leaves_nothing(client: TestClient, alice: Caller,
                                                                 services: Services) -> None:
    boundary = "shoeboxboundary"
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"fileCreatedAt\"\r\n\r\n2024-01-01T00:00:00Z\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"fileModifiedAt\"\r\n\r\n2024-01-01T00:00:00Z\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"assetData\"; filename=\"big.jpg\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    server = client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"POST /api/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice.token.encode()
        + b"\r\nContent-Type: multipart/form-data; boundary=" + boundary.encode()
        + b"\r\nContent-Length: 50000000\r\n\r\n" + head + b"\xff\xd8" + b"\x00" * 3_000_000
    )
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.transport.abort()
    for _ in range(50):
        if _staging_empty(services):
            break
        await asyncio.sleep(0.1)
    assert _staging_empty(services)
    assert await _asset_count(services) == 0
    assert (await client.get("/api/server/ping")).status == 200


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB filesystem for the data folder, so a full disk is real, not simulated."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({result.stderr.strip()}); needs root")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _noise(size: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


async def test_full_disk_is_a_clear_error_and_delete_still_works(tiny_disk: Path, aiohttp_client: Callable) -> None:
    services = build_services(Settings(data_dir=tiny_disk / "data", min_free_bytes=0))
    client = await aiohttp_client(create_app(services))
    await client.post("/api/auth/admin-sign-up", json={"email": "a@x.com", "name": "A", "password": "pw"})
    login = await (await client.post("/api/auth/login", json={"email": "a@x.com", "password": "pw"})).json()
    caller = Caller(login["userId"], "a@x.com", login["accessToken"])
    status, first = await upload(client, caller, _noise(3_500_000, 1), "first.jpg")
    assert status == 201
    status, body = await upload(client, caller, _noise(3_500_000, 2), "second.jpg")
    assert status == 507 and "disk" in body["message"].lower()
    assert _staging_empty(services) and await _asset_count(services) == 1
    assert await services.db.integrity_check() == "ok"
    deleted = await client.delete("/api/assets", headers=caller.headers, json={"ids": [first["id"]], "force": True})
    assert deleted.status == 204
    status, _ = await upload(client, caller, _noise(3_500_000, 2), "second.jpg")
    assert status == 201


async def test_low_free_space_guard_refuses_before_writing(tmp_path: Path, aiohttp_client: Callable) -> None:
    services = build_services(Settings(data_dir=tmp_path / "data", min_free_bytes=10**18))
    client = await aiohttp_client(create_app(services))
    await client.post("/api/auth/admin-sign-up", json={"email": "a@x.com", "name": "A", "password": "pw"})
    login = await (await client.post("/api/auth/login", json={"email": "a@x.com", "password": "pw"})).json()
    status, body = await upload(client, Caller(login["userId"], "a@x.com", login["accessToken"]), jpeg_bytes(5))
    assert status == 507 and body["statusCode"] == 507
