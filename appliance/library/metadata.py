"""Asset metadata: small JSON values under a key per asset (the mobile app keeps iCloud ids here)."""

from __future__ import annotations

from typing import Any

from appliance.clock import Clock, iso
from appliance.errors import BadRequest
from appliance.ids import uuid7
from appliance.library.access import READ, UPDATE, AccessService
from appliance.library.context import AuthContext
from appliance.storage.metadata import MetadataItem, MetadataRepository


class AssetMetadataService:
    def __init__(self, repo: MetadataRepository, access: AccessService, clock: Clock) -> None:
        self.repo = repo
        self.access = access
        self.clock = clock

    async def _require(self, context: AuthContext, asset_ids: list[str], action: str) -> None:
        allowed = await self.access.asset_ids(context, asset_ids, action)
        if any(asset_id not in allowed for asset_id in asset_ids):
            raise BadRequest(f"Not found or no asset.{action} access")

    async def for_asset(self, context: AuthContext, asset_id: str) -> list[MetadataItem]:
        await self._require(context, [asset_id], READ)
        return await self.repo.for_asset(asset_id)

    async def get(self, context: AuthContext, asset_id: str, key: str) -> MetadataItem:
        await self._require(context, [asset_id], READ)
        item = await self.repo.get(asset_id, key)
        if item is None:
            raise BadRequest("Asset metadata not found")
        return item

    async def upsert(self, context: AuthContext, items: list[tuple[str, str, dict[str, Any]]]) -> list[MetadataItem]:
        """(asset_id, key, value) items; returns them as stored."""
        await self._require(context, list(dict.fromkeys(a for a, _, _ in items)), UPDATE)
        return await self.upsert_trusted(items)

    async def upsert_trusted(self, items: list[tuple[str, str, dict[str, Any]]]) -> list[MetadataItem]:
        """For callers that already own the assets (an upload's own `metadata` field)."""
        now = iso(self.clock())
        await self.repo.upsert([(asset_id, key, value, now, uuid7()) for asset_id, key, value in items])
        return [MetadataItem(asset_id, key, value, now) for asset_id, key, value in items]

    async def delete(self, context: AuthContext, items: list[tuple[str, str]]) -> None:
        await self._require(context, list(dict.fromkeys(a for a, _ in items)), UPDATE)
        await self.repo.delete(items, [uuid7() for _ in items], iso(self.clock()))
