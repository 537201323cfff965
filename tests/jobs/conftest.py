"""Fixtures for the job tests: a real database and data folder on tmp_path, the real services, a user, and
assets added through the real ingest path (which queues the metadata job as an upload does)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance import clock as clocks
from appliance.config import Settings
from appliance.ids import new_id, uuid7
from appliance.jobs.system import JobSystem
from appliance.jobs.workers import PoolSettings
from appliance.library.ingest import IngestRequest
from appliance.services import Services, build_services
from appliance.storage.db import Database

AddAsset = Callable[..., Awaitable[str]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
async def services(data_dir: Path, geodata_dir: Path) -> AsyncIterator[Services]:
    built = build_services(Settings(data_dir=data_dir, geodata_dir=geodata_dir))
    await built.db.open()
    built.store.prepare_blocking()
    yield built
    await built.db.close()


@pytest.fixture
def db(services: Services) -> Database:
    return services.db


@pytest.fixture
async def owner(db: Database) -> str:
    user_id = new_id()
    now = clocks.iso(clocks.utc_now())
    await db.execute(
        "INSERT INTO users (id, email, name, profile_changed_at, created_at, updated_at, update_id)"
        " VALUES (?, ?, 'Test', ?, ?, ?, ?)",
        (user_id, f"{user_id}@example.com", now, now, now, uuid7()),
    )
    return user_id


MODIFIED = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)


@pytest.fixture
def add_asset(services: Services, owner: str) -> AddAsset:
    async def add(source: Path, *, name: str | None = None, sidecar: Path | None = None) -> str:
        request = IngestRequest(
            owner_id=owner, filename=name or source.name, file_created_at=MODIFIED, file_modified_at=MODIFIED,
            device_asset_id=source.name, device_id="pytest",
        )
        result = await services.ingest.ingest_path(request, source, sidecar)
        assert result.status == "created"
        return result.id

    return add


@pytest.fixture
async def jobs(services: Services, data_dir: Path) -> AsyncIterator[JobSystem]:
    system = JobSystem(
        services.db, data_dir, ingest=services.ingest, poll_interval=0.05, retry_base=0.05,
        pool=PoolSettings(size=2, timeout=60), places=services.places,
    )
    await system.start()
    yield system
    await system.stop()
