"""The `system_metadata` table: small key/value settings of the box (plain text values)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from appliance.storage.db import Database


class SystemMetadataRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(keys)
        if not wanted:
            return {}
        marks = ",".join("?" for _ in wanted)
        rows = await self.db.fetchall(f"SELECT key, value FROM system_metadata WHERE key IN ({marks})", wanted)
        return {row["key"]: row["value"] for row in rows}

    async def get(self, key: str) -> str | None:
        value = await self.db.fetchval("SELECT value FROM system_metadata WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def set_many(self, values: Mapping[str, str]) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO system_metadata (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )
