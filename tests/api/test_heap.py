"""Start-up's objects are kept out of the garbage collector's way once the server is up."""

from __future__ import annotations

import asyncio
import gc

from aiohttp.test_utils import TestClient


async def test_the_started_server_has_frozen_its_start_up_heap(client: TestClient) -> None:
    assert (await client.get("/api/server/ping")).status == 200
    for _ in range(60):  # a second after start, so the first answer doesn't wait for the collection
        if gc.get_freeze_count() > 0:
            break
        await asyncio.sleep(0.05)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] >= 5000
