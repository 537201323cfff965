"""Immich's asset metadata routes (`/assets/{id}/metadata`, `/assets/metadata`), tag `Assets`.

Registered before the `assets` module: `PUT /assets/metadata` would otherwise be taken for
`PUT /assets/{id}`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from appliance.api.common import Dto, RequestValidationError, as_json, auth, body, services, uuid_param
from appliance.api.routing import Router
from appliance.ids import is_uuid
from appliance.storage.metadata import MetadataItem

router = Router()


class MetadataUpsertItem(Dto):
    key: str
    value: dict[str, Any]


class MetadataUpsertDto(Dto):
    items: list[MetadataUpsertItem]


class BulkUpsertItem(MetadataUpsertItem):
    assetId: str


class BulkUpsertDto(Dto):
    items: list[BulkUpsertItem]


class BulkDeleteItem(Dto):
    assetId: str
    key: str


class BulkDeleteDto(Dto):
    items: list[BulkDeleteItem]


def shaped(item: MetadataItem, *, with_asset: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {"key": item.key, "value": item.value, "updatedAt": item.updated_at}
    return {"assetId": item.asset_id, **result} if with_asset else result


def _asset_ids(ids: list[str]) -> list[str]:
    if not all(is_uuid(i) for i in ids):
        raise RequestValidationError(["items.assetId must be a UUID"])
    return [i.lower() for i in ids]


@router.put("/assets/metadata", permission="asset.update")
async def update_bulk_asset_metadata(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkUpsertDto)
    ids = _asset_ids([item.assetId for item in dto_in.items])
    items = [(asset_id, item.key, item.value) for asset_id, item in zip(ids, dto_in.items, strict=True)]
    stored = await services(request).metadata.upsert(auth(request), items)
    return as_json([shaped(item, with_asset=True) for item in stored])


@router.delete("/assets/metadata", permission="asset.update")
async def delete_bulk_asset_metadata(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkDeleteDto)
    ids = _asset_ids([item.assetId for item in dto_in.items])
    await services(request).metadata.delete(auth(request), [(a, item.key) for a, item in zip(ids, dto_in.items,
                                                                                             strict=True)])
    return web.Response(status=204)


@router.get("/assets/{id}/metadata", permission="asset.read")
async def get_asset_metadata(request: web.Request) -> web.Response:
    items = await services(request).metadata.for_asset(auth(request), uuid_param(request))
    return as_json([shaped(item) for item in items])


@router.put("/assets/{id}/metadata", permission="asset.update")
async def update_asset_metadata(request: web.Request) -> web.Response:
    dto_in = await body(request, MetadataUpsertDto)
    asset_id = uuid_param(request)
    stored = await services(request).metadata.upsert(
        auth(request), [(asset_id, item.key, item.value) for item in dto_in.items]
    )
    return as_json([shaped(item) for item in stored])


@router.get("/assets/{id}/metadata/{key}", permission="asset.read")
async def get_asset_metadata_by_key(request: web.Request) -> web.Response:
    item = await services(request).metadata.get(auth(request), uuid_param(request), request.match_info["key"])
    return as_json(shaped(item))


@router.delete("/assets/{id}/metadata/{key}", permission="asset.update")
async def delete_asset_metadata(request: web.Request) -> web.Response:
    await services(request).metadata.delete(auth(request), [(uuid_param(request), request.match_info["key"])])
    return web.Response(status=204)
