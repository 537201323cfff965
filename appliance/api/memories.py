"""Immich tag `Memories`: "on this day" and saved memories."""

from __future__ import annotations

import json
from typing import Any, Literal

from aiohttp import web

from appliance.api import dto
from appliance.api.assets import _uuids
from appliance.api.common import Dto, as_json, auth, body, no_content, query, services, uuid_param
from appliance.api.routing import Router
from appliance.storage.tags import MemoryRecord

router = Router()


class MemorySearchQuery(Dto):
    """`for` (a Python keyword) is read from the query string directly."""

    isSaved: bool | None = None
    isTrashed: bool | None = None
    type: Literal["on_this_day"] | None = None
    order: Literal["asc", "desc", "random"] | None = None
    size: int | None = None


class OnThisDay(Dto):
    year: int


class MemoryCreateDto(Dto):
    type: Literal["on_this_day"]
    data: OnThisDay
    memoryAt: str
    assetIds: list[str] | None = None
    isSaved: bool | None = None
    seenAt: str | None = None
    showAt: str | None = None
    hideAt: str | None = None


class MemoryUpdateDto(Dto):
    isSaved: bool | None = None
    memoryAt: str | None = None
    seenAt: str | None = None


class BulkIdsDto(Dto):
    ids: list[str]


def _search_params(request: web.Request) -> dict[str, Any]:
    params = query(request, MemorySearchQuery).model_dump(exclude_none=True)
    if "for" in request.query:
        params["for"] = request.query["for"]
    return params


async def memory_json(request: web.Request, memory: MemoryRecord, asset_ids: list[str]) -> dict[str, Any]:
    svc = services(request)
    records = await svc.assets.assets.get_many(asset_ids)
    order = {asset_id: index for index, asset_id in enumerate(asset_ids)}
    records.sort(key=lambda r: order[r.id])
    result: dict[str, Any] = {
        "id": memory.id,
        "ownerId": memory.owner_id,
        "type": memory.type,
        "data": json.loads(memory.data),
        "memoryAt": memory.memory_at,
        "createdAt": memory.created_at,
        "updatedAt": memory.updated_at,
        "isSaved": bool(memory.is_saved),
        "assets": [dto.asset(v) for v in await svc.assets.views(records)],
    }
    for key, value in (("showAt", memory.show_at), ("hideAt", memory.hide_at), ("seenAt", memory.seen_at),
                       ("deletedAt", memory.deleted_at)):
        if value:
            result[key] = value
    return result


@router.get("/memories", permission="memory.read")
async def search_memories(request: web.Request) -> web.Response:
    found = await services(request).browse.memories.search(auth(request), _search_params(request))
    return as_json([await memory_json(request, m, ids) for m, ids in found])


@router.get("/memories/statistics", permission="memory.statistics")
async def memory_statistics(request: web.Request) -> web.Response:
    found = await services(request).browse.memories.search(auth(request), _search_params(request))
    return as_json({"total": len(found)})


@router.post("/memories", permission="memory.create")
async def create_memory(request: web.Request) -> web.Response:
    dto_in = await body(request, MemoryCreateDto)
    _uuids(dto_in.assetIds or [], "assetIds")
    memory, ids = await services(request).browse.memories.create(auth(request), dto_in.model_dump(exclude_none=True))
    return as_json(await memory_json(request, memory, ids), status=201)


@router.get("/memories/{id}", permission="memory.read")
async def get_memory(request: web.Request) -> web.Response:
    memory, ids = await services(request).browse.memories.get(auth(request), uuid_param(request))
    return as_json(await memory_json(request, memory, ids))


@router.put("/memories/{id}", permission="memory.update")
async def update_memory(request: web.Request) -> web.Response:
    dto_in = await body(request, MemoryUpdateDto)
    memory, ids = await services(request).browse.memories.update(auth(request), uuid_param(request),
                                                                 dto_in.model_dump(exclude_none=True))
    return as_json(await memory_json(request, memory, ids))


@router.delete("/memories/{id}", permission="memory.delete")
async def delete_memory(request: web.Request) -> web.Response:
    await services(request).browse.memories.delete(auth(request), uuid_param(request))
    return no_content()


@router.put("/memories/{id}/assets", permission="memoryAsset.create")
async def add_memory_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkIdsDto)
    return as_json(await services(request).browse.memories.add_assets(auth(request), uuid_param(request),
                                                                      _uuids(dto_in.ids)))


@router.delete("/memories/{id}/assets", permission="memoryAsset.delete")
async def remove_memory_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkIdsDto)
    return as_json(await services(request).browse.memories.remove_assets(auth(request), uuid_param(request),
                                                                         _uuids(dto_in.ids)))
