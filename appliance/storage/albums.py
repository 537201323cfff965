"""SQL for albums, their assets and their users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from appliance.ids import uuid7
from appliance.storage.db import Database
from appliance.storage.records import AlbumRecord, AlbumUserRecord, from_row


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class AlbumRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, conn: aiosqlite.Connection, album: AlbumRecord) -> None:
        values = vars(album)
        await conn.execute(
            f"INSERT INTO albums ({', '.join(values)}) VALUES ({_marks(list(values))})", list(values.values())
        )

    async def get(self, album_id: str) -> AlbumRecord | None:
        row = await self.db.fetchone("SELECT * FROM albums WHERE id = ? AND deleted_at IS NULL", (album_id,))
        return from_row(AlbumRecord, row) if row else None

    async def get_many(self, album_ids: Sequence[str]) -> list[AlbumRecord]:
        if not album_ids:
            return []
        rows = await self.db.fetchall(
            f"SELECT * FROM albums WHERE deleted_at IS NULL AND id IN ({_marks(album_ids)})", list(album_ids)
        )
        return [from_row(AlbumRecord, row) for row in rows]

    async def list_visible(self, user_id: str) -> list[AlbumRecord]:
        """Albums the user owns or is a member of."""
        rows = await self.db.fetchall(
            "SELECT * FROM albums WHERE deleted_at IS NULL AND (owner_id = ? OR id IN"
            " (SELECT album_id FROM album_users WHERE user_id = ?)) ORDER BY created_at DESC",
            (user_id, user_id),
        )
        return [from_row(AlbumRecord, row) for row in rows]

    async def ids_containing(self, asset_id: str) -> list[str]:
        rows = await self.db.fetchall("SELECT album_id FROM album_assets WHERE asset_id = ?", (asset_id,))
        return [row[0] for row in rows]

    async def users(self, album_ids: Sequence[str]) -> dict[str, list[AlbumUserRecord]]:
        found: dict[str, list[AlbumUserRecord]] = {album_id: [] for album_id in album_ids}
        if not album_ids:
            return found
        rows = await self.db.fetchall(
            f"SELECT * FROM album_users WHERE album_id IN ({_marks(album_ids)}) ORDER BY created_at",
            list(album_ids),
        )
        for row in rows:
            found[row["album_id"]].append(from_row(AlbumUserRecord, row))
        return found

    async def role_of(self, album_id: str, user_id: str) -> str | None:
        value = await self.db.fetchval(
            "SELECT role FROM album_users WHERE album_id = ? AND user_id = ?", (album_id, user_id)
        )
        return str(value) if value is not None else None

    async def stats(self, album_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Per album: visible asset count, first and last capture date, last change."""
        found: dict[str, dict[str, Any]] = {}
        if not album_ids:
            return found
        rows = await self.db.fetchall(
            "SELECT aa.album_id, count(a.id) AS asset_count, min(a.file_created_at) AS start_date,"
            " max(a.file_created_at) AS end_date, max(a.updated_at) AS last_modified"
            " FROM album_assets aa JOIN assets a ON a.id = aa.asset_id"
            " AND a.deleted_at IS NULL AND a.visibility IN ('timeline', 'archive')"
            f" WHERE aa.album_id IN ({_marks(album_ids)}) GROUP BY aa.album_id",
            list(album_ids),
        )
        for row in rows:
            found[row["album_id"]] = dict(row)
        return found

    async def asset_ids(self, album_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT aa.asset_id FROM album_assets aa JOIN assets a ON a.id = aa.asset_id"
            " WHERE aa.album_id = ? AND a.deleted_at IS NULL AND a.visibility IN ('timeline', 'archive')"
            " ORDER BY a.file_created_at DESC",
            (album_id,),
        )
        return [row[0] for row in rows]

    async def existing_members(self, album_id: str, asset_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(asset_ids), 500):
            chunk = list(asset_ids[start : start + 500])
            rows = await self.db.fetchall(
                f"SELECT asset_id FROM album_assets WHERE album_id = ? AND asset_id IN ({_marks(chunk)})",
                [album_id, *chunk],
            )
            found.update(row[0] for row in rows)
        return found

    async def add_assets(
        self, conn: aiosqlite.Connection, album_id: str, asset_ids: Sequence[str], now: str, update_id: str
    ) -> None:
        await conn.executemany(
            "INSERT OR IGNORE INTO album_assets (album_id, asset_id, created_at, update_id) VALUES (?, ?, ?, ?)",
            [(album_id, asset_id, now, update_id) for asset_id in asset_ids],
        )

    async def remove_assets(self, conn: aiosqlite.Connection, album_id: str, asset_ids: Sequence[str]) -> None:
        await conn.executemany(
            "DELETE FROM album_assets WHERE album_id = ? AND asset_id = ?",
            [(album_id, asset_id) for asset_id in asset_ids],
        )

    async def update(self, conn: aiosqlite.Connection, album_id: str, values: dict[str, Any]) -> None:
        allowed = {"name", "description", "thumbnail_asset_id", "is_activity_enabled", "sort_order",
                   "updated_at", "update_id", "deleted_at"}
        if set(values) - allowed:
            raise ValueError(f"unknown columns {sorted(set(values) - allowed)}")
        assignments = ", ".join(f"{name} = ?" for name in values)
        await conn.execute(f"UPDATE albums SET {assignments} WHERE id = ?", [*values.values(), album_id])

    async def delete(self, conn: aiosqlite.Connection, album_id: str) -> None:
        await conn.execute("DELETE FROM albums WHERE id = ?", (album_id,))

    async def upsert_user(self, conn: aiosqlite.Connection, record: AlbumUserRecord) -> None:
        await conn.execute(
            "INSERT INTO album_users (album_id, user_id, role, created_at, update_id) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(album_id, user_id) DO UPDATE SET role = excluded.role, update_id = excluded.update_id",
            (record.album_id, record.user_id, record.role, record.created_at, record.update_id),
        )

    async def remove_user(self, conn: aiosqlite.Connection, album_id: str, user_id: str) -> None:
        await conn.execute("DELETE FROM album_users WHERE album_id = ? AND user_id = ?", (album_id, user_id))

    # --- delete history for the mobile sync stream (one row per event, each with its own UUIDv7) ----------
    async def audit_album_gone(self, conn: aiosqlite.Connection, album_id: str, user_ids: Sequence[str],
                               now: str) -> None:
        """These users no longer see the album (deleted, or they were removed from it)."""
        await conn.executemany(
            "INSERT INTO album_audit (id, album_id, user_id, deleted_at) VALUES (?, ?, ?, ?)",
            [(uuid7(), album_id, user_id, now) for user_id in user_ids],
        )

    async def audit_assets_removed(self, conn: aiosqlite.Connection, album_id: str, asset_ids: Sequence[str],
                                   now: str) -> None:
        await conn.executemany(
            "INSERT INTO album_asset_audit (id, album_id, asset_id, deleted_at) VALUES (?, ?, ?, ?)",
            [(uuid7(), album_id, asset_id, now) for asset_id in asset_ids],
        )

    async def audit_user_removed(self, conn: aiosqlite.Connection, album_id: str, user_id: str, now: str) -> None:
        await conn.execute(
            "INSERT INTO album_user_audit (id, album_id, user_id, deleted_at) VALUES (?, ?, ?, ?)",
            (uuid7(), album_id, user_id, now),
        )

    async def with_shared_links(self, album_ids: Sequence[str]) -> set[str]:
        if not album_ids:
            return set()
        rows = await self.db.fetchall(
            f"SELECT DISTINCT album_id FROM shared_links WHERE album_id IN ({_marks(album_ids)})", list(album_ids)
        )
        return {row[0] for row in rows}

    async def first_asset(self, album_id: str) -> str | None:
        value = await self.db.fetchval(
            "SELECT aa.asset_id FROM album_assets aa JOIN assets a ON a.id = aa.asset_id"
            " WHERE aa.album_id = ? AND a.deleted_at IS NULL ORDER BY aa.created_at LIMIT 1",
            (album_id,),
        )
        return str(value) if value else None
