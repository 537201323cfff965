"""The library tests share the importer's real services on a temporary data folder; the browsing tests add
services with a clock the test moves (`lib`, `clock`) and photos ingested from disk."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.config import Settings
from appliance.library.context import AuthContext
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


class LibraryChurn:
    """Random changes of every kind to some users' assets, one per `step`: for tests that something derived
    from the assets (month counts, months kept in memory) keeps up with them."""

    ACTIONS = ("fav", "archive", "trash", "restore", "date", "exif", "size", "stack", "primary", "unstack",
               "delete")

    def __init__(self, lib: Services, rng: random.Random, ids: dict[str, list[str]],
                 users: list[AuthContext]) -> None:
        self.lib, self.rng, self.ids, self.users = lib, rng, ids, users
        self.stacks: list[tuple[str, AuthContext]] = []

    @staticmethod
    def date_month(number: int) -> str:
        """The month that step `number`'s "date" change moves a photo to."""
        return f"2009-0{number % 9 + 1}-01"

    async def step(self, number: int) -> str | None:
        """Make one change; the action's name, or None when the chosen owner has nothing to change."""
        lib, rng = self.lib, self.rng
        owner = rng.choice(self.users)
        mine = self.ids[owner.user_id]
        if not mine:
            return None
        pick = rng.sample(mine, min(len(mine), rng.randint(1, 3)))
        action = rng.choice(self.ACTIONS)
        if action == "fav":
            await lib.assets.update_many(owner, pick, {"isFavorite": rng.random() < 0.5})
        elif action == "archive":
            await lib.assets.update_many(owner, pick, {"visibility": rng.choice(["archive", "timeline", "locked"])})
        elif action == "trash":
            await lib.assets.delete(owner, pick, force=False)
        elif action == "restore":
            await lib.assets.restore(owner, pick)
        elif action == "date":
            moved = {"dateTimeOriginal": self.date_month(number)[:8] + "02T10:00:00+05:30"}
            await lib.assets.update_many(owner, pick[:1], moved)
        elif action == "exif":
            async with lib.db.transaction() as conn:
                await lib.assets.assets.update_exif(conn, pick[0], {"city": rng.choice(["Lyon", "Gent", None]),
                                                                    "orientation": rng.choice(["1", "6"]),
                                                                    "update_id": "x"})
        elif action == "size":
            async with lib.db.transaction() as conn:
                await lib.assets.assets.update(conn, pick, {"width": rng.randint(1, 9), "height": rng.randint(1, 9)})
        elif action == "stack" and len(pick) >= 2:
            stack, _ = await lib.browse.stacks.create(owner, pick)
            self.stacks.append((stack.id, owner))
        elif action == "primary" and self.stacks:
            stack_id, stack_owner = rng.choice(self.stacks)
            members = await lib.browse.stacks.stacks.asset_ids(stack_id)
            if members:
                await lib.browse.stacks.update(stack_owner, stack_id, rng.choice(members))
        elif action == "unstack" and self.stacks:
            stack_id, stack_owner = self.stacks.pop()
            if await lib.browse.stacks.stacks.get(stack_id) is not None:
                await lib.browse.stacks.delete(stack_owner, [stack_id])
        elif action == "delete":
            await lib.assets.delete(owner, pick[:1], force=True)
            mine.remove(pick[0])
        return action
