"""Browsing helpers around search: suggestions, explore by city, map markers, and the extra
`/search/metadata` filters (the 3.2 `filter` DSL, people, partners)."""

from __future__ import annotations

from typing import Any

from appliance.clock import iso, parse_iso
from appliance.errors import BadRequest
from appliance.library.assets import AssetService, AssetView
from appliance.library.context import AuthContext
from appliance.library.partners import PartnerService
from appliance.storage.assets import AssetQuery
from appliance.storage.explore import SUGGESTION_COLUMNS, ExploreRepository
from appliance.storage.search_filter import FilterError, compile_filter


class ExploreService:
    def __init__(self, repo: ExploreRepository, assets: AssetService, partners: PartnerService) -> None:
        self.repo = repo
        self.assets = assets
        self.partners = partners

    async def owner_ids(self, context: AuthContext) -> list[str]:
        """Me and the partners whose photos I chose to see in my timeline (Immich's search scope)."""
        return [context.user_id, *await self.partners.timeline_owner_ids(context.user_id)]

    async def search_hook(self, context: AuthContext, dto: dict[str, Any], query: AssetQuery) -> None:
        if not dto.get("albumIds"):
            query.owner_ids = await self.owner_ids(context)
        if dto.get("personIds"):
            query.extra_where.append(("0", []))  # nobody is recognised in any photo yet
        spec = dto.get("filter")
        if spec:
            try:
                sql, params, needs_exif = compile_filter(spec)
            except FilterError as err:
                raise BadRequest(str(err)) from err
            query.extra_where.append((f"({sql})", params))
            query.join_exif = query.join_exif or needs_exif
            if "trashedAt" in spec:
                query.trashed = None
            if "visibility" in spec and not dto.get("visibility"):
                query.with_hidden = True

    async def suggestions(self, context: AuthContext, params: dict[str, Any]) -> list[Any]:
        kind = params["type"]
        if kind not in SUGGESTION_COLUMNS:
            raise BadRequest("type must be one of the SearchSuggestionType values")
        narrowing = {
            "state": {"country": params.get("country")},
            "city": {"country": params.get("country"), "state": params.get("state")},
            "camera-make": {"camera-model": params.get("model"), "camera-lens-model": params.get("lensModel")},
            "camera-model": {"camera-make": params.get("make"), "camera-lens-model": params.get("lensModel")},
            "camera-lens-model": {"camera-make": params.get("make"), "camera-model": params.get("model")},
        }.get(kind, {})
        found: list[Any] = await self.repo.suggestions(await self.owner_ids(context), kind, narrowing)
        if params.get("includeNull"):
            found.append(None)
        return found

    async def cities(self, context: AuthContext, *, explore: bool = False) -> list[tuple[str, AssetView]]:
        """One photo per city; for explore, as Immich: at most 12 cities having at least 5 photos."""
        owners = [context.user_id] if explore else await self.owner_ids(context)
        pairs = await self.repo.one_per_city(owners, limit=12 if explore else 500, min_count=5 if explore else 1)
        views = await self.assets.views([record for _, record in pairs], with_exif=True)
        return [(city, view) for (city, _), view in zip(pairs, views, strict=True)]

    async def map_markers(self, context: AuthContext, params: dict[str, Any]) -> list[dict[str, Any]]:
        owners = [context.user_id]
        if params.get("withPartners"):
            owners += [p.shared_by_id for p in await self.partners.partners.shared_with(context.user_id)]
        album_ids = await self.repo.shared_album_ids(context.user_id) if params.get("withSharedAlbums") else None
        return await self.repo.map_markers(
            owners, album_ids=album_ids, is_archived=params.get("isArchived"), is_favorite=params.get("isFavorite"),
            after=_when(params.get("fileCreatedAfter")), before=_when(params.get("fileCreatedBefore")),
        )

    async def album_map_markers(self, context: AuthContext, album_id: str) -> list[dict[str, Any]]:
        if await self.assets.access.album_role(context, album_id) is None:
            raise BadRequest("Not found or no album.read access")
        return await self.repo.album_map_markers(album_id)


def _when(value: Any) -> str | None:
    if not value:
        return None
    try:
        return iso(parse_iso(str(value)))
    except ValueError as err:
        raise BadRequest(f"Invalid date {value!r}") from err
