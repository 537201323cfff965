"""Immich tag `Albums`."""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from appliance.api import dto
from appliance.api.assets import _uuids
from appliance.api.common import Dto, as_json, auth, body, no_content, query, services, uuid_param
from appliance.api.routing import Router
from appliance.library.albums import AlbumView

router = Router()

Role = Literal["editor", "viewer"]


class AlbumUserCreateDto(Dto):
    userId: str
    role: Role = "editor"


class CreateAlbumDto(Dto):
    albumName: str
    description: str | None = None
    assetIds: list[str] | None = None
    albumUsers: list[AlbumUserCreateDto] | None = None


class UpdateAlbumDto(Dto):
    albumName: str | None = None
    description: str | None = None
    albumThumbnailAssetId: str | None = None
    isActivityEnabled: bool | None = None
    order: Literal["asc", "desc"] | None = None


class BulkIdsDto(Dto):
    ids: list[str]


class AlbumsAddAssetsDto(Dto):
    albumIds: list[str]
    assetIds: list[str]


class AddUsersDto(Dto):
    albumUsers: list[AlbumUserCreateDto]


class UpdateAlbumUserDto(Dto):
    role: Role


class ListQuery(Dto):
    assetId: str | None = None
    shared: bool | None = None
    isShared: bool | None = None
    isOwned: bool | None = None


class GetQuery(Dto):
    withoutAssets: bool | None = None


async def _album_json(request: web.Request, view: AlbumView, *, with_assets: bool = False) -> dict[str, object]:
    assets = None
    if with_assets and view.asset_ids is not None:
        records = await services(request).assets.assets.get_many(view.asset_ids)
        order = {asset_id: index for index, asset_id in enumerate(view.asset_ids)}
        records.sort(key=lambda record: order[record.id])
        views = await services(request).assets.views(records)
        assets = [dto.asset(v) for v in views]
    return dto.album(view, with_assets=assets)


@router.get("/albums", permission="album.read")
async def list_albums(request: web.Request) -> web.Response:
    params = query(request, ListQuery)
    if params.assetId:
        _uuids([params.assetId], "assetId")
    shared = params.isShared if params.isShared is not None else params.shared
    views = await services(request).albums.list_albums(auth(request), asset_id=params.assetId, shared=shared)
    if params.isOwned is not None:
        me = auth(request).user_id
        views = [v for v in views if (v.album.owner_id == me) == params.isOwned]
    return as_json([dto.album(view) for view in views])


@router.post("/albums", permission="album.create")
async def create_album(request: web.Request) -> web.Response:
    dto_in = await body(request, CreateAlbumDto)
    _uuids(dto_in.assetIds or [], "assetIds")
    _uuids([u.userId for u in dto_in.albumUsers or []], "albumUsers.userId")
    view = await services(request).albums.create(auth(request), dto_in.model_dump())
    return as_json(dto.album(view), status=201)


@router.get("/albums/statistics", permission="album.statistics")
async def album_statistics(request: web.Request) -> web.Response:
    return as_json(await services(request).albums.statistics(auth(request)))


@router.put("/albums/assets", permission="albumAsset.create")
async def add_assets_to_albums(request: web.Request) -> web.Response:
    dto_in = await body(request, AlbumsAddAssetsDto)
    result = await services(request).albums.add_assets_to_albums(
        auth(request), _uuids(dto_in.albumIds, "albumIds"), _uuids(dto_in.assetIds, "assetIds")
    )
    return as_json(result)


@router.get("/albums/{id}", permission="album.read", shared_link=True)
async def get_album(request: web.Request) -> web.Response:
    params = query(request, GetQuery)
    with_assets = not params.withoutAssets
    view = await services(request).albums.get(auth(request), uuid_param(request), with_assets=with_assets)
    return as_json(await _album_json(request, view, with_assets=with_assets))


@router.patch("/albums/{id}", permission="album.update")
async def update_album(request: web.Request) -> web.Response:
    dto_in = await body(request, UpdateAlbumDto)
    if dto_in.albumThumbnailAssetId:
        _uuids([dto_in.albumThumbnailAssetId], "albumThumbnailAssetId")
    view = await services(request).albums.update(auth(request), uuid_param(request),
                                                 dto_in.model_dump(exclude_unset=True))
    return as_json(dto.album(view))


@router.delete("/albums/{id}", permission="album.delete")
async def delete_album(request: web.Request) -> web.Response:
    await services(request).albums.delete(auth(request), uuid_param(request))
    return no_content()


@router.put("/albums/{id}/assets", permission="albumAsset.create", shared_link=True)
async def add_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkIdsDto)
    results = await services(request).albums.add_assets(auth(request), uuid_param(request), _uuids(dto_in.ids))
    return as_json(results)


@router.delete("/albums/{id}/assets", permission="albumAsset.delete")
async def remove_assets(request: web.Request) -> web.Response:
    dto_in = await body(request, BulkIdsDto)
    results = await services(request).albums.remove_assets(auth(request), uuid_param(request), _uuids(dto_in.ids))
    return as_json(results)


@router.put("/albums/{id}/users", permission="albumUser.create")
async def add_users(request: web.Request) -> web.Response:
    dto_in = await body(request, AddUsersDto)
    _uuids([u.userId for u in dto_in.albumUsers], "albumUsers.userId")
    view = await services(request).albums.add_users(auth(request), uuid_param(request),
                                                    [u.model_dump() for u in dto_in.albumUsers])
    return as_json(dto.album(view))


@router.put("/albums/{id}/user/{userId}", permission="albumUser.update")
async def update_user(request: web.Request) -> web.Response:
    dto_in = await body(request, UpdateAlbumUserDto)
    await services(request).albums.update_user(auth(request), uuid_param(request), uuid_param(request, "userId"),
                                               dto_in.role)
    return no_content()


@router.delete("/albums/{id}/user/{userId}", permission="albumUser.delete")
async def remove_user(request: web.Request) -> web.Response:
    user_id = request.match_info["userId"]
    if user_id != "me":
        user_id = uuid_param(request, "userId")
    await services(request).albums.remove_user(auth(request), uuid_param(request), user_id)
    return no_content()
