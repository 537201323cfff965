"""The aiohttp application: Immich's API under /api, `/.well-known/immich`, and the lifecycle."""

from __future__ import annotations

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
from appliance.api.middleware import errors_middleware, guarded
from appliance.api.realtime import attach_realtime
from appliance.api.routing import Router
from appliance.services import Services
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
        middlewares=[gzip_middleware, errors_middleware],
        client_max_size=services.settings.max_json_bytes,
    )
    app[SERVICES] = services
    metrics.install(app)
    app.router.add_get("/.well-known/immich", well_known)
    app.router.add_get("/frame", frame.page)
    add_routes(app, [module.router for module in API_MODULES] + (extra_routers or []))
    attach_realtime(app, services)
    add_web_routes(app)  # last: its catch-all must not shadow any route above
    app.cleanup_ctx.append(_database_lifecycle)
    for component in components or []:
        app.cleanup_ctx.append(_component_context(component))
    return app


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
