"""Declaring routes: each API module has a `router`, and each handler says who may call it.

    router = Router()

    @router.get("/assets/{id}", permission="asset.read", shared_link=True)
    async def get_asset(request: web.Request) -> web.Response: ...

`public` routes need no credentials; the rest get `request[AUTH]` (an AuthContext) before they run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    handler: Handler
    permission: str | None = None
    public: bool = False
    admin: bool = False
    shared_link: bool = False


class Router:
    def __init__(self) -> None:
        self.routes: list[RouteSpec] = []

    def route(
        self, method: str, path: str, *, permission: str | None = None, public: bool = False,
        admin: bool = False, shared_link: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(RouteSpec(method, path, handler, permission, public, admin, shared_link))
            return handler

        return register

    def get(self, path: str, **options: object) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)  # type: ignore[arg-type]

    def post(self, path: str, **options: object) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)  # type: ignore[arg-type]

    def put(self, path: str, **options: object) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **options)  # type: ignore[arg-type]

    def patch(self, path: str, **options: object) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **options)  # type: ignore[arg-type]

    def delete(self, path: str, **options: object) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **options)  # type: ignore[arg-type]
