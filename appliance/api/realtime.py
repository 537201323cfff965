"""The live channel at `/api/socket.io` (socket.io over websocket, python-socketio in aiohttp mode).

A connection is authenticated like any request (session token header, bearer, cookie or API key) and
joins one room per user. Asset events from the `EventBus` become Immich's socket events for the owner:
`on_upload_success`, `on_asset_update` (AssetResponseDto), `on_asset_trash`/`on_asset_restore` (ids),
`on_asset_delete` (one id per event) and `AssetUploadReadyV1` once thumbnails exist. Every new
connection first gets `on_server_version`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from appliance.api import dto
from appliance.api.middleware import credentials_from
from appliance.errors import ShoeboxError
from appliance.library import events
from appliance.services import Services

if TYPE_CHECKING:
    import socketio

log = logging.getLogger(__name__)

SOCKET_PATH = "/api/socket.io"


class Realtime:
    """The socket.io server, made when the first client knocks: python-socketio and engine.io (about 60
    modules, 1.5 MB and tens of milliseconds of start-up) stay unloaded on a box no phone is watching.
    Until then no one can be in a room, so there is nothing to forward."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.sio: socketio.AsyncServer | None = None

    def server(self) -> socketio.AsyncServer:
        if self.sio is None:
            self.sio = _make_server(self.services)
        return self.sio

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response: web.StreamResponse = await self.server().eio.handle_request(request)
        return response

    async def close(self, _: web.Application) -> None:
        # on_shutdown runs before aiohttp waits for open handlers: without this, every connected phone's
        # websocket would hold shutdown until its timeout
        if self.sio is None:
            return
        if self.sio.eio.sockets:  # engine.io's disconnect(sid=None) closes every client, but fails on none
            await self.sio.eio.disconnect()
        await self.sio.shutdown()


REALTIME: web.AppKey[Realtime] = web.AppKey("realtime", Realtime)


def attach_realtime(app: web.Application, services: Services) -> Realtime:
    """Mount socket.io on the app (the routes engine.io's `attach` would add) and forward the services'
    asset events to connected clients once there can be any."""
    realtime = Realtime(services)
    path = SOCKET_PATH + "/"
    for method in ("GET", "POST", "OPTIONS"):
        app.router.add_route(method, path, realtime.handle)
    app[REALTIME] = realtime
    app.on_shutdown.append(realtime.close)
    return realtime


def _make_server(services: Services) -> socketio.AsyncServer:
    import socketio

    # default origin check (same host only): a foreign web page must not ride on the user's cookie
    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        request: web.Request = environ["aiohttp.request"]
        credentials = credentials_from(request)
        if isinstance(auth, dict) and not (credentials.session_token or credentials.api_key):
            credentials.session_token = auth.get("token") or None
        try:
            context = await services.auth.authenticate(credentials)
        except ShoeboxError:
            return False
        if context.shared_link is not None:
            return False
        await sio.enter_room(sid, context.user_id)
        await sio.emit("on_server_version", services.server.version(), to=sid)
        return True

    services.events.subscribe(lambda event: _forward(sio, services, event))
    return sio


async def _forward(sio: socketio.AsyncServer, services: Services, event: events.AssetEvent) -> None:
    room, ids = event.owner_id, list(event.asset_ids)
    if event.name in (events.UPLOADED, events.UPDATED):
        name = "on_upload_success" if event.name == events.UPLOADED else "on_asset_update"
        for view in await services.assets.views(await services.assets.assets.get_many(ids)):
            await sio.emit(name, dto.asset(view), room=room)
    elif event.name == events.TRASHED:
        await sio.emit("on_asset_trash", ids, room=room)
    elif event.name == events.RESTORED:
        await sio.emit("on_asset_restore", ids, room=room)
    elif event.name == events.DELETED:
        for asset_id in ids:
            await sio.emit("on_asset_delete", asset_id, room=room)
    elif event.name == events.READY:
        for asset_id in ids:
            payload = await services.sync.upload_ready(asset_id)
            if payload is not None:
                await sio.emit("AssetUploadReadyV1", payload, room=room)
