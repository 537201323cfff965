"""Start and stop order of `shoebox serve`: settings, logging, database, HTTP, background parts."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from appliance.app import Startable, create_app
from appliance.config import Settings, load_settings
from appliance.services import Services, build_services
from appliance.system.notify import Notifier
from appliance.system.tls import load_deferred_ca_certificates
from appliance.system.watchdog import run_watchdog, watchdog_interval_from_env

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
    from appliance.system.logging import setup_logging as install

    install(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def serve_from_args(args: argparse.Namespace) -> int:
    from appliance.system.memory import limit_arenas

    limit_arenas()  # before any thread starts
    settings = settings_from_args(args)
    setup_logging(settings.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))
    return 0


async def trash_purger(services: Services) -> AsyncIterator[None]:
    """Housekeeping at start and then every six hours: empty trash older than the retention period, drop
    delete history (kept for the mobile app's sync) older than 31 days, and make the "on this day" memories."""

    async def loop() -> None:
        while True:
            try:
                purged = await services.assets.purge_expired_trash(services.settings.trash_days)
                if purged:
                    log.info("removed %d asset(s) from the trash after %d days", purged, services.settings.trash_days)
                await services.sync.prune_audit()
                today = services.clock().date()
                for day in (today, today + timedelta(days=1)):  # tomorrow's are ready at midnight
                    await services.browse.memories.generate(day)
            except Exception:
                log.exception("housekeeping failed")
            await asyncio.sleep(timedelta(hours=6).total_seconds())

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def hardware(services: Services) -> AsyncIterator[None]:
    """Probe the board, start the throttle governor and detect video encoders, off the start-up path:
    the API answers first, the hardware facts join a moment later."""
    async def start() -> Any:
        await asyncio.sleep(0.3)  # after the first answer: importing the hardware layer alone takes ~70 ms
        from appliance.hardware.service import HardwareService
        from appliance.media.background import background_prefix

        idle = (await asyncio.to_thread(background_prefix))[:2] == ("chrt", "--idle")
        part = await asyncio.to_thread(HardwareService, services.settings.sysroot,
                                       services.settings.data_dir / "cache", background_is_idle=idle)
        await part.start()
        services.extras["hardware"] = part
        return part

    starting = asyncio.create_task(start())
    yield
    if not starting.done():
        starting.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await (await starting).stop()


async def places(services: Services, *, delay: float = 5.0) -> AsyncIterator[None]:
    """Build the reverse-geocoding database (once per data version, a few seconds) shortly after start, so the
    first geotagged photo doesn't wait for it and start-up doesn't either."""

    async def prepare() -> None:
        await asyncio.sleep(delay)
        await services.places.prepare()

    task = asyncio.create_task(prepare())
    task.add_done_callback(_log_failure("preparing the place database"))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    await services.places.close()


def install_id(data_dir: Path) -> str:
    """A stable id for this box (the image's first boot writes it; created here when missing)."""
    path = data_dir / "install-id"
    try:
        value = path.read_text().strip()
        if value:
            return value
    except OSError:
        pass
    value = uuid.uuid4().hex
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")
    return value


async def mdns(services: Services) -> AsyncIterator[None]:
    """Advertise the box on the LAN as `<box_name>.local`, following address changes."""
    from appliance import __version__
    from appliance.discovery.mdns import MdnsAdvertiser

    settings = services.settings
    hardware_part = services.extras.get("hardware")
    model = hardware_part.info.model if hardware_part is not None else ""
    name = settings.box_name
    chosen = services.extras.get("appliance_settings")
    if chosen is not None:
        with contextlib.suppress(Exception):
            stored = await chosen.get()
            if stored.setup_completed_at is not None:  # what the owner chose in the web setup wins
                if not stored.advertise_lan:
                    log.info("not advertising on the LAN: turned off in the setup")
                    yield
                    return
                name = stored.box_name or name
    advertiser = MdnsAdvertiser(
        name, settings.port, {"version": __version__, "model": model},
        list(settings.mdns_interfaces) or None, host_id=install_id(settings.data_dir),
    )
    services.extras["mdns"] = advertiser
    starting = asyncio.create_task(advertiser.start())
    starting.add_done_callback(_log_failure("mDNS advertising"))
    yield
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await starting
    await advertiser.stop()


def _log_failure(what: str) -> Callable[[asyncio.Task[None]], None]:
    def check(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed: %s", what, task.exception())

    return check


def default_components(settings: Settings) -> list[Startable]:
    components: list[Startable] = [hardware, trash_purger, places]
    if settings.jobs_enabled:
        from appliance.jobs.system import job_component

        components.append(job_component)
    if settings.mdns:
        components.append(mdns)
    if settings.import_auto:
        from appliance.importer.component import auto_import

        components.append(auto_import)
    return components


def status_line(services: Services) -> str:
    """What `systemctl status shoebox` shows: queue depth, throttle state, import progress."""
    parts = [f"Serving on :{services.settings.port}"]
    for name in ("jobs", "hardware", "imports"):
        part = services.extras.get(name)
        summary = getattr(part, "summary", None)
        if callable(summary):
            with contextlib.suppress(Exception):
                text = summary()
                if text:
                    parts.append(str(text))
    return "; ".join(parts)


async def report_status(services: Services, notifier: Notifier, every: float = 3.0) -> None:
    last = ""
    while True:
        line = status_line(services)
        if line != last:
            notifier.status(line)
            last = line
        await asyncio.sleep(every)


async def trim_memory(every: float = 60.0) -> None:
    """Hand the heap's free pages back to the kernel: once start-up's garbage is gone, then now and then,
    so a burst of requests does not leave the box's RSS high for good."""
    from appliance.system.memory import trim_heap

    await asyncio.sleep(0.2)  # the background parts' own start-up first
    while True:
        trim_heap()
        await asyncio.sleep(every)


async def keep_extending_start(notifier: Notifier, *, every: float = 10.0, by: float = 60.0) -> None:
    """Until READY: a migration of a big library on a slow card (minutes on a Pi with 100,000s of photos)
    must not be killed by systemd's start timeout and rolled back, only to start over at every restart."""
    while True:
        notifier.extend_timeout(by)
        await asyncio.sleep(every)


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Migrations and the HTTP bind first, then READY=1; the watchdog pings from this event loop."""
    notifier = Notifier()
    starting = asyncio.create_task(keep_extending_start(notifier))
    try:
        services = build_services(settings)
        app = create_app(services, components=default_components(settings))
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
        await site.start()
    finally:
        starting.cancel()
    log.info("Shoebox listening on http://%s:%d (data in %s)", settings.host, settings.port, settings.data_dir)
    notifier.ready(status=status_line(services))
    background = [asyncio.create_task(report_status(services, notifier)), asyncio.create_task(trim_memory()),
                  asyncio.create_task(asyncio.to_thread(load_deferred_ca_certificates))]
    interval = watchdog_interval_from_env()
    if interval:
        background.append(asyncio.create_task(run_watchdog(notifier, interval)))
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("Shoebox stopping")
        notifier.stopping()
        for task in background:
            task.cancel()
        await runner.cleanup()
