"""Stacks: several assets shown as one (burst, RAW+JPEG); the first listed is the primary."""

from __future__ import annotations

from typing import Any

from appliance.clock import Clock, iso
from appliance.errors import BadRequest
from appliance.ids import new_id, uuid7
from appliance.library.access import READ, UPDATE, AccessService
from appliance.library.context import AuthContext
from appliance.storage.assets import AssetRepository
from appliance.storage.tags import StackRecord, StackRepository


class StackService:
    def __init__(self, stacks: StackRepository, assets: AssetRepository, access: AccessService, clock: Clock) -> None:
        self.stacks = stacks
        self.assets = assets
        self.access = access
        self.clock = clock

    async def _own(self, context: AuthContext, stack_id: str, action: str) -> StackRecord:
        stack = await self.stacks.get(stack_id)
        if stack is None or stack.owner_id != context.user_id:
            raise BadRequest(f"Not found or no stack.{action} access")
        return stack

    async def get(self, context: AuthContext, stack_id: str) -> tuple[StackRecord, list[str]]:
        stack = await self._own(context, stack_id, "read")
        return stack, await self.stacks.asset_ids(stack_id)

    async def search(self, context: AuthContext, primary_asset_id: str | None) -> list[tuple[StackRecord, list[str]]]:
        found = await self.stacks.list_for_owner(context.user_id, primary_asset_id)
        return [(s, await self.stacks.asset_ids(s.id)) for s in found]

    async def create(self, context: AuthContext, asset_ids: list[str]) -> tuple[StackRecord, list[str]]:
        ids = list(dict.fromkeys(asset_ids))
        if len(ids) < 2:
            raise BadRequest("assetIds must contain at least 2 elements")
        allowed = await self.access.asset_ids(context, ids, UPDATE)
        if any(i not in allowed for i in ids):
            raise BadRequest("Not found or no asset.update access")
        records = await self.assets.get_many(ids)
        # stacking an asset that is already stacked merges its old stack into the new one
        old = sorted({r.stack_id for r in records if r.stack_id})
        now = iso(self.clock())
        stack = StackRecord(new_id(), context.user_id, ids[0], now, now, uuid7())
        await self.stacks.create(stack, ids, old)
        return stack, await self.stacks.asset_ids(stack.id)

    async def update(
        self, context: AuthContext, stack_id: str, primary_asset_id: str | None
    ) -> tuple[StackRecord, list[str]]:
        await self._own(context, stack_id, "update")
        if primary_asset_id:
            if primary_asset_id not in await self.stacks.asset_ids(stack_id):
                raise BadRequest("Primary asset must be in the stack")
            await self.stacks.set_primary(stack_id, primary_asset_id, iso(self.clock()), uuid7())
        return await self.get(context, stack_id)

    async def delete(self, context: AuthContext, stack_ids: list[str]) -> None:
        for stack_id in stack_ids:
            await self._own(context, stack_id, "delete")
        await self.stacks.delete(stack_ids, iso(self.clock()), uuid7())

    async def remove_asset(self, context: AuthContext, stack_id: str, asset_id: str) -> None:
        stack = await self._own(context, stack_id, "update")
        members = await self.stacks.asset_ids(stack_id)
        if asset_id not in members:
            raise BadRequest("Asset not in stack")
        if asset_id == stack.primary_asset_id:
            raise BadRequest("Cannot remove primary asset")
        now, update_id = iso(self.clock()), uuid7()
        await self.stacks.remove_asset(stack_id, asset_id, now, update_id)
        if len(members) <= 2:
            await self.stacks.delete([stack_id], now, update_id)

    async def view_hook(self, views: list[Any]) -> None:
        """Fill `stack` ({id, primaryAssetId, assetCount}) on asset responses."""
        found = await self.stacks.summaries(sorted({v.asset.stack_id for v in views if v.asset.stack_id}))
        for view in views:
            summary = found.get(view.asset.stack_id or "")
            view.extra["stack"] = (view.asset.stack_id, *summary) if summary else None

    async def summaries(self, stack_ids: list[str]) -> dict[str, tuple[str, int]]:
        return await self.stacks.summaries(stack_ids)

    async def readable(self, context: AuthContext, ids: list[str]) -> set[str]:
        return await self.access.asset_ids(context, ids, READ)
