"""Concurrent ingests share their transactions (group commit) and stay exact: every distinct file becomes
one asset, the same bytes twice become one asset and a duplicate, nothing is left in staging."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path
from typing import Any

import pytest

from appliance.config import Settings
from appliance.library.ingest import IngestRequest, file_times
from appliance.services import Services
from appliance.storage.records import AssetRecord, UserRecord
from tests.importer.conftest import library_files, rows, staging_leftovers, write


def request_for(owner: UserRecord, path: Path) -> IngestRequest:
    created, modified = file_times(path)
    return IngestRequest(owner_id=owner.id, filename=path.name, file_created_at=created, file_modified_at=modified)


async def test_concurrent_ingests_are_grouped_and_exact(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    same = os.urandom(20_000)
    paths = [write(tmp_path / f"p{i}.jpg", os.urandom(30_000)) for i in range(12)]
    paths += [write(tmp_path / f"same{i}.jpg", same) for i in range(3)]
    sidecar = write(tmp_path / "p0.jpg.xmp", b"<x:xmpmeta/>")
    transactions = 0
    original = services.db.transaction

    def counting():  # type: ignore[no-untyped-def]
        nonlocal transactions
        transactions += 1
        return original()

    services.db.transaction = counting  # type: ignore[method-assign]
    results = await asyncio.gather(*(
        services.ingest.ingest_path(request_for(admin, p), p, sidecar if p.name == "p0.jpg" else None)
        for p in paths
    ))
    statuses = sorted(r.status for r in results)
    assert statuses == ["created"] * 13 + ["duplicate"] * 2
    assert len({r.id for r in results}) == 13
    assert transactions < 2 * 13  # shared, not two per asset
    assert len(rows(settings, "SELECT id FROM assets")) == 13
    assert len(library_files(settings)) == 14  # 13 originals + 1 sidecar
    assert rows(settings, "SELECT * FROM upload_intents") == []
    assert staging_leftovers(settings) == []


async def test_batch_ingests_become_assets_only_after_one_sync_covers_their_files(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staged without an fsync each: every file is in its library path and a filesystem sync has run
    before the transaction that makes it an asset; a group shares its sync."""
    paths = [write(tmp_path / f"b{i}.jpg", os.urandom(40_000)) for i in range(20)]
    sidecar = write(tmp_path / "b0.jpg.xmp", b"<x:xmpmeta/>")
    events: list[tuple[str, str]] = []
    store, assets = services.ingest.store, services.ingest.assets
    real_place, real_sync, real_insert_many, real_insert = (
        store.place_blocking, store.sync_blocking, assets.insert_many, assets.insert)

    def place(staged: Path, relative: str, mtime: float | None = None) -> Path:
        final = real_place(staged, relative, mtime)
        events.append(("place", relative))
        return final

    def sync(placed: Any = ()) -> None:
        real_sync(placed)
        events.append(("sync", ""))

    async def insert_many(conn: Any, records: list[AssetRecord], exifs: Any) -> None:
        events.extend(("insert", record.original_path) for record in records)
        await real_insert_many(conn, records, exifs)

    async def insert(conn: Any, record: AssetRecord) -> None:
        events.append(("insert", record.original_path))
        await real_insert(conn, record)

    monkeypatch.setattr(store, "place_blocking", place)
    monkeypatch.setattr(store, "sync_blocking", sync)
    monkeypatch.setattr(assets, "insert_many", insert_many)
    monkeypatch.setattr(assets, "insert", insert)
    results = await asyncio.gather(*(
        services.ingest.ingest_path(request_for(admin, p), p, sidecar if p.name == "b0.jpg" else None, batch=True)
        for p in paths
    ))

    assert [r.status for r in results] == ["created"] * 20
    syncs = [i for i, (kind, _) in enumerate(events) if kind == "sync"]
    assert 1 <= len(syncs) < 20  # shared by the group, not one per file
    placed = {path: i for i, (kind, path) in enumerate(events) if kind == "place"}
    for i, (kind, path) in enumerate(events):
        if kind == "insert":
            assert any(placed[path] < s < i for s in syncs), f"{path} became an asset before a sync covered it"
    sidecar_row = rows(settings, "SELECT sidecar_path FROM assets WHERE sidecar_path IS NOT NULL")
    assert any(placed[sidecar_row[0][0]] < s for s in syncs)
    assert len(library_files(settings)) == 21
    assert rows(settings, "SELECT * FROM upload_intents") == []
    assert staging_leftovers(settings) == []


