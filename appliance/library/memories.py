"""Memories: "on this day" collections, made by `generate(for_date)` (run daily by the job scheduler)
and kept, edited or deleted through the API."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from appliance.clock import Clock, iso, parse_iso
from appliance.errors import BadRequest
from appliance.ids import new_id, uuid7
from appliance.library.access import READ, AccessService
from appliance.library.context import AuthContext
from appliance.storage.db import Database
from appliance.storage.tags import MemoryRecord, MemoryRepository
from appliance.storage.users import UserRepository

MAX_ASSETS_PER_MEMORY = 30


class MemoryService:
    def __init__(self, db: Database, memories: MemoryRepository, users: UserRepository, access: AccessService,
                 clock: Clock) -> None:
        self.db = db
        self.memories = memories
        self.users = users
        self.access = access
        self.clock = clock

    async def generate(self, for_date: date) -> int:
        """Create the "on this day" memories of `for_date` for every user (one per earlier year with photos),
        shown from that day's midnight UTC for a day. Idempotent: a year already made is skipped."""
        created = 0
        day_start = datetime(for_date.year, for_date.month, for_date.day, tzinfo=UTC)
        prefix = iso(day_start)[:10]
        for user in await self.users.list_all():
            done = await self.memories.existing_on_this_day(user.id, prefix)
            by_year: dict[str, list[str]] = defaultdict(list)
            for asset_id, year in await self.memories.on_this_day_candidates(
                user.id, for_date.strftime("%m-%d"), f"{for_date.year:04d}"
            ):
                by_year[year].append(asset_id)
            async with self.db.transaction() as conn:
                for year, ids in sorted(by_year.items()):
                    if int(year) in done:
                        continue
                    now = iso(self.clock())
                    memory = MemoryRecord(
                        id=new_id(), owner_id=user.id, type="on_this_day", data=json.dumps({"year": int(year)}),
                        memory_at=iso(day_start.replace(year=int(year))),  # a 02-29 photo's year has a 02-29
                        show_at=iso(day_start), hide_at=iso(day_start + timedelta(days=1)), seen_at=None,
                        is_saved=0, created_at=now, updated_at=now, deleted_at=None, update_id=uuid7(),
                    )
                    await self.memories.insert(conn, memory, ids[:MAX_ASSETS_PER_MEMORY])
                    created += 1
        return created

    async def _own(self, context: AuthContext, memory_id: str, action: str) -> MemoryRecord:
        memory = await self.memories.get(memory_id)
        if memory is None or memory.owner_id != context.user_id:
            raise BadRequest(f"Not found or no memory.{action} access")
        return memory

    async def search(self, context: AuthContext, params: dict[str, Any]) -> list[tuple[MemoryRecord, list[str]]]:
        moment = iso(parse_iso(params["for"])) if params.get("for") else None
        found = await self.memories.search(
            context.user_id, for_moment=moment, is_saved=params.get("isSaved"), memory_type=params.get("type"),
            order_desc=params.get("order") != "asc",
        )
        assets = await self.memories.asset_ids([m.id for m in found])
        pairs = [(m, assets[m.id]) for m in found]
        size = params.get("size")
        return pairs[: int(size)] if size else pairs

    async def get(self, context: AuthContext, memory_id: str) -> tuple[MemoryRecord, list[str]]:
        memory = await self._own(context, memory_id, "read")
        return memory, (await self.memories.asset_ids([memory_id]))[memory_id]

    async def create(self, context: AuthContext, dto: dict[str, Any]) -> tuple[MemoryRecord, list[str]]:
        ids = list(dict.fromkeys(dto.get("assetIds") or []))
        allowed = await self.access.asset_ids(context, ids, READ)
        now = iso(self.clock())
        memory = MemoryRecord(
            id=new_id(), owner_id=context.user_id, type=dto["type"], data=json.dumps(dto["data"]),
            memory_at=iso(parse_iso(dto["memoryAt"])),
            show_at=iso(parse_iso(dto["showAt"])) if dto.get("showAt") else None,
            hide_at=iso(parse_iso(dto["hideAt"])) if dto.get("hideAt") else None,
            seen_at=iso(parse_iso(dto["seenAt"])) if dto.get("seenAt") else None,
            is_saved=int(bool(dto.get("isSaved"))), created_at=now, updated_at=now, deleted_at=None,
            update_id=uuid7(),
        )
        async with self.db.transaction() as conn:
            await self.memories.insert(conn, memory, [i for i in ids if i in allowed])
        return await self.get(context, memory.id)

    async def update(self, context: AuthContext, memory_id: str, dto: dict[str, Any]) -> tuple[MemoryRecord, list[str]]:
        await self._own(context, memory_id, "update")
        values: dict[str, Any] = {}
        if dto.get("isSaved") is not None:
            values["is_saved"] = int(dto["isSaved"])
        for field, column in (("memoryAt", "memory_at"), ("seenAt", "seen_at")):
            if dto.get(field):
                values[column] = iso(parse_iso(dto[field]))
        if values:
            values.update(updated_at=iso(self.clock()), update_id=uuid7())
            await self.memories.update(memory_id, values)
        return await self.get(context, memory_id)

    async def delete(self, context: AuthContext, memory_id: str) -> None:
        await self._own(context, memory_id, "delete")
        await self.memories.delete(memory_id)

    async def add_assets(self, context: AuthContext, memory_id: str, ids: list[str]) -> list[dict[str, Any]]:
        await self._own(context, memory_id, "update")
        present = set((await self.memories.asset_ids([memory_id]))[memory_id])
        allowed = await self.access.asset_ids(context, ids, READ)
        results: list[dict[str, Any]] = []
        for asset_id in ids:
            if asset_id in present:
                results.append({"id": asset_id, "success": False, "error": "duplicate"})
            elif asset_id not in allowed:
                results.append({"id": asset_id, "success": False, "error": "no_permission"})
            else:
                results.append({"id": asset_id, "success": True})
                present.add(asset_id)
        await self.memories.add_assets(memory_id, [r["id"] for r in results if r["success"]])
        return results

    async def remove_assets(self, context: AuthContext, memory_id: str, ids: list[str]) -> list[dict[str, Any]]:
        await self._own(context, memory_id, "update")
        present = set((await self.memories.asset_ids([memory_id]))[memory_id])
        results: list[dict[str, Any]] = [
            {"id": i, "success": True} if i in present else {"id": i, "success": False, "error": "not_found"}
            for i in ids
        ]
        await self.memories.remove_assets(memory_id, [i for i in ids if i in present])
        return results
