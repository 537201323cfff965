"""SQL for shared links and partners."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from appliance.storage.db import Database
from appliance.storage.records import from_row


@dataclass
class SharedLinkRecord:
    id: str
    user_id: str
    key: str
    slug: str | None
    type: str
    album_id: str | None
    description: str | None
    password: str | None
    expires_at: str | None
    allow_upload: int
    allow_download: int
    show_metadata: int
    created_at: str


@dataclass
class PartnerRecord:
    shared_by_id: str
    shared_with_id: str
    in_timeline: int
    created_at: str
    update_id: str


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


_LINK_COLUMNS = {"description", "password", "expires_at", "allow_upload", "allow_download", "show_metadata", "slug"}


class SharedLinkRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, conn: aiosqlite.Connection, link: SharedLinkRecord, asset_ids: Sequence[str]) -> None:
        values = vars(link)
        await conn.execute(
            f"INSERT INTO shared_links ({', '.join(values)}) VALUES ({_marks(list(values))})", list(values.values())
        )
        await self.add_assets(conn, link.id, asset_ids)

    async def add_assets(self, conn: aiosqlite.Connection, link_id: str, asset_ids: Sequence[str]) -> None:
        await conn.executemany(
            "INSERT OR IGNORE INTO shared_link_assets (shared_link_id, asset_id) VALUES (?, ?)",
            [(link_id, asset_id) for asset_id in asset_ids],
        )

    async def remove_assets(self, conn: aiosqlite.Connection, link_id: str, asset_ids: Sequence[str]) -> None:
        await conn.executemany(
            "DELETE FROM shared_link_assets WHERE shared_link_id = ? AND asset_id = ?",
            [(link_id, asset_id) for asset_id in asset_ids],
        )

    async def update(self, conn: aiosqlite.Connection, link_id: str, values: dict[str, Any]) -> None:
        if set(values) - _LINK_COLUMNS:
            raise ValueError(f"unknown columns {sorted(set(values) - _LINK_COLUMNS)}")
        if values:
            assignments = ", ".join(f"{name} = ?" for name in values)
            await conn.execute(f"UPDATE shared_links SET {assignments} WHERE id = ?", [*values.values(), link_id])

    async def delete(self, link_id: str) -> None:
        await self.db.execute("DELETE FROM shared_links WHERE id = ?", (link_id,))

    async def get(self, link_id: str) -> SharedLinkRecord | None:
        row = await self.db.fetchone("SELECT * FROM shared_links WHERE id = ?", (link_id,))
        return from_row(SharedLinkRecord, row) if row else None

    async def by_key(self, key: str) -> SharedLinkRecord | None:
        row = await self.db.fetchone("SELECT * FROM shared_links WHERE key = ?", (key,))
        return from_row(SharedLinkRecord, row) if row else None

    async def by_slug(self, slug: str) -> SharedLinkRecord | None:
        row = await self.db.fetchone("SELECT * FROM shared_links WHERE slug = ?", (slug,))
        return from_row(SharedLinkRecord, row) if row else None

    async def slug_taken(self, slug: str, except_id: str | None = None) -> bool:
        value = await self.db.fetchval("SELECT id FROM shared_links WHERE slug = ?", (slug,))
        return value is not None and value != except_id

    async def list_for_user(self, user_id: str, *, album_id: str | None, link_id: str | None) -> list[SharedLinkRecord]:
        sql = "SELECT * FROM shared_links WHERE user_id = ?"
        params: list[Any] = [user_id]
        if album_id:
            sql += " AND album_id = ?"
            params.append(album_id)
        if link_id:
            sql += " AND id = ?"
            params.append(link_id)
        rows = await self.db.fetchall(sql + " ORDER BY created_at DESC", params)
        return [from_row(SharedLinkRecord, row) for row in rows]

    async def asset_ids(self, link_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT sa.asset_id FROM shared_link_assets sa JOIN assets a ON a.id = sa.asset_id"
            " WHERE sa.shared_link_id = ? ORDER BY a.file_created_at DESC",
            (link_id,),
        )
        return [row[0] for row in rows]

    async def visible_subset(self, link: SharedLinkRecord, ids: Sequence[str]) -> set[str]:
        """Of `ids`, those this link shows (its assets, or its album's), with their live-photo videos."""
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            if link.album_id:
                source = "SELECT asset_id FROM album_assets WHERE album_id = ?"
                key = link.album_id
            else:
                source = "SELECT asset_id FROM shared_link_assets WHERE shared_link_id = ?"
                key = link.id
            rows = await self.db.fetchall(
                f"SELECT id FROM assets WHERE id IN ({_marks(chunk)}) AND deleted_at IS NULL AND"
                f" (id IN ({source}) OR id IN (SELECT live_photo_video_id FROM assets WHERE id IN ({source})))",
                [*chunk, key, key],
            )
            found.update(row[0] for row in rows)
        return found


class PartnerRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, shared_by_id: str, shared_with_id: str) -> PartnerRecord | None:
        row = await self.db.fetchone(
            "SELECT * FROM partners WHERE shared_by_id = ? AND shared_with_id = ?", (shared_by_id, shared_with_id)
        )
        return from_row(PartnerRecord, row) if row else None

    async def shared_by(self, user_id: str) -> list[PartnerRecord]:
        """Partnerships where `user_id` shares their library."""
        rows = await self.db.fetchall("SELECT * FROM partners WHERE shared_by_id = ? ORDER BY created_at", (user_id,))
        return [from_row(PartnerRecord, row) for row in rows]

    async def shared_with(self, user_id: str) -> list[PartnerRecord]:
        """Partnerships where others share their library with `user_id`."""
        rows = await self.db.lookup(
            "SELECT * FROM partners WHERE shared_with_id = ? ORDER BY created_at", (user_id,)
        )
        return [from_row(PartnerRecord, row) for row in rows]

    async def insert(self, record: PartnerRecord) -> None:
        values = vars(record)
        await self.db.execute(
            f"INSERT INTO partners ({', '.join(values)}) VALUES ({_marks(list(values))})", list(values.values())
        )

    async def set_in_timeline(self, shared_by_id: str, shared_with_id: str, value: bool, update_id: str) -> None:
        await self.db.execute(
            "UPDATE partners SET in_timeline = ?, update_id = ? WHERE shared_by_id = ? AND shared_with_id = ?",
            (int(value), update_id, shared_by_id, shared_with_id),
        )

    async def delete(self, shared_by_id: str, shared_with_id: str, audit_id: str, now: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO partner_audit (id, shared_by_id, shared_with_id, deleted_at) VALUES (?, ?, ?, ?)",
                (audit_id, shared_by_id, shared_with_id, now),
            )
            await conn.execute(
                "DELETE FROM partners WHERE shared_by_id = ? AND shared_with_id = ?", (shared_by_id, shared_with_id)
            )