async def test_a_failed_sync_fails_the_batch_and_leaves_nothing_behind(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [write(tmp_path / f"f{i}.jpg", os.urandom(30_000)) for i in range(6)]

    def failing_sync(placed: Any = ()) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(services.ingest.store, "sync_blocking", failing_sync)
    results = await asyncio.gather(*(
        services.ingest.ingest_path(request_for(admin, p), p, batch=True) for p in paths
    ), return_exceptions=True)
    assert all(isinstance(r, OSError) and r.errno == errno.EIO for r in results)
    assert rows(settings, "SELECT id FROM assets") == []
    assert library_files(settings) == []
    assert rows(settings, "SELECT * FROM upload_intents") == []
    assert staging_leftovers(settings) == []

    monkeypatch.undo()  # the disk is back: the same files go in
    again = await asyncio.gather(*(services.ingest.ingest_path(request_for(admin, p), p, batch=True) for p in paths))
    assert [r.status for r in again] == ["created"] * 6


async def test_where_syncfs_would_not_reach_the_disk_each_file_and_its_folders_are_fsynced(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data folder on FUSE (mergerfs on a NAS): syncfs is a no-op there, so the batch falls back to an
    fsync of every placed file and of the folders above it, still before the asset rows."""
    from appliance.storage import files

    paths = [write(tmp_path / f"n{i}.jpg", os.urandom(20_000)) for i in range(5)]
    sidecar = write(tmp_path / "n0.jpg.xmp", b"<x:xmpmeta/>")
    events: list[tuple[str, Path]] = []
    real_file, real_dir = files._fsync_file, files._fsync_dir

    def fsync_file(path: Path) -> None:
        real_file(path)
        events.append(("file", path))

    def fsync_dir(path: Path) -> None:
        real_dir(path)
        events.append(("dir", path))

    monkeypatch.setattr(services.ingest.store, "_syncfs_ok", False)
    monkeypatch.setattr(files, "_fsync_file", fsync_file)
    monkeypatch.setattr(files, "_fsync_dir", fsync_dir)
    inserted: list[str] = []
    real_insert_many, real_insert = services.ingest.assets.insert_many, services.ingest.assets.insert

    def check_synced(record: AssetRecord) -> None:
        final = settings.data_dir / record.original_path
        assert ("file", final) in events and ("dir", final.parent) in events, "an asset before its fsync"
        inserted.append(record.id)

    async def insert_many(conn: Any, records: list[AssetRecord], exifs: Any) -> None:
        for record in records:
            check_synced(record)
        await real_insert_many(conn, records, exifs)

    async def insert(conn: Any, record: AssetRecord) -> None:
        check_synced(record)
        await real_insert(conn, record)

    monkeypatch.setattr(services.ingest.assets, "insert", insert)

    monkeypatch.setattr(services.ingest.assets, "insert_many", insert_many)
    results = await asyncio.gather(*(
        services.ingest.ingest_path(request_for(admin, p), p, sidecar if p.name == "n0.jpg" else None, batch=True)
        for p in paths
    ))
    assert [r.status for r in results] == ["created"] * 5
    synced_files = {path for kind, path in events if kind == "file"}
    synced_dirs = {path for kind, path in events if kind == "dir"}
    for library_file in library_files(settings):
        assert library_file in synced_files
        assert {library_file.parent, library_file.parent.parent, settings.data_dir / "library"} <= synced_dirs
    assert len(inserted) == 5


async def test_ingest_many_gives_each_file_what_ingest_would_with_one_lookup_for_all(
    services: Services, settings: Settings, admin: UserRecord, tmp_path: Path
) -> None:
    """An import's batch: new files, a file the library has, the same bytes twice in the batch, an empty
    file and one over the quota each get their own outcome; the lookups are one query each, not per file."""
    known = write(tmp_path / "known.jpg", os.urandom(10_000))
    assert (await services.ingest.ingest_path(request_for(admin, known), known)).status == "created"
    same = os.urandom(20_000)
    files = [write(tmp_path / f"n{i}.jpg", os.urandom(30_000)) for i in range(5)]
    files += [write(tmp_path / "again.jpg", known.read_bytes()), write(tmp_path / "s1.jpg", same),
              write(tmp_path / "s2.jpg", same), write(tmp_path / "empty.jpg", b"")]
    staged = [await asyncio.to_thread(services.ingest.stage_path_blocking, p, batch=True) for p in files]
    lookups = 0
    original = services.db.fetchall

    async def counting(sql: str, params: Any = ()) -> Any:
        nonlocal lookups
        lookups += 1
        return await original(sql, params)

    services.db.fetchall = counting  # type: ignore[method-assign]
    batch = [(request_for(admin, p), s) for p, (s, _) in zip(files, staged, strict=True)]
    outcomes = await services.ingest.ingest_many(batch)
    services.db.fetchall = original  # type: ignore[method-assign]
    by_name = dict(zip((p.name for p in files), outcomes, strict=True))
    assert all(by_name[f"n{i}.jpg"].status == "created" for i in range(5))  # type: ignore[union-attr]
    known_id = rows(settings, "SELECT id FROM assets WHERE original_file_name = 'known.jpg'")[0][0]
    assert (by_name["again.jpg"].status, by_name["again.jpg"].id) == ("duplicate", known_id)  # type: ignore[union-attr]
    assert sorted(by_name[n].status for n in ("s1.jpg", "s2.jpg")) == ["created", "duplicate"]  # type: ignore[union-attr]
    assert isinstance(by_name["empty.jpg"], Exception) and "empty" in str(by_name["empty.jpg"])
    assert lookups == 1  # the duplicates of all of them in one query
    assert len(rows(settings, "SELECT id FROM assets")) == 1 + 5 + 1
    assert rows(settings, "SELECT * FROM upload_intents") == []
    assert staging_leftovers(settings) == []

    await asyncio.to_thread(
        sqlite_set_quota, settings, admin.id, sum(p.stat().st_size for p in files) // 2
    )
    more = [write(tmp_path / f"q{i}.jpg", os.urandom(30_000)) for i in range(2)]
    staged = [await asyncio.to_thread(services.ingest.stage_path_blocking, p, batch=True) for p in more]
    batch = [(request_for(admin, p), s) for p, (s, _) in zip(more, staged, strict=True)]
    over = await services.ingest.ingest_many(batch)
    assert all(isinstance(o, Exception) and "Quota" in str(o) for o in over)
    assert staging_leftovers(settings) == []


def sqlite_set_quota(settings: Settings, user_id: str, size: int) -> None:
    import sqlite3

    with sqlite3.connect(settings.database_path) as conn:
        conn.execute("UPDATE users SET quota_size_bytes = ? WHERE id = ?", (size, user_id))
