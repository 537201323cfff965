"""`/metrics` on the real program: the API, host and job groups a Prometheus scrape finds."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import aiohttp
import pytest

from tests.api.conftest import jpeg_bytes
from tests.server_process import ServerProcess


def _value(text: str, name: str, **labels: str) -> float | None:
    """The sample `name{labels}` in a Prometheus text exposition (labels in any order), or None."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(3))
    return None


@pytest.mark.slow
async def test_a_scrape_has_the_api_host_and_job_groups(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        _, key = server.sign_up_admin_with_key()
        photo = jpeg_bytes(21)
        async with aiohttp.ClientSession(server.url, headers={"x-api-key": key}) as session:
            form = aiohttp.FormData()
            form.add_field("fileCreatedAt", "2024-01-01T00:00:00Z")
            form.add_field("fileModifiedAt", "2024-01-01T00:00:00Z")
            form.add_field("assetData", photo, filename="a.jpg", content_type="image/jpeg")
            async with session.post("/api/assets", data=form) as response:
                assert response.status == 201
                asset = await response.json()
            async with session.get(f"/api/assets/{asset['id']}/original") as response:
                assert await response.read() == photo

            deadline = time.monotonic() + 60
            while True:
                async with session.get("/metrics") as response:
                    assert response.status == 200 and response.content_type == "text/plain"
                    text = await response.text()
                done = _value(text, "shoebox_jobs_finished_total", queue="thumbnailGeneration", outcome="completed")
                hardware = _value(text, "shoebox_host_memory_total_bytes")
                if (done and hardware) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
    finally:
        server.stop()

    assert _value(text, "shoebox_api_requests_total", method="POST", route="/api/assets", status="201") == 1
    assert _value(text, "shoebox_api_request_seconds_count", method="POST", route="/api/assets") == 1
    assert _value(text, "shoebox_io_upload_bytes_total") >= len(photo)  # the multipart body
    assert _value(text, "shoebox_io_download_bytes_total") == len(photo)
    assert hardware and hardware > 0  # the host group, read from this machine's /proc
    assert _value(text, "shoebox_host_disk_free_bytes", path=str(tmp_path / "data")) > 0
    assert done and done >= 1  # the job group: the thumbnail was made
    assert _value(text, "shoebox_jobs", queue="thumbnailGeneration", state="waiting") == 0
