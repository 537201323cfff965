"""Immich tag `Download`: how to split a selection into archives, and one archive as a streamed zip."""

from __future__ import annotations

from aiohttp import web

from appliance.api.assets import _uuids
from appliance.api.common import Dto, as_json, auth, body, services
from appliance.api.routing import Router

router = Router()


class DownloadInfoDto(Dto):
    assetIds: list[str] | None = None
    albumId: str | None = None
    userId: str | None = None
    archiveSize: int | None = None


class AssetIdsDto(Dto):
    assetIds: list[str]


@router.post("/download/info", permission="asset.download", shared_link=True)
async def download_info(request: web.Request) -> web.Response:
    dto_in = await body(request, DownloadInfoDto)
    _uuids(dto_in.assetIds or [], "assetIds")
    for name in ("albumId", "userId"):
        if getattr(dto_in, name):
            _uuids([getattr(dto_in, name)], name)
    return as_json(await services(request).browse.downloads.info(auth(request), dto_in.model_dump(exclude_none=True)))


@router.post("/download/archive", permission="asset.download", shared_link=True)
async def download_archive(request: web.Request) -> web.StreamResponse:
    dto_in = await body(request, AssetIdsDto)
    chunks = await services(request).browse.downloads.archive(auth(request), _uuids(dto_in.assetIds, "assetIds"))
    response = web.StreamResponse(headers={
        "Content-Type": "application/zip",
        "Content-Disposition": 'attachment; filename="immich.zip"',
        "Cache-Control": "private, no-cache",
    })
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
