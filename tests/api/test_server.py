"""A client discovers the box and reads what it is before anyone has signed up."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.api.conftest import Caller
from tests.contract import assert_matches


async def test_well_known_points_clients_at_the_api(client: TestClient) -> None:
    response = await client.get("/.well-known/immich")
    assert response.status == 200
    assert await response.json() == {"api": {"endpoint": "/api"}}


async def test_ping_answers_pong_without_credentials(client: TestClient) -> None:
    response = await client.get("/api/server/ping")
    assert (response.status, await response.json()) == (200, {"res": "pong"})
    assert response.content_type == "application/json"


async def test_version_reports_immich_3_2_2(client: TestClient) -> None:
    body = await (await client.get("/api/server/version")).json()
    assert body == {"major": 3, "minor": 2, "patch": 2, "prerelease": None}


async def test_fresh_box_is_not_initialized_until_an_admin_signs_up(client: TestClient) -> None:
    config = await (await client.get("/api/server/config")).json()
    assert_matches("ServerConfigDto", config)
    assert config["isInitialized"] is False
    response = await client.post(
        "/api/auth/admin-sign-up", json={"email": "a@example.com", "name": "A", "password": "pw"}
    )
    assert response.status == 201
    assert (await (await client.get("/api/server/config")).json())["isInitialized"] is True


async def test_features_and_media_types_are_public(client: TestClient) -> None:
    features = await (await client.get("/api/server/features")).json()
    assert_matches("ServerFeaturesDto", features)
    assert features["passwordLogin"] is True and features["smartSearch"] is False
    media = await (await client.get("/api/server/media-types")).json()
    assert ".jpg" in media["image"] and ".heic" in media["image"] and ".mp4" in media["video"]
    assert media["sidecar"] == [".xmp"]


async def test_about_storage_and_version_check_need_a_caller(client: TestClient, admin: Caller) -> None:
    for path, dto_name in (
        ("/api/server/about", "ServerAboutResponseDto"),
        ("/api/server/storage", "ServerStorageResponseDto"),
    ):
        assert (await client.get(path)).status == 401
        response = await client.get(path, headers=admin.key_headers)
        assert response.status == 200
        assert_matches(dto_name, await response.json())
    check = await (await client.get("/api/server/version-check", headers=admin.headers)).json()
    assert check == {"checkedAt": None, "releaseVersion": None}


async def test_statistics_are_for_admins_only(client: TestClient, admin: Caller, alice: Caller) -> None:
    assert (await client.get("/api/server/statistics", headers=alice.headers)).status == 403
    response = await client.get("/api/server/statistics", headers=admin.headers)
    assert response.status == 200
    body = await response.json()
    assert_matches("ServerStatsResponseDto", body)
    assert {u["userId"] for u in body["usageByUser"]} == {admin.id, alice.id}


async def test_unknown_api_route_is_an_immich_shaped_404(client: TestClient) -> None:
    response = await client.get("/api/nothing-here")
    assert response.status == 404
    body = await response.json()
    assert set(body) == {"message", "error", "statusCode", "correlationId"}
    assert response.headers["X-Correlation-ID"] == body["correlationId"]
