"""Card and USB-drive detection: block-device events from udev (pyudev), or from a fake source in tests;
both feed the same `DeviceEvent`s to the same filter (`importable`) and debouncer.

Importable: a partition, or a whole-disk "superfloppy" card, that carries a filesystem we can read, on USB
or an SD/MMC reader, and is not on a disk holding `/`, `/boot` or the data folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

FILESYSTEMS = frozenset({"vfat", "exfat", "ntfs", "ntfs3", "ext2", "ext3", "ext4", "hfsplus", "btrfs", "xfs"})


@dataclass(frozen=True)
class BlockDevice:
    name: str  # kernel name: sdb1, mmcblk1p1, loop3
    devnode: str = ""  # /dev/sdb1
    devtype: str = "partition"  # partition | disk
    disk: str = ""  # the whole disk it belongs to (sdb), itself for a disk
    fs_type: str = ""
    fs_usage: str = "filesystem"
    fs_uuid: str = ""
    label: str = ""
    bus: str = ""  # usb, ata, nvme... ('' when udev did not say)
    serial: str = ""

    @property
    def is_sd_reader(self) -> bool:
        return self.name.startswith("mmcblk") or self.disk.startswith("mmcblk")


@dataclass(frozen=True)
class DeviceEvent:
    action: str  # add | remove | change
    device: BlockDevice


def importable(device: BlockDevice, system_disks: Iterable[str]) -> str | None:
    """None if the device should be imported from, else why not (for the log)."""
    if device.devtype not in ("partition", "disk"):
        return f"{device.devtype} is not a partition or disk"
    if device.fs_usage and device.fs_usage != "filesystem":
        return f"usage {device.fs_usage} is not a filesystem"
    if device.fs_type.lower() not in FILESYSTEMS:
        return f"filesystem {device.fs_type or 'none'} is not one we import from"
    if device.bus != "usb" and not device.is_sd_reader:
        return f"bus {device.bus or 'unknown'} is neither USB nor an SD reader"
    system = set(system_disks)
    if device.name in system or device.disk in system:
        return "it is on a system or data disk"
    return None


def from_properties(name: str, properties: dict[str, str], *, devnode: str = "", devtype: str = "",
                    disk: str = "") -> BlockDevice:
    """A BlockDevice from udev properties (ID_FS_TYPE, ID_BUS...), as pyudev and `udevadm info` give them."""
    devtype = devtype or properties.get("DEVTYPE", "partition")
    return BlockDevice(
        name=name, devnode=devnode or properties.get("DEVNAME", f"/dev/{name}"), devtype=devtype,
        disk=disk or (name if devtype == "disk" else ""), fs_type=properties.get("ID_FS_TYPE", ""),
        fs_usage=properties.get("ID_FS_USAGE", ""), fs_uuid=properties.get("ID_FS_UUID", ""),
        label=properties.get("ID_FS_LABEL", ""), bus=properties.get("ID_BUS", ""),
        serial=properties.get("ID_SERIAL_SHORT", "") or properties.get("ID_SERIAL", ""),
    )


class DeviceEventSource(Protocol):
    """Yields `add` for devices present at start, then add/remove/change as they happen."""

    def events(self) -> AsyncIterator[DeviceEvent]: ...

    def system_disks(self) -> set[str]: ...

    async def close(self) -> None: ...


@dataclass
class FakeEventSource:
    """A device event source for tests: `insert`/`pull` what a udev monitor would report."""

    present: list[BlockDevice] = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)
    _queue: asyncio.Queue[DeviceEvent | None] = field(default_factory=asyncio.Queue)

    def system_disks(self) -> set[str]:
        return set(self.excluded)

    def insert(self, device: BlockDevice) -> None:
        self._queue.put_nowait(DeviceEvent("add", device))

    def pull(self, device: BlockDevice) -> None:
        self._queue.put_nowait(DeviceEvent("remove", device))

    def emit(self, event: DeviceEvent) -> None:
        self._queue.put_nowait(event)

    async def events(self) -> AsyncIterator[DeviceEvent]:
        for device in self.present:
            yield DeviceEvent("add", device)
        while (event := await self._queue.get()) is not None:
            yield event

    async def close(self) -> None:
        self._queue.put_nowait(None)


class UdevEventSource:
    """pyudev's netlink monitor with its fd in the event loop; enumerates present devices first."""

    def __init__(self, guard_paths: Iterable[Path] = (Path("/"),)) -> None:
        import pyudev

        self._pyudev = pyudev
        self._context = pyudev.Context()
        self._monitor = pyudev.Monitor.from_netlink(self._context, source="udev")
        self._monitor.filter_by("block")
        self._guard_paths = list(guard_paths)
        self._closed = asyncio.Event()

    def _device(self, udev: Any) -> BlockDevice:
        disk = udev.sys_name
        if udev.device_type == "partition":
            parent = udev.find_parent("block", "disk")
            disk = parent.sys_name if parent is not None else ""
        return from_properties(udev.sys_name, dict(udev.properties), devnode=udev.device_node or "",
                               devtype=udev.device_type or "", disk=disk)

    def system_disks(self) -> set[str]:
        """The disks behind `/`, `/boot`, `/boot/firmware` and the data folder (by device number)."""
        disks: set[str] = set()
        for path in self._guard_paths:
            with contextlib.suppress(OSError):
                number = os.stat(path).st_dev
                if os.major(number) == 0:
                    continue  # overlay, tmpfs, FUSE: no block device
                try:
                    udev = self._pyudev.Devices.from_device_number(self._context, "block", number)
                except (ValueError, self._pyudev.DeviceNotFoundError):
                    continue
                device = self._device(udev)
                disks.update(filter(None, (device.name, device.disk)))
        return disks

    async def events(self) -> AsyncIterator[DeviceEvent]:
        for udev in self._context.list_devices(subsystem="block"):
            yield DeviceEvent("add", self._device(udev))
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[DeviceEvent] = asyncio.Queue()

        def readable() -> None:
            while (udev := self._monitor.poll(timeout=0)) is not None:
                queue.put_nowait(DeviceEvent(udev.action or "change", self._device(udev)))

        self._monitor.start()
        loop.add_reader(self._monitor.fileno(), readable)
        try:
            while not self._closed.is_set():
                getter = asyncio.ensure_future(queue.get())
                closer = asyncio.ensure_future(self._closed.wait())
                done, pending = await asyncio.wait({getter, closer}, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                if getter in done:
                    yield getter.result()
        finally:
            loop.remove_reader(self._monitor.fileno())

    async def close(self) -> None:
        self._closed.set()


class Debouncer:
    """Cards re-enumerate and send bursts of events: act on a device only once it has been quiet a while."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._latest: dict[str, DeviceEvent] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.ready: asyncio.Queue[DeviceEvent] = asyncio.Queue()

    def push(self, event: DeviceEvent) -> None:
        name = event.device.name
        previous = self._latest.get(name)
        if event.action == "change" and previous is not None:
            event = DeviceEvent(previous.action, event.device)  # a change keeps the add/remove it follows
        elif event.action == "change":
            event = replace(event, action="add")
        self._latest[name] = event
        if (timer := self._timers.pop(name, None)) is not None:
            timer.cancel()
        self._timers[name] = asyncio.get_running_loop().call_later(self.delay, self._fire, name)

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        event = self._latest.pop(name, None)
        if event is not None:
            self.ready.put_nowait(event)

    def cancel(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
