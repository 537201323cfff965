"""The auto-import part of `shoebox serve`: udev events → mounted card (via shoebox-mount-helper's
manifest) → import session; progress also goes to systemd's `STATUS=` line when running under systemd."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.importer.events import Event
from appliance.importer.manager import ImportManager
from appliance.importer.mount import ManifestMounter

if TYPE_CHECKING:
    from appliance.services import Services

log = logging.getLogger(__name__)


def status_line(event: Event) -> str | None:
    """The one-line `systemctl status` text for an import event, or None to leave it alone."""
    session = event.get("session")
    if not isinstance(session, dict):
        return None
    name = session.get("label") or session.get("device") or "folder"
    if session.get("state") == "running":
        done = session["imported"] + session["duplicates"] + session["failed"]
        return f"Importing {name}: {done}/{session['found']} ({session['imported']} new)"
    return (f"Import of {name} {session['state']}: {session['imported']} new, {session['duplicates']} "
            f"already there, {session['failed']} failed")


class ImportStatus:
    """The latest import line, for the server's one `STATUS=` line (see `runtime.status_line`)."""

    def __init__(self) -> None:
        self.line = ""

    def on_event(self, event: Event) -> None:
        if (line := status_line(event)) is not None:
            self.line = line

    def summary(self) -> str:
        return self.line


async def auto_import(services: Services) -> AsyncIterator[None]:
    """A `Startable`: watch for cards while the server runs."""
    settings = services.settings
    status = ImportStatus()
    services.imports.events.listeners.append(status.on_event)
    services.extras["imports"] = status
    try:
        from appliance.importer.devices import UdevEventSource

        guards = [Path("/"), Path("/boot"), Path("/boot/firmware"), settings.data_dir]
        source = UdevEventSource([p for p in guards if p.exists()])
    except Exception as err:  # noqa: BLE001 - no pyudev, no netlink (containers): the server runs on
        log.warning("card auto-import is off: cannot listen to udev (%s)", err)
        yield
        return
    manager = ImportManager(services.imports, source, ManifestMounter(settings.import_runtime_dir))
    services.extras["import_manager"] = manager
    task = asyncio.create_task(manager.run())
    log.info("watching for cards (mounts reported in %s)", settings.import_runtime_dir)
    yield
    await manager.close()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
