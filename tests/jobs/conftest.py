"""Fixtures for the job tests: a real database on tmp_path, a user, and assets inserted the way ingest
inserts them (original under the data dir, row plus metadata job in one transaction)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from appliance import clock as clocks
from appliance.ids import new_id, uuid7
from appliance.media.mimetypes import asset_type, mime_type
from appliance.storage.db import Database
from appliance.storage.jobs import enqueue

AddAsset = Callable[..., Awaitable[str]]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "data" / "shoebox.db")
    await database.open()
    yield database
    await database.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


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


async def insert_asset(
    db: Database, data_dir: Path, owner: str, source: Path, *, name: str | None = None, enqueue_job: bool = True,
    sidecar: Path | None = None,
) -> str:
    asset_id = new_id()
    name = name or source.name
    relative = Path("library") / owner / f"{asset_id}{Path(name).suffix.lower()}"
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    sidecar_rel = None
    if sidecar is not None:
        sidecar_rel = relative.with_name(relative.name + ".xmp")
        shutil.copyfile(sidecar, data_dir / sidecar_rel)
    now = clocks.iso(clocks.utc_now())
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO assets (id, owner_id, type, original_path, original_file_name, original_mime_type,"
            " checksum, file_size, file_created_at, file_modified_at, local_date_time, created_at, updated_at,"
            " sidecar_path, update_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                asset_id, owner, asset_type(name) or "IMAGE", str(relative), name, mime_type(name),
                hashlib.sha1(target.read_bytes()).digest(), target.stat().st_size,
                "2001-02-03T04:05:06.000Z", "2001-02-03T04:05:06.000Z", "2001-02-03T04:05:06.000Z", now, now,
                None if sidecar_rel is None else str(sidecar_rel), uuid7(),
            ),
        )
        if enqueue_job:
            await enqueue(
                conn, queue="metadataExtraction", name="AssetExtractMetadata",
                payload={"id": asset_id, "source": "upload"}, now=now, priority=0,
                dedupe_key=f"metadata:{asset_id}",
            )
    return asset_id


@pytest.fixture
def add_asset(db: Database, data_dir: Path, owner: str) -> AddAsset:
    async def add(source: Path, **kwargs: object) -> str:
        return await insert_asset(db, data_dir, owner, source, **kwargs)  # type: ignore[arg-type]

    return add
