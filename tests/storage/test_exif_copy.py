"""The EXIF place and orientation copied onto each asset (0008_browse_speed.sql) stay equal to asset_exif:
after the upgrade of an existing library, and through every way EXIF rows are written or removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.storage import db as db_module
from appliance.storage.asset_media import write_metadata
from appliance.storage.db import Database
from tests.storage.conftest import NOW, insert_bare_asset

COPIES = "SELECT exif_orientation, exif_projection_type, exif_city, exif_country FROM assets WHERE id = ?"


async def test_upgrade_copies_the_exif_of_existing_assets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    every = db_module.migration_files()
    monkeypatch.setattr(db_module, "migration_files", lambda: [m for m in every if m[0] < "0008"])
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    await insert_bare_asset(db, "a1")
    await insert_bare_asset(db, "a2")
    await db.execute("INSERT INTO asset_exif (asset_id, orientation, projection_type, city, country, update_id)"
                     " VALUES ('a1', '6', 'EQUIRECTANGULAR', 'Lyon', 'France', 'x')")
    await db.close()
    monkeypatch.setattr(db_module, "migration_files", lambda: every)
    await db.open()
    assert tuple(await db.fetchone(COPIES, ("a1",)) or ()) == ("6", "EQUIRECTANGULAR", "Lyon", "France")
    assert tuple(await db.fetchone(COPIES, ("a2",)) or ()) == (None, None, None, None)
    await db.close()


async def test_every_write_of_an_exif_row_reaches_the_copy(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    await insert_bare_asset(db, "a1")
    async with db.transaction() as conn:  # the metadata job: an upsert of the row
        await write_metadata(conn, "a1", exif={"city": "Lyon", "country": "France", "orientation": "6"}, asset={},
                             now=NOW)
    assert tuple(await db.fetchone(COPIES, ("a1",)) or ()) == ("6", None, "Lyon", "France")
    async with db.transaction() as conn:  # run again: the upsert's update half
        await write_metadata(conn, "a1", exif={"city": "Turin", "country": "Italy", "orientation": "1"}, asset={},
                             now=NOW)
    assert tuple(await db.fetchone(COPIES, ("a1",)) or ()) == ("1", None, "Turin", "Italy")
    await db.execute("UPDATE asset_exif SET projection_type = 'EQUIRECTANGULAR' WHERE asset_id = 'a1'")
    assert tuple(await db.fetchone(COPIES, ("a1",)) or ()) == ("1", "EQUIRECTANGULAR", "Turin", "Italy")
    await db.execute("INSERT OR REPLACE INTO asset_exif (asset_id, city, update_id) VALUES ('a1', 'Porto', 'y')")
    assert tuple(await db.fetchone(COPIES, ("a1",)) or ()) == (None, None, "Porto", None)
    await db.execute("DELETE FROM asset_exif WHERE asset_id = 'a1'")
    assert tuple(await db.fetchone(COPIES, ("a1",)) or ()) == (None, None, None, None)
    await db.execute("INSERT INTO asset_exif (asset_id, city, update_id) VALUES ('a1', 'Ghent', 'z')")
    await db.execute("DELETE FROM assets WHERE id = 'a1'")  # the cascade to asset_exif is fine
    assert await db.fetchval("SELECT count(*) FROM asset_exif") == 0
    assert await db.integrity_check() == "ok"
    await db.close()


async def test_an_unchanged_copy_leaves_the_asset_row_alone(tmp_path: Path) -> None:
    """0011: a new asset's empty EXIF row, or a rewrite with the same values, no longer updates the asset
    (its timeline index entry and its version counters): nothing the timeline shows has changed."""
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    try:
        await insert_bare_asset(db, "a1")
        versions = ("SELECT version FROM asset_month_versions"
                    " WHERE owner_id = (SELECT owner_id FROM assets WHERE id = ?)")
        before = await db.fetchval(versions, ("a1",))
        await db.execute("INSERT INTO asset_exif (asset_id, file_size_in_byte, update_id) VALUES ('a1', 10, 'x')")
        assert await db.fetchval(versions, ("a1",)) == before
        await db.execute("UPDATE asset_exif SET city = 'Lyon' WHERE asset_id = 'a1'")
        changed = await db.fetchval(versions, ("a1",))
        assert changed == before + 1
        assert tuple(await db.fetchone(COPIES, ("a1",)) or ()) == (None, None, "Lyon", None)
        await db.execute("UPDATE asset_exif SET city = 'Lyon', country = NULL WHERE asset_id = 'a1'")  # same values
        assert await db.fetchval(versions, ("a1",)) == changed
        await db.execute("INSERT OR REPLACE INTO asset_exif (asset_id, city, update_id) VALUES ('a1', 'Lyon', 'y')")
        assert await db.fetchval(versions, ("a1",)) == changed
    finally:
        await db.close()  # a failed assertion must not leave the connection threads holding the run open
