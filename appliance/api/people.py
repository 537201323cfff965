"""Immich tags `People` and `Faces`: answered truthfully while there is no face detection (no people,
no faces; `/server/features` says facialRecognition false)."""

from __future__ import annotations

from aiohttp import web

from appliance.api.assets import _uuids
from appliance.api.common import Dto, as_json, auth, query, services, uuid_param
from appliance.api.routing import Router
from appliance.errors import BadRequest

router = Router()


class PeopleQuery(Dto):
    page: int | None = None
    size: int | None = None
    withHidden: bool | None = None
    closestAssetId: str | None = None
    closestPersonId: str | None = None


class FacesQuery(Dto):
    id: str


@router.get("/people", permission="person.read")
async def list_people(request: web.Request) -> web.Response:
    query(request, PeopleQuery)
    return as_json({"people": [], "total": 0, "hidden": 0, "hasNextPage": False})


@router.get("/people/{id}", permission="person.read")
async def get_person(request: web.Request) -> web.Response:
    uuid_param(request)
    raise BadRequest("Not found or no person.read access")


@router.get("/people/{id}/statistics", permission="person.statistics")
async def person_statistics(request: web.Request) -> web.Response:
    uuid_param(request)
    raise BadRequest("Not found or no person.read access")


@router.get("/people/{id}/thumbnail", permission="person.read")
async def person_thumbnail(request: web.Request) -> web.Response:
    uuid_param(request)
    raise BadRequest("Not found or no person.read access")


@router.get("/faces", permission="face.read")
async def get_faces(request: web.Request) -> web.Response:
    asset_id = _uuids([query(request, FacesQuery).id], "id")[0]
    await services(request).assets.get(auth(request), asset_id)  # a foreign asset is an error, as in Immich
    return as_json([])
