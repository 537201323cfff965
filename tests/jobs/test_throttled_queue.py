"""A Pi 4 in a hot closed case: background jobs slow down, pause, and resume after the dwell time, while
uploads are served throughout. The board is a captured sysroot whose temperature file the test rewrites;
the governor, the job runner, libvips and the HTTP server are the real ones."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from appliance.app import create_app
from appliance.config import Settings
from appliance.hardware.service import HardwareService
from appliance.jobs.system import job_component
from appliance.services import Services, build_services
from tests.api.conftest import PASSWORD, Caller, jpeg_bytes, sign_in, upload
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def set_temperature(sysroot: Path, celsius: float) -> None:
    (sysroot / "sys/class/thermal/thermal_zone0/temp").write_text(f"{int(celsius * 1000)}\n")
    hwmon = sysroot / "sys/class/hwmon/hwmon0/temp1_input"
    if hwmon.exists():
        hwmon.write_text(f"{int(celsius * 1000)}\n")


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


@pytest.fixture
def sysroot(tmp_path: Path) -> Path:
    root = tmp_path / "pi4"
    shutil.copytree(REPO_ROOT / "hw-profiles" / "rpi-4b" / "sysroot", root)
    set_temperature(root, 50)
    return root


async def test_hot_box_pauses_background_work_but_never_uploads(
    tmp_path: Path, sysroot: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    services: Services = build_services(Settings(data_dir=tmp_path / "data", mdns=False))

    async def pi_hardware(svc: Services) -> AsyncIterator[None]:
        part = HardwareService(sysroot, tmp_path / "cache", interval=0.1)
        part.governor.min_dwell_s = 1.0
        svc.extras["hardware"] = part
        await part.start()
        yield
        await part.stop()

    client = await aiohttp_client(create_app(services, components=[pi_hardware, job_component]))
    await client.post("/api/auth/admin-sign-up", json={"email": "a@example.com", "name": "A", "password": PASSWORD})
    caller = Caller("", "a@example.com", await sign_in(client, "a@example.com"))
    governor = services.extras["hardware"].governor

    async def state_is(name: str) -> bool:
        return bool(governor.state.name == name)

    async def thumbnails() -> int:
        return int(await services.db.fetchval("SELECT count(*) FROM asset_files WHERE kind = 'thumbnail'"))

    set_temperature(sysroot, 77)
    await wait_until(lambda: state_is("SLOW"))
    assert governor.concurrency_for("thumbnailGeneration") == 1

    set_temperature(sysroot, 85)
    await wait_until(lambda: state_is("PAUSE"))
    assert governor.concurrency_for("thumbnailGeneration") == 0
    await asyncio.sleep(2.5)  # let jobs queued before the pause drain
    before = await thumbnails()
    for seed in range(3):  # uploads are never throttled
        status, _ = await upload(client, caller, jpeg_bytes(seed, (640, 480)), f"hot{seed}.jpg")
        assert status == 201
    await asyncio.sleep(3)
    assert await thumbnails() == before, "jobs ran while paused"
    status = await (await client.get("/api/appliance/status", headers=caller.headers)).json()
    assert status["hardware"]["throttle"]["state"] == "PAUSE"

    set_temperature(sysroot, 60)
    await wait_until(lambda: state_is("RUN"), within=30)
    async def all_rendered() -> bool:
        return await thumbnails() == before + 3

    await wait_until(all_rendered, within=90)
