"""Immich tag `Tags`: hierarchical tags and tagging assets."""

from __future__ import annotations

from aiohttp import web

from appliance.api import dto
from appliance.api.assets import _uuids
from appliance.api.common import Dto, as_json, auth, body, no_content, services, uuid_param
from appliance.api.routing import Router

router = Router()


class TagCreateDto(Dto):
    name: str
    parentId: str | None = None
    color: str | None = None


class TagUpsertDto(Dto):
    tags: list[str]


class TagUpdateDto(Dto):
    color: str | None = None


class BulkIdsDto(Dto):
    ids: list[str]


class TagBulkAssetsDto(Dto):
    tagIds: list[str]
    assetIds: list[str]


@router.get("/tags", permission="tag.read")
async def list_tags(request: web.Request) -> web.Response:
    return as_json([dto.tag(t) for t in await services(request).browse.tags.list_tags(auth(request))])


@router.post("/tags", permission="tag.create")
async def create_tag(request: web.Request) -> web.Response:
    dto_in = await body(request, TagCreateDto)
    if dto_in.parentId:
        _uuids([dto_in.parentId], "parentId")
    tag = await services(request).browse.tags.create(auth(request), dto_in.name, dto_in.parentId, dto_in.color)
    return as_json(dto.tag(tag), status=201)


@router.put("/tags", permission="tag.create")
async def upsert_tags(request: web.Request) -> web.Response:
    dto_in = await body(request, TagUpsertDto)
    return as_json([dto.tag(t) for t in await services(request).browse.tags.upsert(auth(request), dto_in.tags)])


@router.put("/tags/assets", permission="tag.asset")
async def bulk_tag(request: web.Request) -> web.Response:
    dto_in = await body(request, TagBulkAssetsDto)
    count = await services(request).browse.tags.bulk_tag(
        auth(request), _uuids(dto_in.tagIds, "tagIds"), _uuids(dto_in.assetIds, "assetIds")
    )
    return as_json({"count": count})


@router.get("/tags/{id}", permission="tag.read")
async def get_tag(request: web.Request) -> web.Response:
    return as_json(dto.tag(await services(request).browse.tags.get(auth(request), uuid_param(request))))


@router.put("/tags/{id}", permission="tag.update")
async def update_tag(request: web.Request) -> web.Response:
    dto_in = await body(request, TagUpdateDto)
    tag = await services(request).browse.tags.update(auth(request), uuid_param(request),
                                                     dto_in.model_dump(exclude_unset=True))
    return as_json(dto.tag(tag))


@router.delete("/tags/{id}", permission="tag.delete")
async def delete_tag(request: web.Request) -> web.Response:
    await services(request).browse.tags.delete(auth(request), uuid_param(request))
    return no_content()


@router.put("/tags/{id}/assets", permission="tag.asset")
async def tag_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkIdsDto)
    return as_json(await services(request).browse.tags.tag_assets(auth(request), uuid_param(request),
                                                                  _uuids(dto_in.ids)))


@router.delete("/tags/{id}/assets", permission="tag.asset")
async def untag_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkIdsDto)
    return as_json(await services(request).browse.tags.untag_assets(auth(request), uuid_param(request),
                                                                    _uuids(dto_in.ids)))
