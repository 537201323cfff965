"""Shoebox's own settings under `/api/appliance/settings` (not part of Immich's API)."""

from __future__ import annotations

from aiohttp import web

from appliance.api.common import Dto, as_json, body, services
from appliance.api.routing import Router

router = Router()


class ApplianceSettingsDto(Dto):
    boxName: str | None = None
    importUserId: str | None = None
    importAlbumMode: str | None = None
    advertiseOnLan: bool | None = None
    setupCompleted: bool | None = None


@router.get("/appliance/settings", permission="systemConfig.read")
async def get_settings(request: web.Request) -> web.Response:
    settings = await services(request).extras["appliance_settings"].get()
    return as_json(settings.as_dict())


@router.put("/appliance/settings", permission="systemConfig.update", admin=True)
async def update_settings(request: web.Request) -> web.Response:
    dto_in = await body(request, ApplianceSettingsDto)
    settings = await services(request).extras["appliance_settings"].update(dto_in.model_dump(exclude_unset=True))
    return as_json(settings.as_dict())
