"""The aiohttp application: Immich's API under /api, `/.well-known/immich`, and the lifecycle."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from types import ModuleType

from aiohttp import web

from appliance.api import (
    albums,
    appliance_imports,
    appliance_settings,
    appliance_status,
    asset_metadata,
    assets,
    auth,
    download,
    frame,
    jobs,
    map,
    memories,
    metrics,
    partners,
    people,
    search,
    server,
    shared_links,
    stacks,
    sync,
    tags,
    timeline,
    users,
)
from appliance.api.common import SERVICES, as_json
from appliance.api.compression import gzip_middleware
from appliance.api.middleware import errors_middleware, foreground_middleware, guarded
from appliance.api.realtime import attach_realtime
from appliance.api.routing import Router
from appliance.api.upload_body import close_connection_when_asked
from appliance.services import Services
from appliance.system.memory import trim_heap
from appliance.web import add_web_routes

log = logging.getLogger(__name__)

# asset_metadata before assets: its static /assets/metadata must win over /assets/{id}
API_MODULES: list[ModuleType] = [
    server, auth, users, asset_metadata, assets, albums, search, appliance_status, appliance_imports,
    appliance_settings, sync, timeline, shared_links, partners, tags, stacks, memories, map, download, people, frame,
    jobs,
]

# Parts that run beside the HTTP server (job runner, mDNS, notify...). Each gets the services on start.
Startable = Callable[[Services], AsyncIterator[None]]


async def well_known(request: web.Request) -> web.Response:
    return as_json({"api": {"endpoint": "/api"}})


def add_routes(app: web.Application, routers: list[Router], prefix: str = "/api") -> None:
    for router in routers:
        for spec in router.routes:
            app.router.add_route(spec.method, prefix + spec.path, guarded(spec))


def create_app(services: Services, *, components: list[Startable] | None = None,
               extra_routers: list[Router] | None = None) -> web.Application:
    app = web.Application(
        middlewares=[foreground_middleware, gzip_middleware, errors_middleware],
        client_max_size=services.settings.max_json_bytes,
    )
    app[SERVICES] = services
    metrics.install(app)
    app.on_response_prepare.append(close_connection_when_asked)
    app.router.add_get("/.well-known/immich", well_known)
    app.router.add_get("/frame", frame.page)
    add_routes(app, [module.router for module in API_MODULES] + (extra_routers or []))
    attach_realtime(app, services)
    add_web_routes(app)  # last: its catch-all must not shadow any route above
    app.cleanup_ctx.append(_database_lifecycle)
    for component in components or []:
        app.cleanup_ctx.append(_component_context(component))
    app.on_startup.append(_schedule_heap_settling)  # after the contexts above: the server is fully built
    return app


_heap = {"settled": False}


async def _schedule_heap_settling(app: web.Application) -> None:
    """Half a second after start (after the hardware layer's late import), not before the first answer: the
    collection takes tens of milliseconds."""
    asyncio.get_running_loop().call_later(0.5, _settle_heap)


def _settle_heap() -> None:
    """Move what start-up built (modules, schemas, routes: tens of thousands of objects that live as long as the
    process) out of the garbage collector's sight. Otherwise every full collection walks them all again: at a
    few thousand photos per timeline month, one request in ten paid ~60 ms for it. Once per process.

    The youngest generation is collected every 5,000 new objects instead of 700: a month's answer makes tens of
    thousands, and 14 small collections per request (~2 ms) become one."""
    if not _heap["settled"]:
        _heap["settled"] = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(5000, 10, 10)
        trim_heap()  # and hand what start-up's garbage occupied back to the kernel


async def _database_lifecycle(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    await services.db.open()
    await services.ingest.recover()
    await services.imports.recover()
    log.info("database ready at %s", services.db.path)
    yield
    await services.db.close()


def _component_context(component: Startable) -> Callable[[web.Application], AsyncIterator[None]]:
    def context(app: web.Application) -> AsyncIterator[None]:
        return component(app[SERVICES])

    return context
