"""The library tests share the importer's real services on a temporary data folder; the browsing tests add
services with a clock the test moves (`lib`, `clock`) and photos ingested from disk."""

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
from tests.importer.conftest import admin, services, settings  # noqa: F401


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
    svc = build_services(Settings(data_dir=tmp_path / "data", mdns=False, jobs_enabled=False), clock=clock)
    await svc.db.open()
    svc.store.prepare_blocking()
    yield svc
    await svc.db.close()


async def make_user(svc: Services, name: str) -> AuthContext:
    record = await svc.auth.new_user_record(email=f"{name}@example.com", name=name, password="", is_admin=False)
    async with svc.db.transaction() as conn:
        await svc.auth.users.insert(conn, record)
    return AuthContext(user=record)


_seed = [5000]


async def add_photo(svc: Services, owner: AuthContext, tmp_path: Path, when: str, **flags: object) -> str:
    _seed[0] += 1
    source = tmp_path / f"p{_seed[0]}.jpg"
    source.write_bytes(jpeg_bytes(_seed[0]))
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    request = IngestRequest(owner_id=owner.user_id, filename=source.name, file_created_at=moment,
                            file_modified_at=moment, **flags)  # type: ignore[arg-type]
    result = await svc.ingest.ingest_path(request, source)
    return result.id
