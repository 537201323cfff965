"""Every API request registers with the foreground gate, so the job runner's database work lets it go first."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from appliance.foreground import ForegroundGate
from appliance.services import Services


async def test_a_request_counts_as_in_flight_until_its_response_is_written(
    client: TestClient, services: Services
) -> None:
    gate = services.db.gate = ForegroundGate(linger=3600)  # finished requests stay counted: we can see them
    assert services.foreground is gate
    response = await client.get("/api/server/ping")
    assert response.status == 200 and await response.json() == {"res": "pong"}
    response = await client.get("/api/nothing-here")
    assert response.status == 404
    assert len(gate._inflight) == 2
