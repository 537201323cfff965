"""Start and stop order of `shoebox serve`: settings, logging, database, HTTP, background parts."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from appliance.app import Startable, create_app
from appliance.config import Settings, load_settings
from appliance.services import Services, build_services

log = logging.getLogger(__name__)


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "config": getattr(args, "config", None),
        "mdns": getattr(args, "mdns", None),
        "log_level": getattr(args, "log_level", None),
    }
    return load_settings(overrides)


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def serve_from_args(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    setup_logging(settings.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))
    return 0


async def trash_purger(services: Services) -> AsyncIterator[None]:
    """Empty trash older than the retention period, at start and then every six hours."""

    async def loop() -> None:
        while True:
            try:
                purged = await services.assets.purge_expired_trash(services.settings.trash_days)
                if purged:
                    log.info("removed %d asset(s) from the trash after %d days", purged, services.settings.trash_days)
            except Exception:
                log.exception("trash purge failed")
            await asyncio.sleep(timedelta(hours=6).total_seconds())

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def hardware(services: Services) -> AsyncIterator[None]:
    """Probe the board, start the throttle governor and detect video encoders, off the start-up path:
    the API answers first, the hardware facts join a moment later."""
    from appliance.hardware.service import HardwareService

    async def start() -> HardwareService:
        part = await asyncio.to_thread(HardwareService, services.settings.sysroot,
                                       services.settings.data_dir / "cache")
        await part.start()
        services.extras["hardware"] = part
        return part

    starting = asyncio.create_task(start())
    yield
    if not starting.done():
        starting.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await (await starting).stop()


def default_components(settings: Settings) -> list[Startable]:
    components: list[Startable] = [hardware, trash_purger]
    return components


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    services = build_services(settings)
    app = create_app(services, components=default_components(settings))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
    await site.start()
    log.info("Shoebox listening on http://%s:%d (data in %s)", settings.host, settings.port, settings.data_dir)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("Shoebox stopping")
        await runner.cleanup()
