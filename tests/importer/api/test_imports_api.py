"""GET /api/appliance/imports, /{id} and the SSE stream, over real HTTP (tests/api's running app)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp.test_utils import TestClient

from appliance.importer.service import ImportSource
from appliance.services import Services
from tests.api.conftest import Caller
from tests.importer.conftest import build_card


async def test_sessions_are_listed_for_admins_with_their_counts(
    client: TestClient, services: Services, admin: Caller, alice: Caller, tmp_path: Path
) -> None:
    card = build_card(tmp_path / "card", tmp_path / "outside")
    record = await services.imports.run(ImportSource.folder(card.root))

    response = await client.get("/api/appliance/imports", headers=admin.headers)
    assert response.status == 200
    (listed,) = await response.json()
    assert listed["id"] == record.id and listed["state"] == "completed"
    assert {k: listed[k] for k in ("found", "imported", "duplicates", "failed")} == {
        "found": 6, "imported": 6, "duplicates": 0, "failed": 0}
    assert listed["bytes"] == listed["totalBytes"] > 0
    assert listed["label"] == "card" and listed["startedAt"].endswith("Z") and listed["finishedAt"]

    one = await client.get(f"/api/appliance/imports/{record.id}", headers=admin.key_headers)
    assert one.status == 200 and (await one.json()) == listed

    assert (await client.get("/api/appliance/imports", headers=alice.headers)).status == 403
    assert (await client.get("/api/appliance/imports")).status == 401
    missing = await client.get("/api/appliance/imports/00000000-0000-4000-8000-000000000000", headers=admin.headers)
    assert missing.status == 404 and (await missing.json())["statusCode"] == 404


async def test_event_stream_shows_an_import_live(
    client: TestClient, services: Services, admin: Caller, tmp_path: Path
) -> None:
    card = build_card(tmp_path / "card", tmp_path / "outside")
    response = await client.get("/api/appliance/imports/events", headers=admin.headers)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")

    async def read_events() -> list[tuple[str, dict[str, object]]]:
        events: list[tuple[str, dict[str, object]]] = []
        kind = ""
        while True:
            line = (await response.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
                if kind == "finished":
                    return events

    reader = asyncio.create_task(read_events())
    await asyncio.sleep(0.1)  # subscribed (the snapshot was sent)
    record = await services.imports.run(ImportSource.folder(card.root))
    events = await asyncio.wait_for(reader, 30)
    response.close()

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "snapshot" and kinds[1] == "started" and kinds[-1] == "finished"
    finished = events[-1][1]["session"]
    assert isinstance(finished, dict)
    assert finished["id"] == record.id and finished["state"] == "completed" and finished["imported"] == 6


async def test_event_stream_is_admin_only(client: TestClient, admin: Caller, alice: Caller) -> None:
    assert (await client.get("/api/appliance/imports/events", headers=alice.headers)).status == 403
