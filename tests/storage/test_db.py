"""The database opens, migrates once, and keeps writes atomic."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from appliance.storage.db import Database, migration_files


async def test_open_applies_every_migration_once(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    await db.close()
    await db.open()
    names = [row[0] for row in await db.fetchall("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [name for name, _ in migration_files()]
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.integrity_check() == "ok"
    await db.close()
    await db.close()  # closing twice is harmless


async def test_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO system_metadata(key, value) VALUES ('a', '1')")
            await conn.execute("INSERT INTO system_metadata(key, value) VALUES ('a', '2')")
    assert await db.fetchval("SELECT count(*) FROM system_metadata") == 0
    await db.close()


async def test_readers_cannot_write(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    with pytest.raises(sqlite3.OperationalError):
        async with db.reader() as conn:
            await conn.execute("INSERT INTO system_metadata(key, value) VALUES ('a', '1')")
    await db.close()


async def test_a_lookup_sees_each_commit_at_once_and_holds_no_snapshot_open(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    assert await db.lookup("SELECT value FROM system_metadata WHERE key = ?", ("a",)) == []
    for value in ("1", "2"):
        await db.execute("INSERT OR REPLACE INTO system_metadata(key, value) VALUES ('a', ?)", (value,))
        rows = await db.lookup("SELECT value FROM system_metadata WHERE key = ?", ("a",))
        assert [row["value"] for row in rows] == [value]
    # a lookup left no read transaction behind: a full checkpoint can reset the WAL
    busy, _, _ = next(iter(await db._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")))  # type: ignore[union-attr]
    assert busy == 0
    await db.close()


async def test_a_lookup_cannot_write(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    with pytest.raises(sqlite3.OperationalError):
        await db.lookup("INSERT INTO system_metadata(key, value) VALUES ('a', '1')")
    await db.close()


def test_reader_page_caches_grow_with_the_memory_of_the_box() -> None:
    from appliance.storage.db import default_reader_cache_kib

    assert default_reader_cache_kib(256 * 2**20) == 4 * 1024  # never below SQLite's usual few MiB
    assert default_reader_cache_kib(512 * 2**20) == 8 * 1024  # a Pi Zero 2 W: 8 MiB per reader
    assert default_reader_cache_kib(24 * 2**30) == 64 * 1024  # capped


async def test_readers_use_their_page_cache_size(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db", reader_cache_kib=12_345)
    await db.open()
    try:
        async with db.reader() as conn, conn.execute("PRAGMA cache_size") as cursor:
            assert (await cursor.fetchone())[0] == -12_345
    finally:
        await db.close()
