"""SQL for tags (hierarchical by `value` path), stacks and memories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from appliance.storage.db import Database
from appliance.storage.records import from_row


@dataclass
class TagRecord:
    id: str
    user_id: str
    value: str
    color: str | None
    parent_id: str | None
    created_at: str
    updated_at: str
    update_id: str


@dataclass
class StackRecord:
    id: str
    owner_id: str
    primary_asset_id: str
    created_at: str
    updated_at: str
    update_id: str


@dataclass
class MemoryRecord:
    id: str
    owner_id: str
    type: str
    data: str
    memory_at: str
    show_at: str | None
    hide_at: str | None
    seen_at: str | None
    is_saved: int
    created_at: str
    updated_at: str
    deleted_at: str | None
    update_id: str


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class TagRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_for_user(self, user_id: str) -> list[TagRecord]:
        rows = await self.db.fetchall("SELECT * FROM tags WHERE user_id = ? ORDER BY value", (user_id,))
        return [from_row(TagRecord, row) for row in rows]

    async def get(self, tag_id: str) -> TagRecord | None:
        row = await self.db.fetchone("SELECT * FROM tags WHERE id = ?", (tag_id,))
        return from_row(TagRecord, row) if row else None

    async def by_value(self, conn: aiosqlite.Connection, user_id: str, value: str) -> TagRecord | None:
        async with conn.execute("SELECT * FROM tags WHERE user_id = ? AND value = ?", (user_id, value)) as cursor:
            row = await cursor.fetchone()
        return from_row(TagRecord, row) if row else None

    async def insert(self, conn: aiosqlite.Connection, tag: TagRecord) -> None:
        values = vars(tag)
        await conn.execute(
            f"INSERT INTO tags ({', '.join(values)}) VALUES ({_marks(list(values))})", list(values.values())
        )

    async def update(self, tag_id: str, values: dict[str, Any]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in values)
        await self.db.execute(f"UPDATE tags SET {assignments} WHERE id = ?", [*values.values(), tag_id])

    async def delete(self, tag_id: str) -> None:
        await self.db.execute("DELETE FROM tags WHERE id = ?", (tag_id,))

    async def with_descendants(self, tag_ids: Sequence[str]) -> list[str]:
        """The tags and every tag below them (by path prefix within the same user)."""
        if not tag_ids:
            return []
        rows = await self.db.fetchall(
            f"SELECT DISTINCT c.id FROM tags t JOIN tags c ON c.user_id = t.user_id"
            f" AND (c.id = t.id OR substr(c.value, 1, length(t.value) + 1) = t.value || '/')"
            f" WHERE t.id IN ({_marks(tag_ids)})",
            list(tag_ids),
        )
        return [row[0] for row in rows]

    async def tagged(self, tag_id: str, asset_ids: Sequence[str]) -> set[str]:
        if not asset_ids:
            return set()
        rows = await self.db.fetchall(
            f"SELECT asset_id FROM tag_assets WHERE tag_id = ? AND asset_id IN ({_marks(asset_ids)})",
            [tag_id, *asset_ids],
        )
        return {row[0] for row in rows}

    async def add_assets(self, pairs: Sequence[tuple[str, str]]) -> int:
        async with self.db.transaction() as conn:
            before = conn.total_changes
            await conn.executemany("INSERT OR IGNORE INTO tag_assets (tag_id, asset_id) VALUES (?, ?)", pairs)
            return int(conn.total_changes - before)

    async def remove_assets(self, tag_id: str, asset_ids: Sequence[str]) -> None:
        await self.db.executemany(
            "DELETE FROM tag_assets WHERE tag_id = ? AND asset_id = ?", [(tag_id, a) for a in asset_ids]
        )

    async def for_assets(self, asset_ids: Sequence[str]) -> dict[str, list[TagRecord]]:
        found: dict[str, list[TagRecord]] = {}
        for start in range(0, len(asset_ids), 500):
            chunk = list(asset_ids[start : start + 500])
            # most pages of assets carry no tag: one probe of the asset_id index per asset, at most one row,
            # read on the loop's thread (`Database.lookup`), spares the trip to a reader and back (~1.5 ms
            # of a search page of 250)
            if not await self.db.lookup(
                f"SELECT 1 FROM tag_assets WHERE asset_id IN ({_marks(chunk)}) LIMIT 1", chunk
            ):
                continue
            rows = await self.db.fetchall(
                f"SELECT ta.asset_id AS for_asset, t.* FROM tag_assets ta JOIN tags t ON t.id = ta.tag_id"
                f" WHERE ta.asset_id IN ({_marks(chunk)}) ORDER BY t.value",
                chunk,
            )
            for row in rows:
                found.setdefault(row["for_asset"], []).append(from_row(TagRecord, row))
        return found


class StackRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, stack_id: str) -> StackRecord | None:
        row = await self.db.fetchone("SELECT * FROM stacks WHERE id = ?", (stack_id,))
        return from_row(StackRecord, row) if row else None

    async def list_for_owner(self, owner_id: str, primary_asset_id: str | None) -> list[StackRecord]:
        sql, params = "SELECT * FROM stacks WHERE owner_id = ?", [owner_id]
        if primary_asset_id:
            sql += " AND primary_asset_id = ?"
            params.append(primary_asset_id)
        rows = await self.db.fetchall(sql + " ORDER BY created_at", params)
        return [from_row(StackRecord, row) for row in rows]

    async def asset_ids(self, stack_id: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT a.id FROM assets a JOIN stacks s ON s.id = a.stack_id WHERE a.stack_id = ?"
            " ORDER BY a.id = s.primary_asset_id DESC, a.file_created_at",
            (stack_id,),
        )
        return [row[0] for row in rows]

    async def summaries(self, stack_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """stack id -> (primary asset id, asset count)."""
        if not stack_ids:
            return {}
        rows = await self.db.fetchall(
            f"SELECT s.id, s.primary_asset_id, (SELECT count(*) FROM assets a WHERE a.stack_id = s.id)"
            f" FROM stacks s WHERE s.id IN ({_marks(stack_ids)})",
            list(stack_ids),
        )
        return {row[0]: (row[1], int(row[2])) for row in rows}

    async def create(self, stack: StackRecord, asset_ids: Sequence[str], old_stacks: Sequence[str]) -> None:
        async with self.db.transaction() as conn:
            values = vars(stack)
            await conn.execute(
                f"INSERT INTO stacks ({', '.join(values)}) VALUES ({_marks(list(values))})", list(values.values())
            )
            await conn.execute(
                f"UPDATE assets SET stack_id = ?, updated_at = ?, update_id = ? WHERE id IN ({_marks(asset_ids)})",
                [stack.id, stack.updated_at, stack.update_id, *asset_ids],
            )
            if old_stacks:
                await conn.execute(
                    f"UPDATE assets SET stack_id = ? WHERE stack_id IN ({_marks(old_stacks)})", [stack.id, *old_stacks]
                )
                await conn.execute(f"DELETE FROM stacks WHERE id IN ({_marks(old_stacks)})", list(old_stacks))

    async def set_primary(self, stack_id: str, asset_id: str, now: str, update_id: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE stacks SET primary_asset_id = ?, updated_at = ?, update_id = ? WHERE id = ?",
                (asset_id, now, update_id, stack_id),
            )
            # touching stack_id lets the timeline counts trigger see the new primary
            await conn.execute("UPDATE assets SET stack_id = stack_id WHERE stack_id = ?", (stack_id,))

    async def delete(self, stack_ids: Sequence[str], now: str, update_id: str) -> None:
        if not stack_ids:
            return
        async with self.db.transaction() as conn:
            await conn.execute(
                f"UPDATE assets SET stack_id = NULL, updated_at = ?, update_id = ? WHERE stack_id IN"
                f" ({_marks(stack_ids)})",
                [now, update_id, *stack_ids],
            )
            await conn.execute(f"DELETE FROM stacks WHERE id IN ({_marks(stack_ids)})", list(stack_ids))

    async def remove_asset(self, stack_id: str, asset_id: str, now: str, update_id: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE assets SET stack_id = NULL, updated_at = ?, update_id = ? WHERE id = ? AND stack_id = ?",
                (now, update_id, asset_id, stack_id),
            )


class MemoryRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, memory_id: str) -> MemoryRecord | None:
        row = await self.db.fetchone("SELECT * FROM memories WHERE id = ? AND deleted_at IS NULL", (memory_id,))
        return from_row(MemoryRecord, row) if row else None

    async def search(self, owner_id: str, *, for_moment: str | None, is_saved: bool | None,
                     memory_type: str | None, order_desc: bool) -> list[MemoryRecord]:
        sql = "SELECT * FROM memories WHERE owner_id = ? AND deleted_at IS NULL"
        params: list[Any] = [owner_id]
        if for_moment:
            sql += " AND (show_at IS NULL OR show_at <= ?) AND (hide_at IS NULL OR hide_at > ?)"
            params += [for_moment, for_moment]
        if is_saved is not None:
            sql += " AND is_saved = ?"
            params.append(int(is_saved))
        if memory_type:
            sql += " AND type = ?"
            params.append(memory_type)
        rows = await self.db.fetchall(sql + f" ORDER BY memory_at {'DESC' if order_desc else 'ASC'}", params)
        return [from_row(MemoryRecord, row) for row in rows]

    async def asset_ids(self, memory_ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {memory_id: [] for memory_id in memory_ids}
        if not memory_ids:
            return found
        rows = await self.db.fetchall(
            f"SELECT ma.memory_id, ma.asset_id FROM memory_assets ma JOIN assets a ON a.id = ma.asset_id"
            f" WHERE ma.memory_id IN ({_marks(memory_ids)}) AND a.deleted_at IS NULL"
            f" AND a.visibility IN ('timeline', 'archive') ORDER BY a.file_created_at",
            list(memory_ids),
        )
        for row in rows:
            found[row[0]].append(row[1])
        return found

    async def insert(self, conn: aiosqlite.Connection, memory: MemoryRecord, asset_ids: Sequence[str]) -> None:
        values = vars(memory)
        await conn.execute(
            f"INSERT INTO memories ({', '.join(values)}) VALUES ({_marks(list(values))})", list(values.values())
        )
        await conn.executemany(
            "INSERT OR IGNORE INTO memory_assets (memory_id, asset_id) VALUES (?, ?)",
            [(memory.id, asset_id) for asset_id in asset_ids],
        )

    async def update(self, memory_id: str, values: dict[str, Any]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in values)
        await self.db.execute(f"UPDATE memories SET {assignments} WHERE id = ?", [*values.values(), memory_id])

    async def delete(self, memory_id: str) -> None:
        await self.db.execute("DELETE FROM memories WHERE id = ?", (memory_id,))

    async def add_assets(self, memory_id: str, asset_ids: Sequence[str]) -> None:
        await self.db.executemany(
            "INSERT OR IGNORE INTO memory_assets (memory_id, asset_id) VALUES (?, ?)",
            [(memory_id, a) for a in asset_ids],
        )

    async def remove_assets(self, memory_id: str, asset_ids: Sequence[str]) -> None:
        await self.db.executemany(
            "DELETE FROM memory_assets WHERE memory_id = ? AND asset_id = ?", [(memory_id, a) for a in asset_ids]
        )

    async def on_this_day_candidates(self, owner_id: str, month_day: str, before_year: str) -> list[tuple[str, str]]:
        """(asset id, year) of this owner's timeline assets taken on MM-DD in years before `before_year`."""
        rows = await self.db.fetchall(
            "SELECT id, substr(local_date_time, 1, 4) FROM assets WHERE owner_id = ? AND deleted_at IS NULL"
            " AND visibility = 'timeline' AND substr(local_date_time, 6, 5) = ?"
            " AND substr(local_date_time, 1, 4) < ? ORDER BY local_date_time",
            (owner_id, month_day, before_year),
        )
        return [(row[0], row[1]) for row in rows]

    async def existing_on_this_day(self, owner_id: str, show_at_prefix: str) -> set[int]:
        """Years of the on-this-day memories already made for the day starting `show_at_prefix`."""
        rows = await self.db.fetchall(
            "SELECT data FROM memories WHERE owner_id = ? AND type = 'on_this_day' AND show_at LIKE ?",
            (owner_id, show_at_prefix + "%"),
        )
        import json

        return {int(json.loads(row[0]).get("year", 0)) for row in rows}
