"""SQL for import sessions and the per-source record of files already handled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance.storage.db import Database
from appliance.storage.records import from_row

_SESSION_COLUMNS = {
    "album_id", "album_name", "state", "found", "imported", "duplicates", "skipped", "failed", "bytes",
    "total_bytes", "error", "updated_at", "finished_at", "path",
}


@dataclass
class ImportSessionRecord:
    id: str
    source_key: str
    kind: str
    device: str
    label: str
    fs_uuid: str
    fs_type: str
    path: str
    owner_id: str
    album_id: str | None
    album_name: str
    resumed_from: str | None
    state: str
    found: int
    imported: int
    duplicates: int
    skipped: int
    failed: int
    bytes: int
    total_bytes: int
    error: str
    started_at: str
    updated_at: str
    finished_at: str | None


@dataclass(frozen=True)
class KnownFile:
    size: int
    mtime_ns: int
    status: str
    asset_id: str | None


_RECORD_FILE = (
    "INSERT INTO import_files (source_key, owner_id, relpath, size, mtime_ns, status, asset_id, checksum,"
    " session_id, handled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (source_key, owner_id, relpath) DO UPDATE SET size = excluded.size,"
    " mtime_ns = excluded.mtime_ns, status = excluded.status, asset_id = excluded.asset_id,"
    " checksum = excluded.checksum, session_id = excluded.session_id, handled_at = excluded.handled_at"
)


class ImportRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_session(self, record: ImportSessionRecord) -> None:
        values = vars(record)
        marks = ", ".join("?" for _ in values)
        await self.db.execute(
            f"INSERT INTO import_sessions ({', '.join(values)}) VALUES ({marks})", list(values.values())
        )

    async def get_session(self, session_id: str) -> ImportSessionRecord | None:
        row = await self.db.fetchone("SELECT * FROM import_sessions WHERE id = ?", (session_id,))
        return from_row(ImportSessionRecord, row) if row else None

    async def list_sessions(self, limit: int = 100) -> list[ImportSessionRecord]:
        rows = await self.db.fetchall(
            "SELECT * FROM import_sessions ORDER BY started_at DESC, rowid DESC LIMIT ?", (limit,)
        )
        return [from_row(ImportSessionRecord, row) for row in rows]

    async def last_session(self, source_key: str, owner_id: str) -> ImportSessionRecord | None:
        row = await self.db.fetchone(
            "SELECT * FROM import_sessions WHERE source_key = ? AND owner_id = ? ORDER BY started_at DESC,"
            " rowid DESC LIMIT 1",
            (source_key, owner_id),
        )
        return from_row(ImportSessionRecord, row) if row else None

    async def mark_stale_running(self, now: str) -> int:
        """Sessions a crash or restart left `running` are `interrupted`: the next insertion resumes them."""
        return await self.db.execute(
            "UPDATE import_sessions SET state = 'interrupted', error = 'the server stopped during the import',"
            " finished_at = ?, updated_at = ? WHERE state = 'running'",
            (now, now),
        )

    async def known_files(self, source_key: str, owner_id: str) -> dict[str, KnownFile]:
        rows = await self.db.fetchall(
            "SELECT relpath, size, mtime_ns, status, asset_id FROM import_files WHERE source_key = ? AND owner_id = ?",
            (source_key, owner_id),
        )
        return {row[0]: KnownFile(row[1], row[2], row[3], row[4]) for row in rows}

    async def record_progress(self, session_id: str, values: dict[str, Any], files: list[tuple[Any, ...]]) -> None:
        """In one transaction (one disk flush, and never one half without the other): remember the handled
        files, (source_key, owner_id, relpath, size, mtime_ns, status, asset_id, checksum, session_id,
        handled_at) rows, and update the session's columns."""
        unknown = set(values) - _SESSION_COLUMNS
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}")
        async with self.db.transaction() as conn:
            if files:
                await conn.executemany(_RECORD_FILE, files)
            sql = ", ".join(f"{name} = ?" for name in values)
            await conn.execute(f"UPDATE import_sessions SET {sql} WHERE id = ?", [*values.values(), session_id])

    async def live_asset_ids(self, owner_id: str, asset_ids: list[str]) -> set[str]:
        """Which of these assets still exist for the owner (not deleted for good)."""
        found: set[str] = set()
        for start in range(0, len(asset_ids), 500):
            chunk = asset_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = await self.db.fetchall(
                f"SELECT id FROM assets WHERE owner_id = ? AND id IN ({marks})", [owner_id, *chunk]
            )
            found.update(row[0] for row in rows)
        return found

    async def album_by_name(self, owner_id: str, name: str) -> str | None:
        value = await self.db.fetchval(
            "SELECT id FROM albums WHERE owner_id = ? AND name = ? AND deleted_at IS NULL ORDER BY created_at"
            " LIMIT 1",
            (owner_id, name),
        )
        return str(value) if value else None
