"""Shared by the storage tests: rows written straight into SQLite, below every service."""

from __future__ import annotations

import aiosqlite

from appliance.storage.db import Database

NOW = "2026-01-01T00:00:00.000Z"


async def insert_user(conn: aiosqlite.Connection, user_id: str = "u") -> None:
    """A user with only the required columns (nothing if it exists), on an open transaction."""
    await conn.execute(
        "INSERT OR IGNORE INTO users (id, email, name, profile_changed_at, created_at, updated_at, update_id)"
        " VALUES (?, ?, ?, ?, ?, ?, 'x')", (user_id, f"{user_id}@example.com", user_id, NOW, NOW, NOW))


async def insert_bare_asset(db: Database, asset_id: str, *, taken: str = NOW, local: str = NOW,
                            width: int | None = None, height: int | None = None) -> None:
    """An image asset of owner 'u' (created on first use) with only the required columns, plus its size."""
    async with db.transaction() as conn:
        await insert_user(conn)
        await conn.execute(
            "INSERT INTO assets (id, owner_id, type, original_path, original_file_name, original_mime_type,"
            " checksum, file_size, file_created_at, file_modified_at, local_date_time, created_at, updated_at,"
            " update_id, width, height) VALUES (?, 'u', 'IMAGE', ?, 'a.jpg', 'image/jpeg', ?, 1, ?, ?, ?, ?, ?,"
            " 'x', ?, ?)",
            (asset_id, f"library/{asset_id}.jpg", asset_id.encode(), taken, taken, local, NOW, NOW, width, height))
