"""SQL for asset metadata: key/value JSON per asset, and the delete history the sync stream reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from appliance.storage.db import Database


@dataclass
class MetadataItem:
    asset_id: str
    key: str
    value: dict[str, Any]
    updated_at: str


def _item(row: Any) -> MetadataItem:
    value = json.loads(row["value"])
    return MetadataItem(row["asset_id"], row["key"], value if isinstance(value, dict) else {}, row["updated_at"])


class MetadataRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def for_asset(self, asset_id: str) -> list[MetadataItem]:
        rows = await self.db.fetchall(
            "SELECT asset_id, key, value, updated_at FROM asset_metadata WHERE asset_id = ? ORDER BY key", (asset_id,)
        )
        return [_item(row) for row in rows]

    async def get(self, asset_id: str, key: str) -> MetadataItem | None:
        row = await self.db.fetchone(
            "SELECT asset_id, key, value, updated_at FROM asset_metadata WHERE asset_id = ? AND key = ?",
            (asset_id, key),
        )
        return _item(row) if row else None

    async def upsert(self, items: Sequence[tuple[str, str, dict[str, Any], str, str]]) -> None:
        """(asset_id, key, value, updated_at, update_id) rows, in one transaction."""
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO asset_metadata (asset_id, key, value, updated_at, update_id) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(asset_id, key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at, update_id = excluded.update_id",
                [(a, k, json.dumps(v, separators=(",", ":")), at, uid) for a, k, v, at, uid in items],
            )

    async def delete(self, items: Sequence[tuple[str, str]], audit_ids: Sequence[str], now: str) -> None:
        """Remove (asset_id, key) pairs, writing one audit row (with its id from `audit_ids`) per removed pair."""
        async with self.db.transaction() as conn:
            for (asset_id, key), audit_id in zip(items, audit_ids, strict=True):
                cursor = await conn.execute(
                    "DELETE FROM asset_metadata WHERE asset_id = ? AND key = ?", (asset_id, key)
                )
                if cursor.rowcount:
                    await conn.execute(
                        "INSERT INTO asset_metadata_audit (id, asset_id, key, owner_id, deleted_at)"
                        " SELECT ?, id, ?, owner_id, ? FROM assets WHERE id = ?",
                        (audit_id, key, now, asset_id),
                    )
