"""Immich tag `Stacks`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from appliance.api import dto
from appliance.api.assets import _uuids
from appliance.api.common import Dto, as_json, auth, body, no_content, query, services, uuid_param
from appliance.api.routing import Router
from appliance.storage.tags import StackRecord

router = Router()


class StackCreateDto(Dto):
    assetIds: list[str]


class StackUpdateDto(Dto):
    primaryAssetId: str | None = None


class StackSearchQuery(Dto):
    primaryAssetId: str | None = None


class BulkIdsDto(Dto):
    ids: list[str]


async def stack_json(request: web.Request, stack: StackRecord, asset_ids: list[str]) -> dict[str, Any]:
    svc = services(request)
    records = await svc.assets.assets.get_many(asset_ids)
    order = {asset_id: index for index, asset_id in enumerate(asset_ids)}
    records.sort(key=lambda r: order[r.id])
    return {
        "id": stack.id,
        "primaryAssetId": stack.primary_asset_id,
        "assets": [dto.asset(v) for v in await svc.assets.views(records)],
    }


@router.get("/stacks", permission="stack.read")
async def search_stacks(request: web.Request) -> web.Response:
    params = query(request, StackSearchQuery)
    found = await services(request).browse.stacks.search(auth(request), params.primaryAssetId)
    return as_json([await stack_json(request, s, ids) for s, ids in found])


@router.post("/stacks", permission="stack.create")
async def create_stack(request: web.Request) -> web.Response:
    dto_in = await body(request, StackCreateDto)
    stack, ids = await services(request).browse.stacks.create(auth(request), _uuids(dto_in.assetIds, "assetIds"))
    return as_json(await stack_json(request, stack, ids), status=201)


@router.delete("/stacks", permission="stack.delete")
async def delete_stacks(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkIdsDto)
    await services(request).browse.stacks.delete(auth(request), _uuids(dto_in.ids))
    return no_content()


@router.get("/stacks/{id}", permission="stack.read")
async def get_stack(request: web.Request) -> web.Response:
    stack, ids = await services(request).browse.stacks.get(auth(request), uuid_param(request))
    return as_json(await stack_json(request, stack, ids))


@router.put("/stacks/{id}", permission="stack.update")
async def update_stack(request: web.Request) -> web.Response:
    dto_in = await body(request, StackUpdateDto)
    if dto_in.primaryAssetId:
        _uuids([dto_in.primaryAssetId], "primaryAssetId")
    stack, ids = await services(request).browse.stacks.update(auth(request), uuid_param(request),
                                                              dto_in.primaryAssetId)
    return as_json(await stack_json(request, stack, ids))


@router.delete("/stacks/{id}", permission="stack.delete")
async def delete_stack(request: web.Request) -> web.Response:
    await services(request).browse.stacks.delete(auth(request), [uuid_param(request)])
    return no_content()


@router.delete("/stacks/{id}/assets/{assetId}", permission="stack.update")
async def remove_from_stack(request: web.Request) -> web.Response:
    await services(request).browse.stacks.remove_asset(auth(request), uuid_param(request),
                                                       uuid_param(request, "assetId"))
    return no_content()
