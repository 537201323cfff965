"""`/metrics` for Prometheus, beside (not under) the Immich API: API request counts and latency by route,
host gauges from the hardware layer, and job queue depth once the queue registers its collector."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("metrics_registry", CollectorRegistry)


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("shoebox_api_requests", "API requests by route, method and status",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("shoebox_api_request_seconds", "API request latency by route",
                                 ["method", "route"], registry=registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
        self.bytes_received = Counter("shoebox_io_upload_bytes", "Bytes received in uploads", registry=registry)
        self.bytes_sent = Counter("shoebox_io_download_bytes", "Bytes sent by file responses", registry=registry)


def metrics_middleware(api: ApiMetrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        finally:
            info = request.match_info.route.resource
            route = info.canonical if info is not None else "unmatched"
            if route.startswith("/api"):
                api.requests.labels(request.method, route, str(status)).inc()
                api.latency.labels(request.method, route).observe(time.perf_counter() - start)
                if request.method == "POST" and route == "/api/assets" and request.content_length:
                    api.bytes_received.inc(request.content_length)

    return middleware


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def install(app: web.Application) -> ApiMetrics:
    registry = CollectorRegistry()
    app[REGISTRY] = registry
    api = ApiMetrics(registry)
    app.middlewares.append(metrics_middleware(api))
    app.router.add_get("/metrics", metrics)
    return api
