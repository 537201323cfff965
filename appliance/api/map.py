"""Immich tag `Map`: markers for geotagged assets (the map's tiles come from the client's own map style)."""

from __future__ import annotations

from aiohttp import web

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


@router.get("/map/markers", permission="map.read")
async def map_markers(request: web.Request) -> web.Response:
    params = query(request, MapMarkerQuery).model_dump(exclude_none=True)
    return as_json(await services(request).browse.explore.map_markers(auth(request), params))


@router.get("/albums/{id}/map-markers", permission="album.read", shared_link=True)
async def album_map_markers(request: web.Request) -> web.Response:
    return as_json(await services(request).browse.explore.album_map_markers(auth(request), uuid_param(request)))
