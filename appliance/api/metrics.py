"""`/metrics` for Prometheus, beside (not under) the Immich API, in Immich's three groups:
- API: request counts and latency by route, upload and download bytes (counted here, per request);
- host: temperature, throttle state, CPU, memory, pressure, disk IO and free space (the hardware layer's
  scrape-time collector, once that layer has started);
- jobs: queue depth by state and jobs finished since start, per queue (once the job system runs).

The request path only adds to plain counters; `prometheus_client` is imported on the first scrape, which
keeps it out of the start-up the time to the first answer is measured on.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from appliance.api.common import services

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # prometheus_client's CONTENT_TYPE_LATEST


@dataclass
class Latency:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))  # the last is +Inf
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds


@dataclass
class ApiMetrics:
    requests: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (method, route, status)
    latency: dict[tuple[str, str], Latency] = field(default_factory=dict)  # (method, route)
    bytes_received: int = 0
    bytes_sent: int = 0

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, str(status))] += 1
        latency = self.latency.get((method, route))
        if latency is None:
            latency = self.latency[(method, route)] = Latency()
        latency.observe(seconds)


METRICS = web.AppKey("api_metrics", ApiMetrics)
SCRAPE = web.AppKey("metrics_scrape", dict)  # what lives from one scrape to the next (the host collector)


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
                api.record(request.method, route, status, time.perf_counter() - start)
                if request.method == "POST" and route == "/api/assets" and request.content_length:
                    api.bytes_received += request.content_length

    return middleware


def count_file_bytes(api: ApiMetrics) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """`on_response_prepare`: bytes of originals, thumbnails and videos sent (the length of what a Range asked)."""
    async def hook(request: web.Request, response: web.StreamResponse) -> None:
        if isinstance(response, web.FileResponse):
            api.bytes_sent += response.content_length or 0

    return hook


async def metrics(request: web.Request) -> web.Response:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    for collector in await _collectors(request):
        registry.register(collector)
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE})


async def _collectors(request: web.Request) -> list[Collector]:
    svc = services(request)
    found: list[Collector] = [ApiCollector(request.app[METRICS])]
    hardware = svc.extras.get("hardware")
    if hardware is not None:
        found.append(_host_collector(request.app[SCRAPE], hardware, svc.settings.data_dir))
    jobs = svc.extras.get("jobs")
    if jobs is not None:
        stats, _ = await jobs.service.statistics()
        found.append(JobCollector(stats, dict(jobs.runner.finished)))
    return found


def _host_collector(scrape: dict[str, Any], hardware: Any, data_dir: Any) -> Collector:
    """One per hardware layer: it keeps the last CPU times, for the usage between two scrapes."""
    from appliance.hardware.metrics import HostCollector

    collector = scrape.get("host")
    if collector is None or collector.governor is not hardware.governor:
        collector = scrape["host"] = HostCollector(hardware.sysroot, governor=hardware.governor, data_dir=data_dir)
    collector.breaker = hardware.breaker  # replaced when encoder detection finishes
    return collector


class ApiCollector:
    def __init__(self, api: ApiMetrics) -> None:
        self.api = api

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        requests = CounterMetricFamily("shoebox_api_requests", "API requests by route, method and status",
                                       labels=["method", "route", "status"])
        for labels, count in sorted(self.api.requests.items()):
            requests.add_metric(list(labels), count)
        yield requests
        latency = HistogramMetricFamily("shoebox_api_request_seconds", "API request latency by route",
                                        labels=["method", "route"])
        for (method, route), seen in sorted(self.api.latency.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), seen.buckets, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            latency.add_metric([method, route], buckets, seen.total)
        yield latency
        yield CounterMetricFamily("shoebox_io_upload_bytes", "Bytes received in uploads",
                                  value=self.api.bytes_received)
        yield CounterMetricFamily("shoebox_io_download_bytes", "Bytes sent by file responses",
                                  value=self.api.bytes_sent)


class JobCollector:
    """Queue depth by state (as `GET /api/jobs` counts them) and jobs finished since start, per queue."""

    def __init__(self, stats: dict[str, dict[str, int]], finished: dict[tuple[str, str], int]) -> None:
        self.stats = stats
        self.finished = finished

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        depth = GaugeMetricFamily("shoebox_jobs", "Jobs per queue and state", labels=["queue", "state"])
        for queue, counts in self.stats.items():
            for state in ("waiting", "active", "delayed", "paused", "failed", "completed"):
                depth.add_metric([queue, state], counts.get(state, 0))
        yield depth
        finished = CounterMetricFamily("shoebox_jobs_finished", "Jobs finished since start, per queue and outcome",
                                       labels=["queue", "outcome"])
        for (queue, outcome), count in sorted(self.finished.items()):
            finished.add_metric([queue, outcome], count)
        yield finished


def install(app: web.Application) -> ApiMetrics:
    api = ApiMetrics()
    app[METRICS] = api
    app[SCRAPE] = {}
    app.middlewares.append(metrics_middleware(api))
    app.on_response_prepare.append(count_file_bytes(api))
    app.router.add_get("/metrics", metrics)
    return api
