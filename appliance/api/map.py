"""Immich tag `Map`: markers for geotagged assets (the map's tiles come from the client's own map style)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from appliance.api.common import Dto, as_json, auth, query, services, uuid_param
from appliance.api.routing import Router

router = Router()


class MapMarkerQuery(Dto):
    isArchived: bool | None = None
    isFavorite: bool | None = None
    fileCreatedAfter: str | None = None
    fileCreatedBefore: str | None = None
    withPartners: bool | None = None
    withSharedAlbums: bool | None = None


class ReverseGeocodeQuery(Dto):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


@router.get("/map/markers", permission="map.read")
async def map_markers(request: web.Request) -> web.Response:
    params = query(request, MapMarkerQuery).model_dump(exclude_none=True)
    return as_json(await services(request).browse.explore.map_markers(auth(request), params))


@router.get("/albums/{id}/map-markers", permission="album.read", shared_link=True)
async def album_map_markers(request: web.Request) -> web.Response:
    return as_json(await services(request).browse.explore.album_map_markers(auth(request), uuid_param(request)))


@router.get("/map/reverse-geocode")
async def reverse_geocode(request: web.Request) -> web.Response:
    """Any signed-in caller (Immich asks no permission here); one result, with nulls where nothing is near."""
    params = query(request, ReverseGeocodeQuery)
    location = await services(request).places.reverse_geocode(params.lat, params.lon)
    return as_json([location.as_dict()])
