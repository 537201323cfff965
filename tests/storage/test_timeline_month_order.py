"""A month of the timeline is one range of one index, in the order shown (0009_timeline_month_order.sql):
after the upgrade of an existing library too."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from appliance.storage import db as db_module
from appliance.storage.db import Database
from appliance.storage.timeline import TimelineFilter, TimelineRepository
from tests.storage.conftest import NOW, insert_bare_asset


async def test_upgrade_orders_existing_months_and_computes_their_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = db_module.migration_files()
    monkeypatch.setattr(db_module, "migration_files", lambda: [m for m in every if m[0] < "0009"])
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    await insert_bare_asset(db, "a1", taken="2024-05-31T20:00:00.000Z", local="2024-06-01T01:30:00.000Z",  # +5:30, June
                            width=4000, height=3000)
    await insert_bare_asset(db, "a2", taken="2024-06-10T10:00:00.000Z", local="2024-06-10T08:00:00.000Z",  # -2
                            width=0, height=0)
    await insert_bare_asset(db, "a3", taken="2024-06-01T12:00:00.000Z", local="2024-05-31T23:00:00.000Z",  # May
                            width=3, height=4)
    await db.execute("INSERT INTO asset_exif (asset_id, orientation, update_id) VALUES ('a1', '6', 'x')")
    await db.close()
    monkeypatch.setattr(db_module, "migration_files", lambda: every)
    await db.open()
    rows = await db.fetchall("SELECT id, local_month, local_offset_text, timeline_ratio_text FROM assets ORDER BY id")
    # as JSON prints them: a whole offset is an integer, as Immich sends it
    assert [tuple(r) for r in rows] == [("a1", "2024-06", "5.5", "0.75"), ("a2", "2024-06", "-2", "1.0"),
                                        ("a3", "2024-05", "-13", "0.75")]
    repo = TimelineRepository(db)
    f = TimelineFilter(owner_ids=["u"])
    names, found = await repo.bucket(f, "2024-06-01")
    assert [row[0] for row in found] == ["a2", "a1"]
    sql, params = repo.bucket_sql(f, "2024-06-01")
    plan = await repo.explain(sql, params)
    assert plan == ["SEARCH a USING INDEX assets_timeline (owner_id=? AND local_month=?)"]  # no sort
    await db.execute("UPDATE assets SET local_date_time = '2024-07-02T00:00:00.000Z' WHERE id = 'a2'")
    assert [row[0] for row in (await repo.bucket(f, "2024-06-01"))[1]] == ["a1"]
    await db.close()


async def test_every_change_raises_the_version_of_exactly_the_months_it_can_alter(tmp_path: Path) -> None:
    """0010: a month kept in memory stays kept through changes to other months, so each write must raise the
    version of every month whose timeline it can change (before and after a move; the months of a stack's
    members, whose primary and count every member shows) and of no other."""
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    repo = TimelineRepository(db)
    months = ("2024-06-01", "2024-07-01", "2024-08-01")
    assert await repo.month_versions(["u", "v"], months[0]) == (0, 0)
    await insert_bare_asset(db, "a1", taken="2024-06-01T10:00:00.000Z", local="2024-06-01T10:00:00.000Z")
    await insert_bare_asset(db, "a2", taken="2024-06-09T10:00:00.000Z", local="2024-06-09T10:00:00.000Z")
    await insert_bare_asset(db, "a3", taken="2024-07-01T10:00:00.000Z", local="2024-07-01T10:00:00.000Z")
    await db.execute("INSERT INTO users (id, email, name, profile_changed_at, created_at, updated_at, update_id)"
                     " VALUES ('v', 'v@example.com', 'v', ?, ?, ?, 'x')", (NOW, NOW, NOW))

    async def versions() -> dict[tuple[str, str], int]:
        found = {}
        for month in months:
            for owner, version in zip(("u", "v"), await repo.month_versions(["u", "v"], month), strict=True):
                found[(owner, month[:7])] = version
        return found

    async def raises(expected: set[tuple[str, str]], sql: str, *params: object) -> None:
        before = await versions()
        await db.execute(sql, params)
        after = await versions()
        assert {key for key in after if after[key] != before[key]} == expected, sql
        assert all(after[key] >= before[key] for key in after), sql  # never back

    june, july, august = ("u", "2024-06"), ("u", "2024-07"), ("u", "2024-08")
    await raises({june}, "UPDATE assets SET is_favorite = 1 WHERE id = 'a1'")
    await raises({june}, "INSERT INTO asset_exif (asset_id, city, update_id) VALUES ('a1', 'Lyon', 'x')")
    await raises({june}, "UPDATE asset_exif SET city = 'Turin', orientation = '6' WHERE asset_id = 'a1'")
    await raises({july}, "UPDATE assets SET thumbhash = x'0102' WHERE id = 'a3'")
    await raises({july, august}, "UPDATE assets SET local_date_time = '2024-08-02T10:00:00.000Z' WHERE id = 'a3'")
    await raises(set(), "INSERT INTO stacks (id, owner_id, primary_asset_id, created_at, updated_at, update_id)"
                        " VALUES ('s1', 'u', 'a1', ?, ?, 'x')", NOW, NOW)  # no member yet
    await raises({august}, "UPDATE assets SET stack_id = 's1' WHERE id = 'a3'")
    await raises({june, august}, "UPDATE assets SET stack_id = 's1' WHERE id = 'a1'")  # a3's count shows it
    await raises({june, august}, "UPDATE stacks SET primary_asset_id = 'a3' WHERE id = 's1'")
    await raises({june, august}, "UPDATE assets SET stack_id = NULL WHERE id = 'a1'")  # leaves: a3's count
    await raises({august}, "DELETE FROM stacks WHERE id = 's1'")
    await raises({august}, "UPDATE assets SET stack_id = NULL WHERE id = 'a3'")
    await raises({june, ("v", "2024-06")}, "UPDATE assets SET owner_id = 'v' WHERE id = 'a1'")
    await raises({june}, "DELETE FROM assets WHERE id = 'a2'")
    await raises({("v", "2024-06")}, "DELETE FROM assets WHERE id = 'a1'")
    await db.close()


async def test_a_month_newest_first_is_built_straight_from_the_index_in_the_order_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0010 keys the index newest first; an upgraded library's month, aggregated without a sort or a copy of
    its rows, comes out in the order of `ORDER BY file_created_at DESC, id DESC` (ties by id), and anything
    not one owner newest first still takes the ordered subquery."""
    import random

    every = db_module.migration_files()
    monkeypatch.setattr(db_module, "migration_files", lambda: [m for m in every if m[0] < "0010"])
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    rng = random.Random(7)
    for number in range(60):  # a few instants shared by several photos: the id decides among them
        taken = f"2024-06-{rng.randint(1, 3):02d}T{rng.choice(['08', '12']):s}:00:00.000Z"
        await insert_bare_asset(db, f"{rng.getrandbits(32):08x}-{number}", taken=taken, local=taken,
                                width=rng.choice([None, 3, 4000]), height=3000)
    await db.execute("UPDATE assets SET is_favorite = 1 WHERE rowid % 3 = 0")
    await db.close()
    monkeypatch.setattr(db_module, "migration_files", lambda: every)
    await db.open()
    repo = TimelineRepository(db)
    for f in (TimelineFilter(owner_ids=["u"]), TimelineFilter(owner_ids=["u"], visibility="timeline"),
              TimelineFilter(owner_ids=["u"], is_favorite=True), TimelineFilter(owner_ids=["u"], with_stacked=True),
              TimelineFilter(owner_ids=["u"], order_desc=False)):
        names, rows = await repo.bucket(f, "2024-06-01")
        n, arrays = await repo.bucket_json(f, "2024-06-01", "u")
        assert n == len(rows) > 0
        assert orjson.loads(arrays["id"]) == [row[0] for row in rows], f
        assert orjson.loads(arrays["file_created_at"]) == [row[names.index("file_created_at")] for row in rows]
        plan = await repo.explain(*repo.bucket_json_sql(f, "2024-06-01", "u"))
        if f.order_desc:
            assert plan[0] == "SEARCH a USING INDEX assets_timeline (owner_id=? AND local_month=?)", plan
            assert not any("CO-ROUTINE" in step for step in plan), plan
        else:
            assert any("CO-ROUTINE" in step for step in plan), plan
    ordered = [row[0] for row in (await repo.bucket(TimelineFilter(owner_ids=["u"]), "2024-06-01"))[1]]
    rows = await db.fetchall("SELECT id, file_created_at FROM assets WHERE owner_id = 'u'")
    assert ordered == [r[0] for r in sorted(rows, key=lambda r: (r[1], r[0]), reverse=True)]
    await db.close()
