"""Immich tag `Search`: metadata search, random picks and counts."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from appliance.api import dto
from appliance.api.common import Dto, as_json, auth, body, query, services
from appliance.api.routing import Router
from appliance.errors import BadRequest
from appliance.library.places import Place

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


# --- browsing additions (issue 7) ---------------------------------------------------------------
class SuggestionsQuery(Dto):
    type: Literal["country", "state", "city", "camera-make", "camera-model", "camera-lens-model"]
    country: str | None = None
    state: str | None = None
    make: str | None = None
    model: str | None = None
    lensModel: str | None = None
    includeNull: bool | None = None


class PersonSearchQuery(Dto):
    name: str
    withHidden: bool | None = None


class PlacesQuery(Dto):
    name: str


class LargeAssetsQuery(MetadataSearchDto):
    minFileSize: int | None = None
    withExif: bool | None = None


@router.get("/search/suggestions", permission="asset.read")
async def search_suggestions(request: web.Request) -> web.Response:
    params = query(request, SuggestionsQuery).model_dump(exclude_none=True)
    return as_json(await services(request).browse.explore.suggestions(auth(request), params))


@router.get("/search/explore", permission="asset.read")
async def search_explore(request: web.Request) -> web.Response:
    pairs = await services(request).browse.explore.cities(auth(request), explore=True)
    items = [{"value": city, "data": dto.asset(view)} for city, view in pairs]
    return as_json([{"fieldName": "exifInfo.city", "items": items}])


@router.get("/search/cities", permission="asset.read")
async def search_cities(request: web.Request) -> web.Response:
    pairs = await services(request).browse.explore.cities(auth(request))
    return as_json([dto.asset(view) for _, view in pairs])


@router.get("/search/places", permission="asset.read")
async def search_places(request: web.Request) -> web.Response:
    params = query(request, PlacesQuery)
    found = await services(request).places.search(params.name)
    return as_json([_place(p) for p in found])


def _place(place: Place) -> dict[str, Any]:
    """PlacesResponseDto: the region names are left out, not null, when unknown (as Immich's mapper does)."""
    body: dict[str, Any] = {"name": place.name, "latitude": place.latitude, "longitude": place.longitude}
    if place.admin1_name:
        body["admin1name"] = place.admin1_name
    if place.admin2_name:
        body["admin2name"] = place.admin2_name
    return body


@router.get("/search/person", permission="person.read")
async def search_person(request: web.Request) -> web.Response:
    query(request, PersonSearchQuery)
    return as_json([])


@router.post("/search/smart", permission="asset.read")
async def search_smart(request: web.Request) -> web.Response:
    # What Immich answers when machine learning (smartSearch) is disabled.
    raise BadRequest("Smart search is not enabled")


@router.post("/search/large-assets", permission="asset.read")
async def search_large_assets(request: web.Request) -> web.Response:
    params = query(request, LargeAssetsQuery)
    dto_in = _dump(params)
    dto_in.setdefault("size", 250)
    views = await services(request).search.large_assets(auth(request), dto_in)
    return as_json([dto.asset(view, with_exif=dto_in.get("withExif", True)) for view in views])
