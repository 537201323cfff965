"""Tags (hierarchical: "Family/Kids" lives under "Family") and tagging assets."""

from __future__ import annotations

from typing import Any

from appliance.clock import Clock, iso
from appliance.errors import BadRequest
from appliance.ids import new_id, uuid7
from appliance.library.access import UPDATE, AccessService
from appliance.library.context import AuthContext
from appliance.storage.assets import AssetQuery
from appliance.storage.db import Database
from appliance.storage.errors import ConstraintViolation
from appliance.storage.tags import TagRecord, TagRepository


class TagService:
    def __init__(self, db: Database, tags: TagRepository, access: AccessService, clock: Clock) -> None:
        self.db = db
        self.tags = tags
        self.access = access
        self.clock = clock

    async def list_tags(self, context: AuthContext) -> list[TagRecord]:
        return await self.tags.list_for_user(context.user_id)

    async def get(self, context: AuthContext, tag_id: str) -> TagRecord:
        tag = await self.tags.get(tag_id)
        if tag is None or tag.user_id != context.user_id:
            raise BadRequest("Not found or no tag.read access")
        return tag

    async def create(self, context: AuthContext, name: str, parent_id: str | None, color: str | None) -> TagRecord:
        value = name.strip("/")
        if parent_id:
            parent = await self.get(context, parent_id)
            value = f"{parent.value}/{value}"
        async with self.db.transaction() as conn:
            if await self.tags.by_value(conn, context.user_id, value) is not None:
                raise BadRequest("A tag with that name already exists")
            tag = self._record(context.user_id, value, parent_id, color)
            await self.tags.insert(conn, tag)
        return tag

    def _record(self, user_id: str, value: str, parent_id: str | None, color: str | None) -> TagRecord:
        now = iso(self.clock())
        return TagRecord(new_id(), user_id, value, color, parent_id, now, now, uuid7())

    async def upsert(self, context: AuthContext, values: list[str]) -> list[TagRecord]:
        """Each path, and every parent on the way, exists afterwards (created when missing)."""
        found: list[TagRecord] = []
        async with self.db.transaction() as conn:
            for raw in values:
                parent_id: str | None = None
                parts = [p for p in raw.split("/") if p]
                tag: TagRecord | None = None
                for depth in range(1, len(parts) + 1):
                    path = "/".join(parts[:depth])
                    tag = await self.tags.by_value(conn, context.user_id, path)
                    if tag is None:
                        tag = self._record(context.user_id, path, parent_id, None)
                        await self.tags.insert(conn, tag)
                    parent_id = tag.id
                if tag is not None:
                    found.append(tag)
        return found

    async def update(self, context: AuthContext, tag_id: str, changes: dict[str, Any]) -> TagRecord:
        await self.get(context, tag_id)
        values: dict[str, Any] = {}
        if "color" in changes:
            values["color"] = changes["color"]
        if values:
            values.update(updated_at=iso(self.clock()), update_id=uuid7())
            await self.tags.update(tag_id, values)
        return await self.get(context, tag_id)

    async def delete(self, context: AuthContext, tag_id: str) -> None:
        await self.get(context, tag_id)
        await self.tags.delete(tag_id)  # children go with it (ON DELETE CASCADE)

    async def tag_assets(self, context: AuthContext, tag_id: str, ids: list[str]) -> list[dict[str, Any]]:
        await self.get(context, tag_id)
        already = await self.tags.tagged(tag_id, ids)
        allowed = await self.access.asset_ids(context, ids, UPDATE)
        results: list[dict[str, Any]] = []
        chosen: list[str] = []
        for asset_id in ids:
            if asset_id in already or asset_id in chosen:
                results.append({"id": asset_id, "success": False, "error": "duplicate"})
            elif asset_id not in allowed:
                results.append({"id": asset_id, "success": False, "error": "no_permission"})
            else:
                results.append({"id": asset_id, "success": True})
                chosen.append(asset_id)
        await self.tags.add_assets([(tag_id, a) for a in chosen])
        return results

    async def untag_assets(self, context: AuthContext, tag_id: str, ids: list[str]) -> list[dict[str, Any]]:
        await self.get(context, tag_id)
        present = await self.tags.tagged(tag_id, ids)
        allowed = await self.access.asset_ids(context, list(present), UPDATE)
        results: list[dict[str, Any]] = []
        for asset_id in ids:
            if asset_id not in present:
                results.append({"id": asset_id, "success": False, "error": "not_found"})
            elif asset_id not in allowed:
                results.append({"id": asset_id, "success": False, "error": "no_permission"})
            else:
                results.append({"id": asset_id, "success": True})
        await self.tags.remove_assets(tag_id, [r["id"] for r in results if r["success"]])
        return results

    async def bulk_tag(self, context: AuthContext, tag_ids: list[str], asset_ids: list[str]) -> int:
        for tag_id in tag_ids:
            await self.get(context, tag_id)
        allowed = await self.access.asset_ids(context, asset_ids, UPDATE)
        try:
            return await self.tags.add_assets([(t, a) for t in tag_ids for a in asset_ids if a in allowed])
        except ConstraintViolation as err:
            raise BadRequest("Not found or no asset.update access") from err

    async def view_hook(self, views: list[Any]) -> None:
        """Fill `tags` on asset responses."""
        found = await self.tags.for_assets([v.asset.id for v in views])
        for view in views:
            view.extra["tags"] = found.get(view.asset.id, [])

    async def search_hook(self, context: AuthContext, dto: dict[str, Any], query: AssetQuery) -> None:
        """`tagIds` on /search/metadata: assets carrying every listed tag (or a tag below it)."""
        for tag_id in dto.get("tagIds") or []:
            expanded = await self.tags.with_descendants([tag_id])
            marks = ", ".join("?" for _ in expanded) or "NULL"
            query.extra_where.append(
                (f"a.id IN (SELECT asset_id FROM tag_assets WHERE tag_id IN ({marks}))", expanded)
            )
