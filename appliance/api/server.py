"""Immich tag `Server`: ping, version, features, config, media types, storage, statistics."""

from __future__ import annotations

from aiohttp import web

from appliance.api.common import as_json, services
from appliance.api.routing import Router
from appliance.media import mimetypes

router = Router()


@router.get("/server/ping", public=True)
async def ping(request: web.Request) -> web.Response:
    return as_json({"res": "pong"})


@router.get("/server/version", public=True)
async def version(request: web.Request) -> web.Response:
    return as_json(services(request).server.version())


@router.get("/server/version-history", public=True)
async def version_history(request: web.Request) -> web.Response:
    return as_json([])


@router.get("/server/features", public=True)
async def features(request: web.Request) -> web.Response:
    return as_json(services(request).server.features)


@router.get("/server/config", public=True)
async def config(request: web.Request) -> web.Response:
    return as_json(await services(request).server.config())


@router.get("/server/media-types", public=True)
async def media_types(request: web.Request) -> web.Response:
    return as_json(mimetypes.media_types())


@router.get("/server/about", permission="server.about")
async def about(request: web.Request) -> web.Response:
    return as_json(services(request).server.about())


@router.get("/server/storage", permission="server.storage")
async def storage(request: web.Request) -> web.Response:
    return as_json(services(request).server.storage())


@router.get("/server/statistics", permission="server.statistics", admin=True)
async def statistics(request: web.Request) -> web.Response:
    return as_json(await services(request).server.statistics())


@router.get("/server/version-check", permission="server.versionCheck")
async def version_check(request: web.Request) -> web.Response:
    # An offline box never phones home: no check was made and no release is known.
    return as_json({"checkedAt": None, "releaseVersion": None})


@router.get("/server/license", permission="serverLicense.read", admin=True)
async def license_get(request: web.Request) -> web.Response:
    return as_json({"message": "License not found"}, status=404)


@router.get("/server/theme", public=True)
async def theme(request: web.Request) -> web.Response:
    return as_json({"customCss": ""})
