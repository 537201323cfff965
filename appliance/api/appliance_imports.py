"""Shoebox's own (non-Immich) import endpoints: card/folder import sessions and their live progress.

    GET /api/appliance/imports           the latest sessions, newest first
    GET /api/appliance/imports/events    Server-Sent Events: `started`, `progress`, `finished`, `device`, `error`
    GET /api/appliance/imports/{id}      one session
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from appliance.api.common import Dto, as_json, query, services, uuid_param
from appliance.api.routing import Router
from appliance.errors import NotFoundHttp
from appliance.importer.service import session_dto

router = Router()
HEARTBEAT_SECONDS = 15.0


class ListQuery(Dto):
    limit: int = 50


@router.get("/appliance/imports", admin=True)
async def list_imports(request: web.Request) -> web.Response:
    limit = max(1, min(query(request, ListQuery).limit, 500))
    sessions = await services(request).imports.list_sessions(limit)
    return as_json([session_dto(record) for record in sessions])


@router.get("/appliance/imports/events", admin=True)
async def import_events(request: web.Request) -> web.StreamResponse:
    svc = services(request).imports
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
    })
    await response.prepare(request)
    async with svc.events.subscribe() as queue:
        running = [session_dto(r) for r in await svc.list_sessions(20) if r.state == "running"]
        await _send(response, "snapshot", {"type": "snapshot", "running": running})
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            try:
                await _send(response, str(event.get("type", "message")), event)
            except (ConnectionResetError, RuntimeError):
                break
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
    return response


async def _send(response: web.StreamResponse, kind: str, data: object) -> None:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    await response.write(f"event: {kind}\ndata: {payload}\n\n".encode())


@router.get("/appliance/imports/{id}", admin=True)
async def get_import(request: web.Request) -> web.Response:
    record = await services(request).imports.get_session(uuid_param(request))
    if record is None:
        raise NotFoundHttp("Import not found")
    return as_json(session_dto(record))
