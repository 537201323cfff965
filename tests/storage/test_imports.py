"""An import's progress (the files it handled and the session's counters) is written as one unit."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.storage.db import Database
from appliance.storage.imports import ImportRepository
from tests.storage.conftest import NOW, insert_user


async def _session(db: Database) -> ImportRepository:
    async with db.transaction() as conn:
        await insert_user(conn)
        await conn.execute(
            "INSERT INTO import_sessions (id, source_key, kind, owner_id, state, started_at, updated_at)"
            " VALUES ('s1', 'folder:/card', 'folder', 'u', 'running', ?, ?)", (NOW, NOW))
    return ImportRepository(db)


def _file(relpath: str) -> tuple[object, ...]:
    return ("folder:/card", "u", relpath, 10, 1, "imported", None, b"sum", "s1", NOW)


async def test_files_and_counters_go_in_together(tmp_path: Path) -> None:
    db = Database(tmp_path / "shoebox.db")
    await db.open()
    try:
        imports = await _session(db)
        await imports.record_progress("s1", {"imported": 2, "bytes": 20}, [_file("DCIM/a.jpg"), _file("DCIM/b.jpg")])
        assert set(await imports.known_files("folder:/card", "u")) == {"DCIM/a.jpg", "DCIM/b.jpg"}
        session = await imports.get_session("s1")
        assert session is not None and (session.imported, session.bytes) == (2, 20)
        # the session's update fails (state may not be NULL): the files written before it are rolled back too
        with pytest.raises(Exception, match="NOT NULL"):
            await imports.record_progress("s1", {"imported": 3, "state": None}, [_file("DCIM/c.jpg")])
        assert "DCIM/c.jpg" not in await imports.known_files("folder:/card", "u")
        with pytest.raises(ValueError, match="unknown columns"):
            await imports.record_progress("s1", {"nonsense": 1}, [_file("DCIM/d.jpg")])
        assert "DCIM/d.jpg" not in await imports.known_files("folder:/card", "u")
    finally:
        await db.close()
