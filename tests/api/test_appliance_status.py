"""The box tells its admin what it is and how it is doing; Prometheus can scrape it."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from appliance.hardware.service import HardwareService
from appliance.services import Services
from tests.api.conftest import Caller
from tests.conftest import REPO_ROOT


async def test_status_shows_the_probed_board_and_throttle_state(client: TestClient, services: Services,
                                                                admin: Caller, tmp_path: Path) -> None:
    part = HardwareService(REPO_ROOT / "hw-profiles" / "rpi-4b" / "sysroot", tmp_path / "cache")
    part.governor.update(part.governor._monitor.sample())  # type: ignore[union-attr]
    services.extras["hardware"] = part
    response = await client.get("/api/appliance/status", headers=admin.headers)
    assert response.status == 200
    body = await response.json()
    assert body["hardware"]["profile"] == "rpi-4b"
    assert body["hardware"]["throttle"]["state"] in {"RUN", "SLOW", "PAUSE"}
    assert body["hardware"]["thermal"]["celsius"] is not None
    assert body["immichApi"] == "v3.2.2"


async def test_status_is_for_admins(client: TestClient, alice: Caller) -> None:
    assert (await client.get("/api/appliance/status", headers=alice.headers)).status == 403


async def test_metrics_count_api_requests_by_route(client: TestClient, admin: Caller) -> None:
    await client.get("/api/server/ping")
    await client.get("/api/users/me", headers=admin.headers)
    text = await (await client.get("/metrics")).text()
    assert 'shoebox_api_requests_total{method="GET",route="/api/server/ping",status="200"}' in text
    assert 'route="/api/users/me"' in text and "shoebox_api_request_seconds_bucket" in text
