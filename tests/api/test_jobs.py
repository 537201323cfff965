"""The Immich job API over HTTP with the real job system: counts, pause/resume, start, and an upload that
ends with its thumbnail and preview served by `GET /assets/{id}/thumbnail`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pyvips
from aiohttp.test_utils import TestClient

from appliance.config import Settings
from appliance.jobs.queues import QUEUE_NAMES
from appliance.jobs.system import JobSystem
from appliance.services import Services

from ..contract import assert_matches
from .conftest import Caller, upload


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", mdns=False, jobs_enabled=True)


@pytest.fixture
async def client(services: Services, aiohttp_client) -> TestClient:  # type: ignore[no-untyped-def]
    from appliance.app import create_app
    from appliance.jobs.system import job_component

    return await aiohttp_client(create_app(services, components=[job_component]))  # type: ignore[no-any-return]


def system(services: Services) -> JobSystem:
    jobs: JobSystem = services.extras["jobs"]
    return jobs


async def wait_for(predicate, within: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(within / 0.1)):
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_job_counts_have_every_queue_in_immich_shapes(client: TestClient, admin: Caller) -> None:
    response = await client.get("/api/jobs", headers=admin.headers)
    assert response.status == 200
    body = await response.json()
    assert set(body) == set(QUEUE_NAMES)
    assert_matches("QueuesResponseLegacyDto", body)
    queues = await (await client.get("/api/queues", headers=admin.headers)).json()
    for queue in queues:
        assert_matches("QueueResponseDto", queue)


async def test_job_api_is_for_admins_only(client: TestClient, alice: Caller) -> None:
    assert (await client.get("/api/jobs", headers=alice.headers)).status == 403
    response = await client.put("/api/jobs/thumbnailGeneration", json={"command": "pause"}, headers=alice.headers)
    assert response.status == 403


async def test_unknown_queue_or_command_is_a_400(client: TestClient, admin: Caller) -> None:
    response = await client.put("/api/jobs/nope", json={"command": "pause"}, headers=admin.headers)
    assert response.status == 400
    response = await client.put("/api/jobs/sidecar", json={"command": "explode"}, headers=admin.headers)
    assert response.status == 400


async def test_paused_metadata_queue_holds_an_upload_until_resumed_then_thumbnails_are_served(
    client: TestClient, services: Services, admin: Caller, test_assets: Path
) -> None:
    response = await client.put("/api/jobs/metadataExtraction", json={"command": "pause"}, headers=admin.headers)
    legacy = await response.json()
    assert response.status == 200
    assert_matches("QueueResponseLegacyDto", legacy)
    assert legacy["queueStatus"]["isPaused"] is True

    status, created = await upload(client, admin, (test_assets / "albums/nature/tanners_ridge.jpg").read_bytes(),
                                   "tanners_ridge.jpg")
    assert status == 201
    asset_id = created["id"]
    await asyncio.sleep(0.5)
    counts = (await (await client.get("/api/jobs", headers=admin.headers)).json())["metadataExtraction"]
    assert counts["jobCounts"]["waiting"] == 1
    assert counts["jobCounts"]["paused"] == 1
    missing = await client.get(f"/api/assets/{asset_id}/thumbnail", headers=admin.headers)
    assert missing.status == 404
    listed = await client.get("/api/queues/metadataExtraction/jobs?status=waiting", headers=admin.headers)
    jobs = await listed.json()
    assert_matches("QueueJobResponseDto[]", jobs)
    assert [(job["name"], job["data"]["id"]) for job in jobs] == [("AssetExtractMetadata", asset_id)]

    response = await client.put("/api/queues/metadataExtraction", json={"isPaused": False}, headers=admin.headers)
    assert (await response.json())["isPaused"] is False

    async def served() -> bool:
        reply = await client.get(f"/api/assets/{asset_id}/thumbnail?size=preview", headers=admin.headers)
        return reply.status == 200

    await wait_for(served)
    await system(services).runner.wait_idle()
    thumb = await client.get(f"/api/assets/{asset_id}/thumbnail", headers=admin.headers)
    assert thumb.headers["Content-Type"] == "image/webp"
    image = pyvips.Image.new_from_buffer(await thumb.read(), "")
    assert (image.width, image.height) == (375, 250)
    preview = await client.get(f"/api/assets/{asset_id}/thumbnail?size=preview", headers=admin.headers)
    assert preview.headers["Content-Type"] == "image/jpeg"
    info = await (await client.get(f"/api/assets/{asset_id}", headers=admin.headers)).json()
    assert info["exifInfo"]["make"] == "NIKON CORPORATION"
    assert info["thumbhash"]
    counts = (await (await client.get("/api/jobs", headers=admin.headers)).json())
    assert counts["metadataExtraction"]["jobCounts"]["completed"] == 1
    assert counts["thumbnailGeneration"]["jobCounts"]["completed"] == 1


async def test_start_with_force_requeues_every_asset_and_empty_drops_waiting_jobs(
    client: TestClient, services: Services, admin: Caller, test_assets: Path
) -> None:
    for name in ("polemonium_reptans.jpg", "wood_anemones.jpg"):
        status, _ = await upload(client, admin, (test_assets / "albums/nature" / name).read_bytes(), name)
        assert status == 201
    await wait_for(lambda: _idle(services))
    await client.put("/api/jobs/thumbnailGeneration", json={"command": "pause"}, headers=admin.headers)
    missing = await client.put("/api/jobs/thumbnailGeneration", json={"command": "start"}, headers=admin.headers)
    assert (await missing.json())["jobCounts"]["waiting"] == 0  # nothing is missing
    forced = await client.put(
        "/api/jobs/thumbnailGeneration", json={"command": "start", "force": True}, headers=admin.headers
    )
    assert (await forced.json())["jobCounts"]["waiting"] == 2
    emptied = await client.put("/api/jobs/thumbnailGeneration", json={"command": "empty"}, headers=admin.headers)
    assert (await emptied.json())["jobCounts"]["waiting"] == 0


async def _idle(services: Services) -> bool:
    try:
        await system(services).runner.wait_idle(within=0.5)
    except TimeoutError:
        return False
    return True


async def test_a_user_can_ask_for_new_thumbnails_of_their_own_assets_only(
    client: TestClient, services: Services, admin: Caller, alice: Caller, test_assets: Path
) -> None:
    data = (test_assets / "albums/nature/silver_fir.jpg").read_bytes()
    status, created = await upload(client, alice, data, "silver_fir.jpg")
    assert status == 201
    await wait_for(lambda: _idle(services))
    mine = await client.post("/api/assets/jobs", json={"assetIds": [created["id"]], "name": "regenerate-thumbnail"},
                             headers=alice.headers)
    assert mine.status == 204
    await wait_for(lambda: _idle(services))
    counts = (await (await client.get("/api/jobs", headers=admin.headers)).json())["thumbnailGeneration"]
    assert counts["jobCounts"]["completed"] == 2
    theirs = await client.post("/api/assets/jobs", json={"assetIds": [created["id"]], "name": "refresh-metadata"},
                               headers=admin.headers)
    assert theirs.status == 400


async def test_manual_jobs_run_or_say_they_are_not_supported(client: TestClient, admin: Caller) -> None:
    for name in ("memory-create", "person-cleanup"):
        response = await client.post("/api/jobs", headers=admin.headers, json={"name": name})
        assert response.status == 204, (name, await response.text())
    unsupported = await client.post("/api/jobs", headers=admin.headers, json={"name": "backup-database"})
    assert unsupported.status == 400
    assert "not supported" in (await unsupported.json())["message"]
    unknown = await client.post("/api/jobs", headers=admin.headers, json={"name": "make-coffee"})
    assert unknown.status == 400
