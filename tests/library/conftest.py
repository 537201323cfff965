"""Services on a real SQLite file with a clock the test moves, and photos ingested from disk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.config import Settings
from appliance.library.auth import AuthContext
from appliance.library.ingest import IngestRequest
from appliance.services import Services, build_services
from tests.api.conftest import jpeg_bytes


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


@pytest.fixture
async def lib(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    services = build_services(Settings(data_dir=tmp_path / "data", mdns=False, jobs_enabled=False), clock=clock)
    await services.db.open()
    services.store.prepare_blocking()
    yield services
    await services.db.close()


async def make_user(services: Services, name: str) -> AuthContext:
    record = await services.auth.new_user_record(email=f"{name}@example.com", name=name, password="", is_admin=False)
    async with services.db.transaction() as conn:
        await services.auth.users.insert(conn, record)
    return AuthContext(user=record)


_seed = [5000]


async def add_photo(services: Services, owner: AuthContext, tmp_path: Path, when: str, **flags: object) -> str:
    _seed[0] += 1
    source = tmp_path / f"p{_seed[0]}.jpg"
    source.write_bytes(jpeg_bytes(_seed[0]))
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    request = IngestRequest(owner_id=owner.user_id, filename=source.name, file_created_at=moment,
                            file_modified_at=moment, **flags)  # type: ignore[arg-type]
    result = await services.ingest.ingest_path(request, source)
    return result.id
