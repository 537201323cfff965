"""Shoebox's own photo-frame feed (`/api/appliance/frame/...`) and the page that plays it (`/frame`).

A frame opens `/frame?key=<shared-link key>` (or `apiKey=`), fetches a playlist once per round, and
shows each image rendered to its screen size; the rendered files are cached on disk, so serving a frame
costs a file send.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import web

from appliance.api.assets import _uuids
from appliance.api.common import Dto, as_json, auth, query, services, uuid_param
from appliance.api.routing import Router

router = Router()


class PlaylistQuery(Dto):
    source: Literal["all", "album", "favorites", "memories", "person"] | None = None
    albumId: str | None = None
    personId: str | None = None
    width: int = 1280
    height: int = 800
    shuffle: bool = True


class ImageQuery(Dto):
    width: int = 1280
    height: int = 800


def _credential_params(request: web.Request) -> dict[str, str]:
    return {name: request.query[name] for name in ("key", "slug", "token", "apiKey") if name in request.query}


@router.get("/appliance/frame/playlist", permission="asset.view", shared_link=True)
async def playlist(request: web.Request) -> web.Response:
    params = query(request, PlaylistQuery)
    if params.albumId:
        _uuids([params.albumId], "albumId")
    items = await services(request).browse.frame.playlist(auth(request), params.model_dump(exclude_none=True))
    size = {"width": str(params.width), "height": str(params.height), **_credential_params(request)}
    result: list[dict[str, Any]] = [
        {
            "id": item.asset.id,
            "url": f"/api/appliance/frame/image/{item.asset.id}?{urlencode(size)}",
            "fileCreatedAt": item.asset.file_created_at,
            "localDateTime": item.asset.local_date_time,
            "city": item.city,
            "country": item.country,
        }
        for item in items
    ]
    return as_json({"items": result, "count": len(result)})


@router.get("/appliance/frame/image/{id}", permission="asset.view", shared_link=True)
async def image(request: web.Request) -> web.StreamResponse:
    params = query(request, ImageQuery)
    path = await services(request).browse.frame.image(auth(request), uuid_param(request), params.width,
                                                      params.height)
    response = web.FileResponse(path)
    response.headers["Content-Type"] = "image/jpeg"
    response.headers["Cache-Control"] = "private, max-age=604800, immutable"
    return response


async def page(request: web.Request) -> web.Response:
    """The frame page: plain HTML and ES5, no build step, for old tablets and browsers."""
    html = (resources.files("appliance.api") / "static" / "frame.html").read_text("utf-8")
    return web.Response(text=html, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-cache"})
