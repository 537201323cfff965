"""Immich tag `Partners`: sharing a whole library with another user."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from appliance.api import dto
from appliance.api.assets import _uuids
from appliance.api.common import Dto, as_json, auth, body, no_content, query, services, uuid_param
from appliance.api.routing import Router
from appliance.storage.records import UserRecord
from appliance.storage.sharing import PartnerRecord

router = Router()


class PartnerQuery(Dto):
    direction: Literal["shared-by", "shared-with"]


class PartnerCreateDto(Dto):
    sharedWithId: str


class PartnerUpdateDto(Dto):
    inTimeline: bool


def partner(user: UserRecord, record: PartnerRecord) -> dict[str, Any]:
    return {**dto.user(user), "inTimeline": bool(record.in_timeline)}


@router.get("/partners", permission="partner.read")
async def list_partners(request: web.Request) -> web.Response:
    params = query(request, PartnerQuery)
    found = await services(request).browse.partners.list_partners(auth(request), params.direction)
    return as_json([partner(user, record) for user, record in found])


@router.post("/partners", permission="partner.create")
async def create_partner(request: web.Request) -> web.Response:
    dto_in = await body(request, PartnerCreateDto)
    user, record = await services(request).browse.partners.create(auth(request), _uuids([dto_in.sharedWithId])[0])
    return as_json(partner(user, record), status=201)


@router.post("/partners/{id}", permission="partner.create")
async def create_partner_legacy(request: web.Request) -> web.Response:
    user, record = await services(request).browse.partners.create(auth(request), uuid_param(request))
    return as_json(partner(user, record), status=201)


@router.put("/partners/{id}", permission="partner.update")
async def update_partner(request: web.Request) -> web.Response:
    dto_in = await body(request, PartnerUpdateDto)
    user, record = await services(request).browse.partners.update(auth(request), uuid_param(request),
                                                                  dto_in.inTimeline)
    return as_json(partner(user, record))


@router.delete("/partners/{id}", permission="partner.delete")
async def remove_partner(request: web.Request) -> web.Response:
    await services(request).browse.partners.remove(auth(request), uuid_param(request))
    return no_content()
