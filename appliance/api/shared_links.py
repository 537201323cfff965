"""Immich tag `Shared links`: links that open an album or some assets to anyone with the key."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from appliance.api import dto
from appliance.api.assets import _uuids
from appliance.api.common import Dto, as_json, auth, body, no_content, query, services, uuid_param
from appliance.api.routing import Router
from appliance.library.context import AuthContext
from appliance.library.shared_links import TOKEN_COOKIE
from appliance.storage.sharing import SharedLinkRecord

router = Router()


class SharedLinkOptions(Dto):
    """What both creating and editing a link may set."""

    description: str | None = None
    password: str | None = None
    slug: str | None = None
    expiresAt: str | None = None
    allowUpload: bool | None = None
    allowDownload: bool | None = None
    showMetadata: bool | None = None


class SharedLinkCreateDto(SharedLinkOptions):
    type: Literal["ALBUM", "INDIVIDUAL"]
    albumId: str | None = None
    assetIds: list[str] | None = None


class SharedLinkEditDto(SharedLinkOptions):
    changeExpiryTime: bool | None = None


class SearchQuery(Dto):
    albumId: str | None = None
    id: str | None = None


class MineQuery(Dto):
    password: str | None = None
    token: str | None = None


class LoginDto(Dto):
    password: str


class AssetIdsDto(Dto):
    assetIds: list[str]


async def link_json(request: web.Request, context: AuthContext, link: SharedLinkRecord, *,
                    strip_metadata: bool = False) -> dict[str, Any]:
    svc = services(request)
    album = None
    if link.album_id:
        album = dto.album(await svc.albums.get(context, link.album_id))
    ids: list[str] = await svc.browse.shared_links.shown_asset_ids(link)
    records = await svc.assets.assets.get_many(ids)
    order = {asset_id: index for index, asset_id in enumerate(ids)}
    records.sort(key=lambda r: order[r.id])
    assets = [_strip(dto.asset(v)) if strip_metadata else dto.asset(v) for v in await svc.assets.views(records)]
    result: dict[str, Any] = {
        "id": link.id,
        "key": link.key,
        "slug": link.slug,
        "type": link.type,
        "userId": link.user_id,
        "description": link.description,
        "password": link.password,
        "expiresAt": link.expires_at,
        "createdAt": link.created_at,
        "allowUpload": bool(link.allow_upload),
        "allowDownload": bool(link.allow_download),
        "showMetadata": bool(link.show_metadata),
        "assets": assets,
    }
    if album is not None:
        result["album"] = album
    return result


def _strip(asset: dict[str, Any]) -> dict[str, Any]:
    """What a link without showMetadata may reveal (Immich's stripMetadata)."""
    asset = dict(asset)
    asset["originalFileName"] = asset["id"]
    asset["originalPath"] = ""
    asset.pop("exifInfo", None)
    asset["tags"] = []
    asset["people"] = []
    return asset


@router.get("/shared-links", permission="sharedLink.read")
async def list_links(request: web.Request) -> web.Response:
    params = query(request, SearchQuery)
    context = auth(request)
    links = await services(request).browse.shared_links.list_links(context, params.albumId, params.id)
    return as_json([await link_json(request, context, link) for link in links])


@router.post("/shared-links", permission="sharedLink.create")
async def create_link(request: web.Request) -> web.Response:
    dto_in = await body(request, SharedLinkCreateDto)
    _uuids(dto_in.assetIds or [], "assetIds")
    if dto_in.albumId:
        _uuids([dto_in.albumId], "albumId")
    context = auth(request)
    link = await services(request).browse.shared_links.create(context, dto_in.model_dump(exclude_none=True))
    return as_json(await link_json(request, context, link), status=201)


@router.get("/shared-links/me", shared_link=True)
async def my_link(request: web.Request) -> web.Response:
    params = query(request, MineQuery)
    context = auth(request)
    tokens = [t for t in (request.cookies.get(TOKEN_COOKIE), params.token) if t]
    link = await services(request).browse.shared_links.mine(context, tokens, params.password)
    return as_json(await link_json(request, context, link, strip_metadata=not link.show_metadata))


@router.post("/shared-links/login", shared_link=True)
async def login(request: web.Request) -> web.Response:
    dto_in = await body(request, LoginDto)
    context = auth(request)
    link, token = await services(request).browse.shared_links.login(context, dto_in.password)
    response = as_json(await link_json(request, context, link, strip_metadata=not link.show_metadata), status=201)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Lax", path="/",
                        max_age=24 * 3600, secure=request.secure)
    return response


@router.get("/shared-links/{id}", permission="sharedLink.read")
async def get_link(request: web.Request) -> web.Response:
    context = auth(request)
    link = await services(request).browse.shared_links.get(context, uuid_param(request))
    return as_json(await link_json(request, context, link))


@router.patch("/shared-links/{id}", permission="sharedLink.update")
async def update_link(request: web.Request) -> web.Response:
    dto_in = await body(request, SharedLinkEditDto)
    context = auth(request)
    link = await services(request).browse.shared_links.update(
        context, uuid_param(request), dto_in.model_dump(exclude_unset=True)
    )
    return as_json(await link_json(request, context, link))


@router.delete("/shared-links/{id}", permission="sharedLink.delete")
async def remove_link(request: web.Request) -> web.Response:
    await services(request).browse.shared_links.remove(auth(request), uuid_param(request))
    return no_content()


@router.put("/shared-links/{id}/assets", permission="sharedLink.update")
async def add_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, AssetIdsDto)
    results = await services(request).browse.shared_links.add_assets(
        auth(request), uuid_param(request), _uuids(dto_in.assetIds, "assetIds")
    )
    return as_json(results)


@router.delete("/shared-links/{id}/assets", permission="sharedLink.update")
async def remove_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, AssetIdsDto)
    results = await services(request).browse.shared_links.remove_assets(
        auth(request), uuid_param(request), _uuids(dto_in.assetIds, "assetIds")
    )
    return as_json(results)
