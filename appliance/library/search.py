"""Searching assets by their metadata (the filters of `POST /search/metadata` and friends)."""

from __future__ import annotations

from typing import Any

from appliance.clock import iso, parse_iso
from appliance.errors import BadRequest
from appliance.library.assets import AssetService, AssetView, decode_checksum
from appliance.library.context import AuthContext
from appliance.storage.assets import AssetQuery, AssetRepository

MAX_PAGE_SIZE = 1000


def _when(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return iso(parse_iso(str(value)))
    except ValueError as err:
        raise BadRequest(f"Invalid date {value!r}") from err


class SearchService:
    def __init__(self, assets: AssetRepository, asset_service: AssetService) -> None:
        self.assets = assets
        self.asset_service = asset_service
        self.query_hooks: list[Any] = []  # callables(context, dto, query) that add filters (tags, people...)

    async def build_query(self, context: AuthContext, dto: dict[str, Any]) -> AssetQuery:
        owner_ids = [context.user_id]
        album_ids = dto.get("albumIds") or None
        if album_ids:
            # assets in a shared album are searchable by its members, whoever owns them
            for album_id in album_ids:
                role = await self.asset_service.access.album_role(context, album_id)
                if role is None:
                    raise BadRequest("Not found or no album.read access")
            owner_ids = await self.assets.owners_in_albums(album_ids)
        visibility = dto.get("visibility")
        trashed: bool | None = False
        if dto.get("withDeleted"):
            trashed = None
        if dto.get("trashedAfter") or dto.get("trashedBefore"):
            trashed = True
        query = AssetQuery(
            owner_ids=owner_ids,
            ids=[dto["id"]] if dto.get("id") else None,
            album_ids=album_ids,
            type=dto.get("type"),
            is_favorite=dto.get("isFavorite"),
            is_offline=dto.get("isOffline"),
            is_encoded=dto.get("isEncoded"),
            is_motion=dto.get("isMotion"),
            trashed=trashed,
            visibility=visibility,
            original_file_name=dto.get("originalFileName"),
            original_path=dto.get("originalPath"),
            checksum=decode_checksum(dto["checksum"]) if dto.get("checksum") else None,
            device_id=dto.get("deviceId"),
            device_asset_id=dto.get("deviceAssetId"),
            city=dto.get("city"), state=dto.get("state"), country=dto.get("country"),
            make=dto.get("make"), model=dto.get("model"), lens_model=dto.get("lensModel"),
            description=dto.get("description"),
            rating=dto.get("rating"),
            taken_after=_when(dto.get("takenAfter")), taken_before=_when(dto.get("takenBefore")),
            created_after=_when(dto.get("createdAfter")), created_before=_when(dto.get("createdBefore")),
            updated_after=_when(dto.get("updatedAfter")), updated_before=_when(dto.get("updatedBefore")),
            trashed_after=_when(dto.get("trashedAfter")), trashed_before=_when(dto.get("trashedBefore")),
            order_desc=(dto.get("order") or "desc") == "desc",
        )
        if dto.get("isNotInAlbum"):
            query.extra_where.append(("a.id NOT IN (SELECT asset_id FROM album_assets)", []))
        for hook in self.query_hooks:
            await hook(context, dto, query)
        return query

    async def metadata(self, context: AuthContext, dto: dict[str, Any]) -> tuple[list[AssetView], int, str | None]:
        """(page of assets, total, next page as a string or None)."""
        page = int(dto.get("page", 1))
        size = int(dto.get("size", 250))
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            raise BadRequest(f"size must be between 1 and {MAX_PAGE_SIZE}, page at least 1")
        query = await self.build_query(context, dto)
        found = await self.assets.search_with_exif(query, limit=size + 1, offset=(page - 1) * size)
        has_next = len(found) > size
        views = await self.asset_service.views_of(found[:size])
        # Immich's `total` is the number of items on this page (search.service.ts mapResponse), not a count
        # of every match; /search/statistics gives that. It also spares a count over the whole library.
        return views, len(views), (str(page + 1) if has_next else None)

    async def large_assets(self, context: AuthContext, dto: dict[str, Any]) -> list[AssetView]:
        """Biggest files first (at least `minFileSize` bytes), for freeing space."""
        size = int(dto.get("size") or 250)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise BadRequest(f"size must be between 1 and {MAX_PAGE_SIZE}")
        query = await self.build_query(context, dto)
        query.min_file_size = int(dto.get("minFileSize") or 0)
        query.order_by_size = True
        query.order_desc = True
        found = await self.assets.search(query, limit=size)
        return await self.asset_service.views(found, with_exif=bool(dto.get("withExif", True)))

    async def statistics(self, context: AuthContext, dto: dict[str, Any]) -> int:
        return await self.assets.count(await self.build_query(context, dto))

    async def random(self, context: AuthContext, dto: dict[str, Any]) -> list[AssetView]:
        size = int(dto.get("size", 250))
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise BadRequest(f"size must be between 1 and {MAX_PAGE_SIZE}")
        query = await self.build_query(context, dto)
        total = await self.assets.count(query)
        if total == 0:
            return []
        import random

        picks: list[Any] = []
        if total <= size * 3:
            picks = await self.assets.search(query, limit=total)
            random.shuffle(picks)
            picks = picks[:size]
        else:
            offsets = sorted(random.sample(range(total), size))
            for offset in offsets:
                picks.extend(await self.assets.search(query, limit=1, offset=offset))
            random.shuffle(picks)
        return await self.asset_service.views(picks, with_exif=bool(dto.get("withExif", True)))
