"""Everything the background media work needs, built and started in one place for the server runtime.

    jobs = JobSystem(db, data_dir, ingest=services.ingest, clock=clock, concurrency=governor.concurrency_for)
    await jobs.start()          # after db.open(); recovers interrupted jobs, starts exiftool lazily
    jobs.service                # JobService for appliance/api/jobs.py
    jobs.runner.notify()        # after an enqueue outside the runner, to skip the poll delay
    await jobs.stop()           # before db.close(); idempotent
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appliance import clock as clocks
from appliance.jobs.handlers import ImageSettings, MediaHandlers
from appliance.jobs.queues import ConcurrencyProvider, default_concurrency
from appliance.jobs.runner import JobRunner
from appliance.jobs.service import JobService
from appliance.jobs.workers import PoolSettings, WorkerPool
from appliance.library.ingest import IngestService
from appliance.library.places import PlacesService
from appliance.media import video
from appliance.media.background import background_prefix
from appliance.media.metadata import ExifTool
from appliance.storage.db import Database

if TYPE_CHECKING:
    from appliance.services import Services


class JobSystem:
    def __init__(
        self,
        db: Database,
        data_dir: Path,
        *,
        ingest: IngestService,
        clock: clocks.Clock = clocks.utc_now,
        concurrency: ConcurrencyProvider | None = None,
        pool: PoolSettings | None = None,
        images: ImageSettings | None = None,
        transcode: video.TranscodeConfig | None = None,
        encoder: Callable[[], video.VideoEncoder] = lambda: video.SOFTWARE_H264,
        poll_interval: float = 2.0,
        retry_base: float = 30.0,
        places: PlacesService | None = None,
    ) -> None:
        cores = os.cpu_count() or 1
        self.exiftool = ExifTool()
        self.pool = WorkerPool(pool or PoolSettings(size=min(2, cores)))
        self.handlers = MediaHandlers(
            db, data_dir, clock=clock, exiftool=self.exiftool, pool=self.pool, ingest=ingest, images=images,
            transcode=transcode, encoder=encoder, places=places,
        )
        self.runner = JobRunner(
            db,
            self.handlers.table(),
            clock=clock,
            concurrency=concurrency or default_concurrency(cores),
            poll_interval=poll_interval,
            retry_base=retry_base,
        )
        self.service = JobService(db, self.runner, clock=clock)

    async def start(self) -> None:
        await asyncio.to_thread(background_prefix)  # tries chrt/ionice once, off the event loop
        await self.pool.start()
        await self.runner.start()

    async def stop(self) -> None:
        await self.runner.stop()
        await self.pool.close()
        await self.exiftool.close()


def hardware_concurrency(services: Services, fallback: ConcurrencyProvider) -> ConcurrencyProvider:
    """The hardware governor's numbers once `services.extras["hardware"]` is up (it starts after the API),
    Immich's core-bounded defaults until then."""

    def provider(queue: str) -> int:
        hardware = services.extras.get("hardware")
        return hardware.concurrency_for(queue) if hardware is not None else fallback(queue)

    return provider


def encoder_for(name: str, device: str | None) -> video.VideoEncoder:
    """ffmpeg arguments per H.264 encoder family. Hardware encoders are bitrate- or QP-driven, not CRF; the GPU
    is opened exactly as the hardware layer's trial encode opened it."""
    from appliance.hardware.encoders import hw_device_args  # only with a GPU: kept off the start-up path

    if name == "h264_vaapi":
        return video.VideoEncoder(name, input_args=tuple(hw_device_args(name, device)),
                                  filters_suffix=("format=nv12", "hwupload"), quality_args=("-qp", "23"))
    if name == "h264_qsv":
        return video.VideoEncoder(name, input_args=tuple(hw_device_args(name, device)),
                                  filters_suffix=("format=nv12", "hwupload=extra_hw_frames=64"),
                                  quality_args=("-global_quality", "23"))
    if name in ("h264_v4l2m2m", "h264_rkmpp"):
        return video.VideoEncoder(name, output_args=("-pix_fmt", "yuv420p"), quality_args=("-b:v", "6M"))
    if name == "h264_nvenc":
        return video.VideoEncoder(name, quality_args=("-cq", "23"))
    return video.SOFTWARE_H264


def hardware_encoder(services: Services) -> Callable[[], video.VideoEncoder]:
    """The hardware layer's choice (its breaker skips encoders that keep failing), else libx264."""

    def choose() -> video.VideoEncoder:
        hardware = services.extras.get("hardware")
        chosen = getattr(hardware, "chosen_encoder", None)
        if not callable(chosen):
            return video.SOFTWARE_H264
        name, device = chosen()
        return encoder_for(name, device)

    return choose


def hardware_feedback(services: Services) -> Callable[[str, bool, str], None]:
    def report(name: str, ok: bool, detail: str) -> None:
        hardware = services.extras.get("hardware")
        record = getattr(hardware, "encoder_result", None)
        if callable(record):
            record(name, ok, detail)

    return report


async def job_component(services: Services) -> AsyncIterator[None]:
    """The runtime's Startable: build, register as `services.extras["jobs"]`, start; stop on shutdown.
    New uploads wake the runner at once through the ingest service's listeners."""
    system = JobSystem(
        services.db,
        services.settings.data_dir,
        ingest=services.ingest,
        clock=services.clock,
        concurrency=hardware_concurrency(services, default_concurrency(os.cpu_count())),
        encoder=hardware_encoder(services),
        places=services.places,
    )
    system.handlers.encoder_feedback = hardware_feedback(services)
    services.extras["jobs"] = system

    def wake(owner_id: str, asset_id: str) -> None:
        system.runner.notify()

    services.ingest.listeners.append(wake)
    system.handlers.thumbnail_listeners.append(services.events.notify_asset_ready)
    await system.start()
    try:
        yield
    finally:
        services.ingest.listeners.remove(wake)
        await system.stop()
        services.extras.pop("jobs", None)
