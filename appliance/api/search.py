"""Immich tag `Search`: metadata search, random picks and counts."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from appliance.api import dto
from appliance.api.common import Dto, as_json, auth, body, services
from appliance.api.routing import Router

router = Router()


class MetadataSearchDto(Dto):
    page: int | None = None
    size: int | None = None
    id: str | None = None
    albumIds: list[str] | None = None
    personIds: list[str] | None = None
    tagIds: list[str] | None = None
    type: Literal["IMAGE", "VIDEO", "AUDIO", "OTHER"] | None = None
    isFavorite: bool | None = None
    isOffline: bool | None = None
    isEncoded: bool | None = None
    isMotion: bool | None = None
    isNotInAlbum: bool | None = None
    visibility: Literal["archive", "timeline", "hidden", "locked"] | None = None
    withDeleted: bool | None = None
    withExif: bool | None = None
    withPeople: bool | None = None
    withStacked: bool | None = None
    originalFileName: str | None = None
    originalPath: str | None = None
    checksum: str | None = None
    deviceId: str | None = None
    deviceAssetId: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    make: str | None = None
    model: str | None = None
    lensModel: str | None = None
    description: str | None = None
    rating: int | None = None
    takenAfter: str | None = None
    takenBefore: str | None = None
    createdAfter: str | None = None
    createdBefore: str | None = None
    updatedAfter: str | None = None
    updatedBefore: str | None = None
    trashedAfter: str | None = None
    trashedBefore: str | None = None
    order: Literal["asc", "desc"] | None = None
    filter: dict[str, Any] | None = None


def _dump(model: Dto) -> dict[str, Any]:
    return model.model_dump(exclude_none=True)


@router.post("/search/metadata", permission="asset.read")
async def search_metadata(request: web.Request) -> web.Response:
    dto_in = _dump(await body(request, MetadataSearchDto))
    views, total, next_page = await services(request).search.metadata(auth(request), dto_in)
    with_exif = dto_in.get("withExif", True)
    items = [dto.asset(view, with_exif=with_exif) for view in views]
    return as_json({
        "albums": {"total": 0, "count": 0, "items": [], "facets": []},
        "assets": {"total": total, "count": len(items), "items": items, "facets": [], "nextPage": next_page,
                   "nextCursor": None},
    })


@router.post("/search/statistics", permission="asset.statistics")
async def search_statistics(request: web.Request) -> web.Response:
    dto_in = _dump(await body(request, MetadataSearchDto))
    return as_json({"total": await services(request).search.statistics(auth(request), dto_in)})


@router.post("/search/random", permission="asset.read")
async def search_random(request: web.Request) -> web.Response:
    dto_in = _dump(await body(request, MetadataSearchDto))
    views = await services(request).search.random(auth(request), dto_in)
    return as_json([dto.asset(view, with_exif=dto_in.get("withExif", True)) for view in views])
