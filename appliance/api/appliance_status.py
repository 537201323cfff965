"""Shoebox's own endpoints about the box (not part of Immich's API): `/api/appliance/status`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from appliance import __version__
from appliance.api.common import as_json, services
from appliance.api.routing import Router

router = Router()


@router.get("/appliance/status", permission="server.about", admin=True)
async def status(request: web.Request) -> web.Response:
    svc = services(request)
    body: dict[str, Any] = {"version": __version__, "immichApi": svc.server.version_string(),
                            "storage": svc.server.storage()}
    for name, part in svc.extras.items():
        describe = getattr(part, "status", None)
        if callable(describe):
            value = describe()
            body[name] = await value if hasattr(value, "__await__") else value
    return as_json(body)
