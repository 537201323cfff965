"""Auto-import: device events in, import sessions out. One card at a time (a small box, one USB bus);
a `remove` stops the running import at once, which then ends `interrupted` and resumes next time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

from appliance.importer.devices import BlockDevice, Debouncer, DeviceEvent, DeviceEventSource, importable
from appliance.importer.mount import Mounter, MountError
from appliance.importer.service import ImportService, ImportSource
from appliance.storage.imports import ImportSessionRecord

log = logging.getLogger(__name__)


@dataclass
class _Active:
    device: BlockDevice
    stop: threading.Event
    task: asyncio.Task[ImportSessionRecord | None]


class ImportManager:
    def __init__(self, service: ImportService, source: DeviceEventSource, mounter: Mounter, *,
                 debounce: float = 2.0) -> None:
        self.service = service
        self.source = source
        self.mounter = mounter
        self.debouncer = Debouncer(debounce)
        self._lock = asyncio.Lock()
        self._active: dict[str, _Active] = {}
        self._system_disks: set[str] = set()
        self.finished: asyncio.Queue[ImportSessionRecord] = asyncio.Queue()  # for tests and the web page

    async def run(self) -> None:
        self._system_disks = self.source.system_disks()
        if self._system_disks:
            log.info("never importing from the system/data disk(s) %s", ", ".join(sorted(self._system_disks)))
        dispatcher = asyncio.create_task(self._dispatch())
        try:
            async for event in self.source.events():
                self._on_event(event)
        finally:
            dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher
            self.debouncer.cancel()

    def _on_event(self, event: DeviceEvent) -> None:
        if event.action == "remove":
            active = self._active.get(event.device.name)
            if active is not None:
                log.info("%s was removed during its import", event.device.name)
                active.stop.set()
            self.debouncer.push(event)
            return
        if event.action not in ("add", "change"):
            return
        why_not = importable(event.device, self._system_disks)
        if why_not is not None:
            log.debug("ignoring %s: %s", event.device.name, why_not)
            return
        self.debouncer.push(event)

    async def _dispatch(self) -> None:
        while True:
            event = await self.debouncer.ready.get()
            if event.action != "add" or event.device.name in self._active:
                continue
            stop = threading.Event()
            task = asyncio.create_task(self._import(event.device, stop))
            self._active[event.device.name] = _Active(event.device, stop, task)
            task.add_done_callback(functools.partial(self._forget, event.device.name))

    def _forget(self, name: str, _task: object) -> None:
        self._active.pop(name, None)

    async def _import(self, device: BlockDevice, stop: threading.Event) -> ImportSessionRecord | None:
        async with self._lock:
            if stop.is_set():
                return None
            log.info("card %s inserted (%s, label %r)", device.name, device.fs_type, device.label)
            self.service.events.publish({"type": "device", "action": "add", "device": device.name,
                                         "label": device.label})
            try:
                mounted = await self.mounter.acquire(device)
            except MountError as err:
                log.error("could not mount %s: %s", device.name, err)
                self.service.events.publish({"type": "error", "device": device.name, "error": str(err)})
                return None
            manifest = mounted.manifest
            source = ImportSource(
                "card", mounted.path, label=manifest.label or device.label,
                fs_uuid=manifest.fs_uuid or device.fs_uuid, fs_type=manifest.fs_type or device.fs_type,
                device=device.devnode or manifest.devnode,
            )
            try:
                record = await self.service.run(source, stop=stop)
            except Exception:
                log.exception("import from %s failed", device.name)
                return None
            finally:
                try:
                    await mounted.release()
                except Exception:
                    log.exception("could not release %s", device.name)
            await self.finished.put(record)
            return record

    async def close(self) -> None:
        for active in list(self._active.values()):
            active.stop.set()
        tasks = [active.task for active in self._active.values()]
        await self.source.close()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def running(manager: ImportManager) -> AsyncIterator[ImportManager]:
    task = asyncio.create_task(manager.run())
    try:
        yield manager
    finally:
        await manager.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
